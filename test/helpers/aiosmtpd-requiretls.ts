// A receiving MTA from Debian's python3-aiosmtpd with STARTTLS that announces
// REQUIRETLS (RFC 8689) after it: aiosmtpd's handle_EHLO hook adds the keyword
// inside TLS, and a small SMTP subclass takes the MAIL option aiosmtpd itself
// refuses (555). Each message's envelope, MAIL options and TLS state is kept.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEBIAN_PYTHON, stopPythonServer } from './aiosmtpd-capture.js';

const RECEIVER = `
import json, os, socket, ssl, sys
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
folder, host, cert, key = sys.argv[1:5]

class RequireTlsSMTP(SMTP):
    """aiosmtpd answers 555 to MAIL parameters it does not know: REQUIRETLS is taken off here, noted, and checked."""
    async def smtp_MAIL(self, arg):
        words = (arg or '').split(' ')
        kept = [word for word in words if word.upper() != 'REQUIRETLS']
        self.requiretls = len(kept) != len(words)
        if self.requiretls and self._tls_protocol is None:
            await self.push('530 5.7.10 REQUIRETLS needs TLS')
            return
        await super().smtp_MAIL(' '.join(kept) if arg is not None else arg)

class RequireTlsController(Controller):
    def factory(self):
        return RequireTlsSMTP(self.handler, **self.SMTP_kwargs)

class Receiver:
    count = 0
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if session.ssl is not None:
            responses.insert(len(responses) - 1, '250-REQUIRETLS')
        return responses
    async def handle_DATA(self, server, session, envelope):
        Receiver.count += 1
        name = os.path.join(folder, '%06d.eml' % Receiver.count)
        with open(name + '.json', 'w') as out:
            json.dump({'from': envelope.mail_from, 'rcpts': envelope.rcpt_tos, 'requiretls': getattr(server, 'requiretls', False), 'tls': session.ssl is not None}, out)
        with open(name + '.tmp', 'wb') as out:
            out.write(envelope.original_content)
        os.rename(name + '.tmp', name)
        print(json.dumps({'captured': Receiver.count}), flush=True)
        return '250 2.0.0 received'

context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
probe = socket.socket()
probe.bind((host, 0))
port = probe.getsockname()[1]
probe.close()
controller = RequireTlsController(Receiver(), hostname=host, port=port, tls_context=context, require_starttls=False, decode_data=False)
controller.start()
print(json.dumps({'port': port}), flush=True)
sys.stdin.read()
controller.stop()
`;

export interface RequireTlsDelivery {
  readonly from: string;
  readonly recipients: readonly string[];
  /** MAIL FROM carried REQUIRETLS. */
  readonly requireTls: boolean;
  /** The transaction ran inside TLS. */
  readonly tls: boolean;
  readonly data: Buffer;
}

export class AiosmtpdRequireTls {
  private captured = 0;
  private waiters: { readonly count: number; readonly resolve: () => void }[] = [];

  private constructor(
    private readonly child: ChildProcess,
    private readonly folder: string,
    readonly host: string,
    readonly port: number,
  ) {}

  /** Starts the receiver on `host` with this certificate and key (PEM). */
  static async start(host: string, certificate: { readonly cert: string; readonly key: string }): Promise<AiosmtpdRequireTls> {
    const folder = await mkdtemp(join(tmpdir(), 'outpost-requiretls-'));
    await writeFile(join(folder, 'cert.pem'), certificate.cert);
    await writeFile(join(folder, 'key.pem'), certificate.key);
    const child = spawn(DEBIAN_PYTHON, ['-u', '-c', RECEIVER, folder, host, join(folder, 'cert.pem'), join(folder, 'key.pem')], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    let receiver: AiosmtpdRequireTls | undefined;
    const port = await new Promise<number>((resolve, reject) => {
      let stdout = '';
      child.stdout?.setEncoding('utf8').on('data', (text: string) => {
        stdout += text;
        let newline: number;
        while ((newline = stdout.indexOf('\n')) !== -1) {
          const line = stdout.slice(0, newline);
          stdout = stdout.slice(newline + 1);
          const event = JSON.parse(line) as { port?: number; captured?: number };
          if (event.port !== undefined) resolve(event.port);
          if (event.captured !== undefined) receiver?.noteCaptured(event.captured);
        }
      });
      child.once('exit', (code) => reject(new Error(`aiosmtpd exited with ${code}: ${stderr}`)));
    });
    receiver = new AiosmtpdRequireTls(child, folder, host, port);
    return receiver;
  }

  private noteCaptured(count: number): void {
    this.captured = count;
    const ready = this.waiters.filter((waiter) => waiter.count <= count);
    this.waiters = this.waiters.filter((waiter) => waiter.count > count);
    for (const waiter of ready) waiter.resolve();
  }

  /** Resolves with what arrived once at least `count` messages have; rejects after `waitMs` (a hang guard). */
  async waitForMessages(count: number, waitMs = 60_000): Promise<RequireTlsDelivery[]> {
    if (this.captured < count) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`aiosmtpd received ${this.captured} messages, not ${count}, within ${waitMs} ms`)), waitMs);
        this.waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
      });
    }
    const names = (await readdir(this.folder)).filter((name) => name.endsWith('.eml')).sort();
    return Promise.all(
      names.map(async (name) => {
        const meta = JSON.parse(await readFile(join(this.folder, `${name}.json`), 'utf8')) as { from: string; rcpts: string[]; requiretls: boolean; tls: boolean };
        return { from: meta.from, recipients: meta.rcpts, requireTls: meta.requiretls, tls: meta.tls, data: await readFile(join(this.folder, name)) };
      }),
    );
  }

  async stop(): Promise<void> {
    await stopPythonServer(this.child);
    await rm(this.folder, { recursive: true, force: true });
  }
}
