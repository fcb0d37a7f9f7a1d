// A scripted SMTP client for dialog tests: raw writes over a real TCP socket
// and replies parsed as they arrive (multiline aware), with a bounded wait.

import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Duplex } from 'node:stream';

export interface ParsedReply {
  readonly code: number;
  readonly lines: readonly string[];
  /** The whole reply as one string, "250-a\n250 b" style lines joined by "\n". */
  readonly text: string;
}

export class SmtpTestClient {
  private buffer = '';
  private readonly replies: ParsedReply[] = [];
  private waiters: (() => void)[] = [];
  private ended = false;
  private receivedText = 0;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      this.receivedText += text.length;
      this.buffer += text;
      this.parse();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  /** Connects to 127.0.0.1:port, optionally from another loopback address (to be another client). */
  static connect(port: number, localAddress?: string): Promise<SmtpTestClient> {
    return new Promise((resolve, reject) => {
      const options = localAddress === undefined ? { port, host: '127.0.0.1' } : { port, host: '127.0.0.1', localAddress };
      const socket = connect(options, () => resolve(new SmtpTestClient(socket)));
      socket.once('error', reject);
    });
  }

  /**
   * Connects to 127.0.0.1:port from `localAddress` and writes `prefix` (a PROXY protocol header, maybe
   * with pipelined commands) before anything else. `tls`: then implicit TLS over the same connection,
   * its ClientHello written after the prefix ('after-prefix') or in the same write ('same-write').
   */
  static connectWithPrefix(
    port: number,
    prefix: Buffer,
    options: { readonly localAddress: string; readonly tls?: 'after-prefix' | 'same-write' },
  ): Promise<SmtpTestClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', localAddress: options.localAddress, noDelay: true }, () => {
        if (options.tls === undefined) {
          socket.write(prefix);
          resolve(new SmtpTestClient(socket));
          return;
        }
        if (options.tls === 'after-prefix') socket.write(prefix);
        let pending: Buffer | undefined = options.tls === 'same-write' ? prefix : undefined;
        // The TLS client writes through this pipe, so its first record can share one write with the prefix.
        const pipe = new Duplex({
          write(chunk: Buffer, _encoding, done) {
            socket.write(pending === undefined ? chunk : Buffer.concat([pending, chunk]), done);
            pending = undefined;
          },
          read() {},
          final(done) {
            socket.end(done);
          },
          destroy(error, done) {
            socket.destroy();
            done(error);
          },
        });
        socket.on('data', (data: Buffer) => pipe.push(data));
        socket.on('end', () => pipe.push(null));
        socket.on('close', () => pipe.destroy());
        const secure: TLSSocket = tlsConnect({ socket: pipe, rejectUnauthorized: false }, () => resolve(new SmtpTestClient(secure)));
        secure.once('error', reject);
      });
      socket.once('error', reject);
    });
  }

  /** Connects with implicit TLS (RFC 8314), accepting any certificate. */
  static connectTls(port: number): Promise<SmtpTestClient> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => resolve(new SmtpTestClient(socket)));
      socket.once('error', reject);
    });
  }

  /** After a 220 to STARTTLS: the TLS handshake on this connection; use the returned client from then on. */
  startTls(): Promise<SmtpTestClient> {
    return new Promise((resolve, reject) => {
      this.socket.removeAllListeners('data');
      const secure: TLSSocket = tlsConnect({ socket: this.socket, rejectUnauthorized: false }, () => resolve(new SmtpTestClient(secure)));
      secure.once('error', reject);
    });
  }

  /** The negotiated TLS protocol, e.g. "TLSv1.3", or null on a plaintext connection. */
  get tlsProtocol(): string | null {
    return 'getProtocol' in this.socket ? (this.socket as TLSSocket).getProtocol() : null;
  }

  /** Characters received from the server so far (0: not even a greeting). */
  get receivedChars(): number {
    return this.receivedText;
  }

  /** True once the server closed the connection. */
  get closed(): boolean {
    return this.ended;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends one command line (CRLF appended). */
  send(line: string): void {
    this.socket.write(`${line}\r\n`);
  }

  /** The next complete reply; rejects if the server closes first or nothing arrives within `waitMs`. */
  async reply(waitMs = 5000): Promise<ParsedReply> {
    const deadline = Date.now() + waitMs;
    while (this.replies.length === 0) {
      if (this.ended) throw new Error(`connection closed while waiting for a reply (pending text: ${JSON.stringify(this.buffer)})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${waitMs} ms (pending text: ${JSON.stringify(this.buffer)})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.replies.shift() as ParsedReply;
  }

  /** Sends a command and returns its reply. */
  async command(line: string): Promise<ParsedReply> {
    this.send(line);
    return this.reply();
  }

  /** Waits until the server closes the connection (the socket's 'close'); rejects after `waitMs` (a hang guard). */
  async waitClosed(waitMs = 5000): Promise<void> {
    if (this.ended) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connection still open after ${waitMs} ms`)), waitMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private parse(): void {
    for (;;) {
      const lines: string[] = [];
      let position = 0;
      let complete: ParsedReply | undefined;
      for (;;) {
        const end = this.buffer.indexOf('\r\n', position);
        if (end === -1) break;
        const line = this.buffer.slice(position, end);
        position = end + 2;
        lines.push(line);
        if (line.charAt(3) !== '-') {
          complete = { code: Number(line.slice(0, 3)), lines: lines.map((l) => l.slice(4)), text: lines.join('\n') };
          break;
        }
      }
      if (complete === undefined) return;
      this.buffer = this.buffer.slice(position);
      this.replies.push(complete);
      this.wake();
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }
}
