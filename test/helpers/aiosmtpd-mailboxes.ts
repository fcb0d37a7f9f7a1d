// An independent next-hop MTA for recipient verification tests: Debian's
// python3-aiosmtpd with a handler that knows a list of mailboxes and refuses
// any other RCPT with 550 5.1.1. It prints one JSON line per connection,
// MAIL, RCPT (with its answer) and message received.

import { PythonEventServer, type PythonEvent } from './python-event-server.js';

const SERVER = String.raw`
import asyncio, json, sys
from aiosmtpd.smtp import SMTP
config = json.loads(sys.argv[1])
mailboxes = set(address.lower() for address in config['mailboxes'])
def emit(event):
    print(json.dumps(event), flush=True)
class Mailboxes:
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        emit({'event': 'mail', 'from': address})
        envelope.mail_from = address
        return '250 2.1.0 OK'
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() not in mailboxes:
            emit({'event': 'rcpt', 'address': address, 'accepted': False})
            return '550 5.1.1 <%s>: Recipient address rejected: User unknown in virtual mailbox table' % address
        emit({'event': 'rcpt', 'address': address, 'accepted': True})
        envelope.rcpt_tos.append(address)
        return '250 2.1.5 OK'
    async def handle_DATA(self, server, session, envelope):
        emit({'event': 'data', 'from': envelope.mail_from, 'rcpts': envelope.rcpt_tos, 'content': envelope.content.decode('utf8', 'replace')})
        return '250 2.0.0 delivered'
class CountingSMTP(SMTP):
    def connection_made(self, transport):
        emit({'event': 'connect'})
        super().connection_made(transport)
async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: CountingSMTP(Mailboxes(), hostname='mailstore.test'), config['host'], 0)
    emit({'event': 'ready', 'port': server.sockets[0].getsockname()[1]})
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()
asyncio.run(main())
`;

export type MailboxEvent = PythonEvent;

/** Listens on `host` (a loopback address), port chosen by the system; knows `mailboxes` (case-insensitive). */
export async function startAiosmtpdMailboxes(mailboxes: readonly string[], host = '127.0.0.1'): Promise<AiosmtpdMailboxes> {
  const server = await PythonEventServer.start(SERVER, { mailboxes, host });
  return Object.assign(server, { host });
}

export type AiosmtpdMailboxes = PythonEventServer & { readonly host: string };

/** The same, as the class-style call the tests use. */
export const AiosmtpdMailboxes = { start: startAiosmtpdMailboxes };
