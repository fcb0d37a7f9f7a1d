// The inbound SMTP listeners: binds each configured address, applies the
// connection caps (all clients, one untrusted client address) and runs one
// session per connection; stops gracefully (421 4.3.2) on shutdown.

import { listenOn } from '../core/listen.js';
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { SecureContext } from 'node:tls';
import type { Clock } from '../core/clock.js';
import { unmapIpv4 } from '../core/network.js';
import type { LimitsConfig, ListenerConfig, ListenerMode } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import { formatReply, type Reply } from '../smtp/reply.js';
import { Replies } from '../smtp/replies.js';
import type { MessageSink } from '../spool/types.js';
import type { FreeSpaceReader } from '../spool/free-space.js';
import { SmtpSession } from './session.js';
import type { SessionObserver } from './session-observer.js';
import type { AuthServices } from './auth-exchange.js';
import type { MessageSigner } from '../dkim/message-signer.js';
import type { RecipientVerifier } from '../verify/types.js';

export interface SmtpServerOptions {
  readonly hostname: string;
  readonly listeners: readonly ListenerConfig[];
  readonly limits: LimitsConfig;
  /** The current certificate (undefined: no TLS); read per handshake so SIGHUP can swap it. */
  readonly tlsContext?: (mode: ListenerMode) => SecureContext | undefined;
  readonly spool: MessageSink;
  /** Free bytes on the spool's disk (cached by the caller), for the reserve `limits.minFreeBytes`. Absent: no check. */
  readonly freeSpaceBytes?: FreeSpaceReader;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly observer?: SessionObserver;
  readonly auth?: AuthServices;
  readonly dkimSigner?: MessageSigner;
  /** Verifies local-domain recipients of unauthorized `mta` clients at RCPT. Absent: none. */
  readonly recipientVerifier?: RecipientVerifier;
  /** Live views, so a reload of the domains file or trusted networks takes effect for new commands. */
  isLocalDomain(canonicalDomain: string): boolean;
  isTrusted(clientAddress: string): boolean;
}

export interface BoundListener {
  readonly mode: ListenerMode;
  readonly address: string;
  readonly port: number;
}

export class SmtpServer {
  private readonly servers: { server: Server; config: ListenerConfig }[] = [];
  private readonly sessions = new Set<SmtpSession>();
  private readonly running = new Set<Promise<void>>();
  private readonly perClient = new Map<string, number>();
  private readonly log: Logger;
  private readonly sessionPrefix = randomBytes(3).toString('hex');
  private sessionCounter = 0;
  private stopping = false;

  constructor(private readonly options: SmtpServerOptions) {
    this.log = options.logger.child({ component: 'smtpd' });
  }

  /** Binds every listener; rejects with a clear OutpostError (port in use, no permission) and binds none. */
  async start(): Promise<BoundListener[]> {
    try {
      for (const config of this.options.listeners) {
        const server = createServer({ pauseOnConnect: false, noDelay: true }, (socket) => this.accept(socket, config.mode));
        this.servers.push({ server, config });
        await listenOn(server, config.address, config.port, config.mode);
      }
    } catch (error: unknown) {
      await this.closeListeners();
      throw error;
    }
    const bound = this.addresses();
    for (const listener of bound) this.log.info(listener, 'listening');
    return bound;
  }

  addresses(): BoundListener[] {
    return this.servers.map(({ server, config }) => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : config.port;
      return { mode: config.mode, address: config.address, port };
    });
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  /** Reply bytes waiting for slow clients, over all sessions (bounded per session by backpressure). */
  get pendingOutputBytes(): number {
    let total = 0;
    for (const session of this.sessions) total += session.pendingOutputBytes;
    return total;
  }

  /** True while every listener is bound (for /healthz). */
  get listening(): boolean {
    return this.servers.length > 0 && this.servers.every(({ server }) => server.listening);
  }

  /** Stops listening, lets sessions finish the command or DATA in hand, then drops what is left after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    const closing = this.closeListeners();
    for (const session of this.sessions) session.shutdown();
    const everyoneDone = Promise.all([...this.running]);
    let timer: ReturnType<Clock['setTimer']> | undefined;
    const graceOver = new Promise<'timeout'>((resolve) => {
      timer = this.options.clock.setTimer(graceMs, () => resolve('timeout'));
    });
    if ((await Promise.race([everyoneDone, graceOver])) === 'timeout') {
      this.log.warn({ sessions: this.sessions.size }, 'shutdown grace period over, dropping sessions');
      for (const session of this.sessions) session.destroy();
      await everyoneDone;
    }
    timer?.cancel();
    await closing;
  }

  private accept(socket: Socket, mode: ListenerMode): void {
    const clientAddress = unmapIpv4(socket.remoteAddress ?? 'unknown');
    socket.on('error', () => undefined);
    const refusal = this.admissionRefusal(clientAddress);
    if (refusal !== undefined) {
      this.log.info({ client: clientAddress, reply: refusal.lines[0] }, 'connection refused');
      socket.end(formatReply(refusal), () => socket.destroy());
      return;
    }
    this.perClient.set(clientAddress, (this.perClient.get(clientAddress) ?? 0) + 1);
    this.sessionCounter += 1;
    const session = new SmtpSession({
      id: `${this.sessionPrefix}${this.sessionCounter.toString(36)}`,
      socket,
      hostname: this.options.hostname,
      mode,
      clientAddress,
      clientTrusted: this.options.isTrusted(clientAddress),
      limits: this.options.limits,
      tlsContext: () => this.options.tlsContext?.(mode),
      spool: this.options.spool,
      freeSpaceBytes: this.options.freeSpaceBytes,
      clock: this.options.clock,
      logger: this.log,
      observer: this.options.observer,
      auth: this.options.auth,
      dkimSigner: this.options.dkimSigner,
      recipientVerifier: this.options.recipientVerifier,
      isLocalDomain: (domain) => this.options.isLocalDomain(domain),
    });
    this.sessions.add(session);
    const run = session.run().finally(() => {
      this.sessions.delete(session);
      this.running.delete(run);
      const count = (this.perClient.get(clientAddress) ?? 1) - 1;
      if (count <= 0) this.perClient.delete(clientAddress);
      else this.perClient.set(clientAddress, count);
    });
    this.running.add(run);
  }

  /**
   * The global cap applies to everyone; the per-address cap only to untrusted clients: an
   * application on a trusted network may open many parallel sessions (as Postfix exempts
   * $mynetworks with smtpd_client_event_limit_exceptions).
   */
  private admissionRefusal(clientAddress: string): Reply | undefined {
    if (this.stopping) return Replies.shuttingDown;
    if (this.sessions.size >= this.options.limits.maxConnections) return Replies.tooManyConnections;
    const perClientFull = (this.perClient.get(clientAddress) ?? 0) >= this.options.limits.maxConnectionsPerClient;
    if (perClientFull && !this.options.isTrusted(clientAddress)) return Replies.tooManyConnectionsFromYou;
    return undefined;
  }

  private async closeListeners(): Promise<void> {
    await Promise.all(
      this.servers.map(
        ({ server }) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())),
      ),
    );
  }
}
