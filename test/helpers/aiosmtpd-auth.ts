// An independent smarthost for AUTH tests: Debian's python3-aiosmtpd with
// STARTTLS required, AUTH PLAIN/LOGIN checked against users, and an
// XOAUTH2 handler that checks bearer tokens (on failure: 334 + JSON error, then 535).
// It prints one JSON line per AUTH attempt and per message received.

import { existsSync } from 'node:fs';
import { PythonEventServer, type PythonEvent } from './python-event-server.js';

export function aiosmtpdAvailable(): boolean {
  return existsSync('/usr/lib/python3/dist-packages/aiosmtpd');
}

const SERVER = String.raw`
import asyncio, base64, json, ssl, sys
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
config = json.loads(sys.argv[1])
def emit(event):
    print(json.dumps(event), flush=True)
def authenticator(server, session, envelope, mechanism, auth_data):
    if not isinstance(auth_data, LoginPassword):
        return AuthResult(success=False, handled=False)
    user, password = auth_data.login.decode(), auth_data.password.decode()
    ok = config['users'].get(user) == password
    emit({'event': 'auth', 'mechanism': mechanism, 'user': user, 'ok': ok})
    return AuthResult(success=ok, handled=False, auth_data=user)
class Handler:
    async def auth_XOAUTH2(self, server, args):
        if len(args) < 2:
            await server.push('501 5.5.2 initial response required')
            return AuthResult(success=False, handled=True)
        raw = base64.b64decode(args[1]).decode()
        fields = dict(part.split('=', 1) for part in raw.split('\x01') if '=' in part)
        user, auth = fields.get('user'), fields.get('auth', '')
        token = auth[len('Bearer '):] if auth.startswith('Bearer ') else None
        ok = token is not None and config['tokens'].get(user) == token
        emit({'event': 'auth', 'mechanism': 'XOAUTH2', 'user': user, 'ok': ok})
        if ok:
            return AuthResult(success=True, auth_data=user)
        await server.challenge_auth(json.dumps({'status': '401', 'schemes': 'bearer', 'scope': 'https://mail.example/'}))
        return AuthResult(success=False, handled=False)
    async def handle_DATA(self, server, session, envelope):
        emit({'event': 'data', 'from': envelope.mail_from, 'rcpts': envelope.rcpt_tos, 'tls': session.ssl is not None, 'content': envelope.content.decode('utf8', 'replace')})
        return '250 2.0.0 accepted'
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(config['certFile'], config['keyFile'])
def protocol():
    return SMTP(Handler(), hostname='smarthost.test', tls_context=context, require_starttls=True,
                auth_required=True, auth_require_tls=True, authenticator=authenticator,
                auth_exclude_mechanism=config.get('exclude', []))
async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(protocol, '127.0.0.1', 0)
    emit({'event': 'ready', 'port': server.sockets[0].getsockname()[1]})
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()
asyncio.run(main())
`;

export interface AiosmtpdAuthOptions {
  readonly certFile: string;
  readonly keyFile: string;
  /** user -> password for PLAIN and LOGIN. */
  readonly users?: Readonly<Record<string, string>>;
  /** user -> the bearer token XOAUTH2 accepts. */
  readonly tokens?: Readonly<Record<string, string>>;
  /** Mechanisms not to offer, e.g. ["PLAIN"]. */
  readonly exclude?: readonly string[];
}

export type AiosmtpdEvent = PythonEvent;

export type AiosmtpdAuth = PythonEventServer;

export const AiosmtpdAuth = {
  start(options: AiosmtpdAuthOptions): Promise<AiosmtpdAuth> {
    const config = { certFile: options.certFile, keyFile: options.keyFile, users: options.users ?? {}, tokens: options.tokens ?? {}, exclude: options.exclude ?? [] };
    return PythonEventServer.start(SERVER, config);
  },
};
