// The wire of one outbound SMTP session: commands out, replies in (matched
// strictly in order, RFC 5321 §4.2, RFC 2920 §3), per-stage timeouts on the
// injected clock (§4.5.3.2), STARTTLS (RFC 3207) and the dot-stuffed body (§4.5.2).

import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { DotStuffer } from '../smtp/dot-stuffing.js';
import type { Reply } from '../smtp/reply.js';
import { ExchangeLog } from './exchange-log.js';
import { ReplyReader, type ReplyLimits } from './reply-reader.js';
import { SessionError } from './session-error.js';

export interface TlsResult {
  readonly protocol: string;
  readonly cipher: string;
  readonly verified: boolean;
  /** Why the certificate did not verify (e.g. "DEPTH_ZERO_SELF_SIGNED_CERT"). */
  readonly verifyError: string | undefined;
  /** The TLSA record the certificate matched, when DANE authenticated it ("DANE-EE 3 1 1"). */
  readonly dane?: string;
}

/** A server sends a handful of certificates; no more are read. */
const MAX_PEER_CHAIN = 10;
/** The failure of a session we closed ourselves with nothing waiting (later calls get it): one shared object, no stack trace per session. */
const SESSION_CLOSED = new SessionError('aborted', 'session', 'session closed');

export interface SmtpConnectionOptions {
  readonly clock: Clock;
  readonly replyLimits: ReplyLimits;
  readonly signal: AbortSignal;
}

type Reject = (error: SessionError) => void;

export class SmtpConnection {
  readonly #clock: Clock;
  readonly #limits: ReplyLimits;
  readonly #raw: Socket;
  readonly #signal: AbortSignal;
  #socket: Socket;
  #reader: ReplyReader;
  /** Commands sent whose replies have not been read yet. */
  #expectedReplies = 0;
  #failure: SessionError | undefined;
  #discardedBytes = 0;
  #replyWaiter: { readonly stage: string; readonly discardAfterCode: number | undefined; readonly resolve: (reply: Reply) => void; readonly reject: Reject } | undefined;
  readonly #rejects = new Set<Reject>();
  readonly #exchange = new ExchangeLog();
  readonly #onData = (chunk: Buffer): void => this.#received(chunk);
  readonly #onAbort = (): void => void this.fail(new SessionError('aborted', 'session', 'delivery aborted'));

  /** Takes over a connected socket; the greeting counts as the first expected reply. */
  constructor(socket: Socket, options: SmtpConnectionOptions) {
    this.#clock = options.clock;
    this.#limits = options.replyLimits;
    this.#signal = options.signal;
    this.#raw = socket;
    this.#socket = socket;
    this.#reader = new ReplyReader(this.#limits);
    this.#expectedReplies = 1;
    this.#watch(socket);
    socket.on('data', this.#onData);
    if (this.#signal.aborted) this.#onAbort();
    else this.#signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  get failed(): SessionError | undefined {
    return this.#failure;
  }

  /** Bytes the server sent along with its 220 to STARTTLS, dropped unread (CVE-2021-38371). */
  get discardedBytes(): number {
    return this.#discardedBytes;
  }

  /** The last commands and replies (bounded, AUTH data redacted; exchange-log.ts). */
  get exchange(): readonly string[] {
    return this.#exchange.lines();
  }

  /** Writes commands in one write (a pipelined group when there are several). */
  send(commands: readonly string[], stage: string): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#expectedReplies === 0 && this.#reader.bufferedBytes > 0) {
      throw this.fail(new SessionError('protocol', stage, 'unexpected data from the server before our command'));
    }
    this.#expectedReplies += commands.length;
    for (const command of commands) this.#exchange.command(command, stage);
    this.#socket.write(commands.map((command) => `${command}\r\n`).join(''));
  }

  /** The next reply; rejects with a SessionError on timeout, disconnect, bad reply or abort. */
  readReply(timeoutMs: number, stage: string, options: { discardAfterCode?: number } = {}): Promise<Reply> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#expectedReplies === 0) return Promise.reject(this.fail(new SessionError('protocol', stage, `read a reply for ${stage} with no command outstanding`)));
    return new Promise<Reply>((resolve, reject) => {
      const timer = this.#clock.setTimer(timeoutMs, () => this.fail(new SessionError('timeout', stage, `no reply to ${stage} within ${timeoutMs} ms`)));
      const done = (): void => {
        timer.cancel();
        this.#rejects.delete(onReject);
        this.#replyWaiter = undefined;
      };
      const onReject: Reject = (error) => {
        done();
        reject(error);
      };
      this.#rejects.add(onReject);
      this.#replyWaiter = {
        stage,
        discardAfterCode: options.discardAfterCode,
        resolve: (reply) => {
          done();
          resolve(reply);
        },
        reject: onReject,
      };
      this.#deliverReply();
    });
  }

  /** `command` then its reply. */
  async command(command: string, timeoutMs: number, stage: string): Promise<Reply> {
    this.send([command], stage);
    return this.readReply(timeoutMs, stage);
  }

  /**
   * After the server's 220 to STARTTLS: anything it sent with the 220 was
   * already discarded (CVE-2021-38371); the handshake runs on the same socket
   * and a fresh reply reader reads what comes after it.
   */
  async startTls(options: ConnectionOptions, timeoutMs: number): Promise<TlsResult> {
    if (this.#failure !== undefined) throw this.#failure;
    this.#socket.off('data', this.#onData);
    this.#reader = new ReplyReader(this.#limits);
    const secure: TLSSocket = tlsConnect({ ...options, socket: this.#raw, rejectUnauthorized: false });
    this.#socket = secure;
    await new Promise<void>((resolve, reject) => {
      const timer = this.#clock.setTimer(timeoutMs, () => this.fail(new SessionError('tls', 'TLS handshake', `TLS handshake not done within ${timeoutMs} ms`)));
      const finish = (error: SessionError | undefined): void => {
        timer.cancel();
        this.#rejects.delete(finish);
        secure.off('secureConnect', onSecure);
        secure.off('error', onError);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onSecure = (): void => finish(undefined);
      const onError = (error: Error): void => finish(this.fail(new SessionError('tls', 'TLS handshake', `TLS handshake failed: ${error.message}`, { cause: error })));
      this.#rejects.add(finish);
      secure.once('secureConnect', onSecure);
      secure.once('error', onError);
    });
    this.#watch(secure);
    secure.on('data', this.#onData);
    const cipher = secure.getCipher();
    const verifyError = secure.authorized ? undefined : String(secure.authorizationError ?? 'unverified');
    return { protocol: secure.getProtocol() ?? 'unknown', cipher: cipher.standardName ?? cipher.name, verified: secure.authorized, verifyError };
  }

  /**
   * The certificates the server sent in the TLS handshake as DER, leaf first, in issuer order;
   * empty before TLS. Only certificates from the session's trust store could be added by Node,
   * so a context without CAs yields exactly what the server sent (as DANE-TA needs, RFC 7671 §5.2.2).
   */
  peerCertificateChain(): Buffer[] {
    if (this.#socket === this.#raw || !('getPeerCertificate' in this.#socket)) return [];
    const chain: Buffer[] = [];
    let certificate: DetailedPeerCertificate | undefined = (this.#socket as TLSSocket).getPeerCertificate(true);
    while (certificate?.raw !== undefined && chain.length < MAX_PEER_CHAIN) {
      chain.push(certificate.raw);
      const issuer: DetailedPeerCertificate | undefined = certificate.issuerCertificate;
      // A self-signed certificate is its own issuer.
      if (issuer === undefined || issuer === certificate || issuer.fingerprint256 === certificate.fingerprint256) break;
      certificate = issuer;
    }
    return chain;
  }

  /**
   * Streams the body with dot-stuffing and the final "." (RFC 5321 §4.5.2),
   * waiting for the socket to drain at most `blockTimeoutMs` per block. The
   * reply to the final dot is then the one outstanding reply.
   */
  async sendBody(openBody: () => Readable, blockTimeoutMs: number, headerPrefix?: Buffer): Promise<void> {
    const stuffer = new DotStuffer();
    let body: Readable | undefined;
    // Each block is written when the next one is read, so the last one goes out with the final
    // "." in one write: a lone small "." segment would wait for the receiver's delayed ACK.
    let held: Buffer[] = headerPrefix === undefined ? [] : stuffer.push(headerPrefix);
    try {
      body = openBody();
      for await (const chunk of body as AsyncIterable<unknown>) {
        const pieces = stuffer.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
        await this.#writePieces(held, blockTimeoutMs);
        held = pieces;
      }
    } catch (error) {
      body?.destroy();
      // Never end the data after a failed read: a truncated message must not be delivered.
      if (error instanceof SessionError) throw error;
      throw this.fail(new SessionError('local', 'message body', `reading the message body failed: ${errorMessage(error)}`, { cause: error }));
    }
    this.#expectedReplies += 1;
    await this.#writePieces([...held, ...stuffer.end()], blockTimeoutMs);
  }

  /** QUIT and its reply when the session is healthy, then the socket is closed. */
  async quit(timeoutMs: number): Promise<void> {
    if (this.#failure === undefined) {
      try {
        await this.command('QUIT', timeoutMs, 'QUIT');
      } catch {
        // The transaction results stand whatever happens to QUIT.
      }
    }
    this.close();
  }

  /** Closes the connection at once; pending waits reject. */
  close(): void {
    // One shared error when nothing waits (a QUIT after every session): no stack trace per session.
    this.fail(this.#rejects.size === 0 && this.#replyWaiter === undefined ? SESSION_CLOSED : new SessionError('aborted', 'session', 'session closed'));
  }

  /** Records the first failure, tears the connection down, rejects every pending wait; returns the failure. */
  fail(error: SessionError): SessionError {
    if (this.#failure === undefined) this.#failure = error;
    this.#signal.removeEventListener('abort', this.#onAbort);
    this.#socket.destroy();
    this.#raw.destroy();
    for (const reject of [...this.#rejects]) reject(this.#failure);
    return this.#failure;
  }

  #watch(socket: Socket): void {
    socket.on('error', (error: Error) => this.fail(new SessionError('closed', this.#replyWaiter?.stage ?? 'session', `connection error: ${error.message}`, { cause: error })));
    socket.on('close', () => {
      if (this.#failure === undefined) this.fail(new SessionError('closed', this.#replyWaiter?.stage ?? 'session', 'connection closed by the server'));
    });
  }

  #received(chunk: Buffer): void {
    if (this.#failure !== undefined) return;
    this.#reader.push(chunk);
    if (this.#expectedReplies === 0) {
      this.fail(new SessionError('protocol', 'session', 'the server sent data when no reply was due'));
      return;
    }
    this.#deliverReply();
    // Without a reader waiting, nothing else bounds what a server may pile up.
    if (this.#failure === undefined && this.#reader.bufferedBytes > this.#limits.maxReplyBytes * this.#expectedReplies + this.#limits.maxLineBytes) {
      this.fail(new SessionError('protocol', 'session', 'the server sent more than the replies due'));
    }
  }

  /**
   * Hands a complete reply to the waiter, if both exist. With `discardAfterCode`
   * (220 to STARTTLS), bytes that came with that reply are dropped, not read as replies.
   */
  #deliverReply(): void {
    const waiter = this.#replyWaiter;
    if (waiter === undefined) return;
    const parsed = this.#reader.next();
    if (parsed === undefined) return;
    if (parsed.kind === 'malformed') {
      this.fail(new SessionError('protocol', waiter.stage, `bad reply to ${waiter.stage}: ${parsed.detail}`));
      return;
    }
    this.#expectedReplies -= 1;
    if (waiter.discardAfterCode !== undefined && parsed.reply.code === waiter.discardAfterCode) {
      this.#discardedBytes += this.#reader.discard();
      // No more plaintext may reach us: the TLS layer takes the socket from here.
      this.#socket.off('data', this.#onData);
    } else if (this.#expectedReplies === 0 && this.#reader.bufferedBytes > 0) {
      this.fail(new SessionError('protocol', waiter.stage, `unexpected data after the reply to ${waiter.stage}`));
      return;
    }
    this.#exchange.reply(parsed.reply, waiter.stage);
    waiter.resolve(parsed.reply);
  }

  async #writePieces(pieces: readonly Buffer[], blockTimeoutMs: number): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure;
    if (pieces.length === 0) return;
    this.#socket.cork();
    let flowing = true;
    for (const piece of pieces) flowing = this.#socket.write(piece);
    this.#socket.uncork();
    if (flowing) return;
    await new Promise<void>((resolve, reject) => {
      const timer = this.#clock.setTimer(blockTimeoutMs, () => this.fail(new SessionError('timeout', 'message body', `could not send a data block within ${blockTimeoutMs} ms`)));
      const finish = (error: SessionError | undefined): void => {
        timer.cancel();
        this.#rejects.delete(finish);
        this.#socket.off('drain', onDrain);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onDrain = (): void => finish(undefined);
      this.#rejects.add(finish);
      this.#socket.once('drain', onDrain);
    });
  }
}
