// A lean SMTP client connection for the load benchmarks: one TCP socket (Nagle
// off), replies parsed as they arrive (multiline aware, RFC 5321 §4.2.1) and
// handed out in order; no timers, so thousands of them cost little.

import { connect, type Socket } from 'node:net';

export interface WireReply {
  readonly code: number;
  /** The reply's lines joined by "\n", codes included. */
  readonly text: string;
}

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** "127.0.0.1:2525" -> { host, port }. */
export function parseEndpoint(text: string): Endpoint {
  const colon = text.lastIndexOf(':');
  const port = Number(text.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0) throw new Error(`not host:port: ${text}`);
  return { host: text.slice(0, colon), port };
}

export class SmtpWire {
  private buffer = '';
  private readonly replies: WireReply[] = [];
  private waiter: { resolve: (reply: WireReply) => void; reject: (error: Error) => void } | undefined;
  private closedError: Error | undefined;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => this.take(text));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static connect(endpoint: Endpoint, localAddress?: string): Promise<SmtpWire> {
    return new Promise((resolve, reject) => {
      const options = { host: endpoint.host, port: endpoint.port, noDelay: true, ...(localAddress === undefined ? {} : { localAddress }) };
      const socket = connect(options, () => {
        socket.off('error', reject);
        resolve(new SmtpWire(socket));
      });
      socket.once('error', reject);
    });
  }

  /** The next complete reply; rejects when the connection ends first. */
  reply(): Promise<WireReply> {
    const next = this.replies.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.closedError !== undefined) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** The next reply, which must have `code`. */
  async expect(code: number, what: string): Promise<WireReply> {
    const reply = await this.reply();
    if (reply.code !== code) throw new Error(`${what}: expected ${code}, got ${JSON.stringify(reply.text)}`);
    return reply;
  }

  /** Writes; resolves when the socket can take more (backpressure for large bodies). */
  write(data: string | Buffer): Promise<void> {
    if (this.socket.write(data)) return Promise.resolve();
    return new Promise((resolve) => this.socket.once('drain', resolve));
  }

  async quit(): Promise<void> {
    this.socket.write('QUIT\r\n');
    await this.reply().catch(() => undefined);
    this.socket.destroy();
  }

  close(): void {
    this.socket.destroy();
  }

  private take(text: string): void {
    this.buffer += text;
    for (;;) {
      let position = 0;
      let end = -1;
      // A reply ends with a line whose fourth character is not '-'.
      for (;;) {
        end = this.buffer.indexOf('\r\n', position);
        if (end === -1) return;
        const last = this.buffer.charAt(position + 3) !== '-';
        position = end + 2;
        if (last) break;
      }
      const text = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(position);
      const lastLine = text.slice(text.lastIndexOf('\n') + 1);
      this.deliver({ code: Number(lastLine.slice(0, 3)), text: text.replaceAll('\r\n', '\n') });
    }
  }

  private deliver(reply: WireReply): void {
    const waiter = this.waiter;
    if (waiter === undefined) {
      this.replies.push(reply);
      return;
    }
    this.waiter = undefined;
    waiter.resolve(reply);
  }

  private fail(error: Error): void {
    this.closedError ??= error;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(this.closedError);
  }
}

/** A message of `sizeBytes` octets (up to 2 fewer) before the final dot: header, then 76-octet lines, ending in CRLF. */
export function makeMessage(sizeBytes: number, from: string, to: string, subject: string): Buffer {
  const header = Buffer.from(`From: <${from}>\r\nTo: <${to}>\r\nSubject: ${subject}\r\nMessage-ID: <${process.pid}.${Date.now()}@bench.example>\r\n\r\n`, 'latin1');
  const line = `${'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(3).slice(0, 76)}\r\n`;
  const bodyBytes = Math.max(0, sizeBytes - header.length);
  const wholeLines = Math.floor(bodyBytes / line.length);
  const rest = bodyBytes - wholeLines * line.length;
  const lines = wholeLines === 0 ? Buffer.alloc(0) : Buffer.alloc(wholeLines * line.length, line, 'latin1');
  const last = rest >= 3 ? Buffer.from(`${'x'.repeat(rest - 2)}\r\n`, 'latin1') : Buffer.alloc(0);
  return Buffer.concat([header, lines, last]);
}

/** Greets and says EHLO; returns after the EHLO's 250. */
export async function greet(wire: SmtpWire, helo: string): Promise<void> {
  await wire.expect(220, 'greeting');
  await wire.write(`EHLO ${helo}\r\n`);
  await wire.expect(250, 'EHLO');
}
