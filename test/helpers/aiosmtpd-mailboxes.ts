// An independent next-hop MTA for recipient verification tests: Debian's
// python3-aiosmtpd with a handler that knows a list of mailboxes and refuses
// any other RCPT with 550 5.1.1. It prints one JSON line per connection,
// MAIL, RCPT (with its answer) and message received.

import { spawn, type ChildProcess } from 'node:child_process';
import { DEBIAN_PYTHON, stopPythonServer } from './aiosmtpd-capture.js';

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

export type MailboxEvent = Record<string, unknown> & { readonly event: string };

export class AiosmtpdMailboxes {
  readonly events: MailboxEvent[] = [];
  port = 0;
  #waiters: (() => void)[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly host: string,
  ) {}

  /** Listens on `host` (a loopback address), port chosen by the system; knows `mailboxes` (case-insensitive). */
  static async start(mailboxes: readonly string[], host = '127.0.0.1'): Promise<AiosmtpdMailboxes> {
    const child = spawn(DEBIAN_PYTHON, ['-u', '-c', SERVER, JSON.stringify({ mailboxes, host })], { stdio: ['pipe', 'pipe', 'pipe'] });
    const server = new AiosmtpdMailboxes(child, host);
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    let buffered = '';
    child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      buffered += text;
      for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
        const event = JSON.parse(buffered.slice(0, newline)) as MailboxEvent;
        buffered = buffered.slice(newline + 1);
        if (event.event === 'ready') server.port = Number(event['port']);
        else server.events.push(event);
      }
      for (const wake of server.#waiters.splice(0)) wake();
    });
    const exited = new Promise<never>((_resolve, reject) => child.once('exit', (code) => reject(new Error(`aiosmtpd exited with ${code}: ${stderr}`))));
    exited.catch(() => undefined);
    await Promise.race([server.#until(() => server.port !== 0), exited]);
    return server;
  }

  /** The events of one kind ("connect", "mail", "rcpt", "data"), in order. */
  of(kind: string): MailboxEvent[] {
    return this.events.filter((event) => event.event === kind);
  }

  /** Resolves once `count` events of `kind` have arrived. */
  async waitFor(kind: string, count: number): Promise<MailboxEvent[]> {
    await this.#until(() => this.of(kind).length >= count);
    return this.of(kind);
  }

  stop(): Promise<void> {
    return stopPythonServer(this.child);
  }

  async #until(ready: () => boolean): Promise<void> {
    while (!ready()) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
}
