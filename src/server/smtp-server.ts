// The inbound SMTP listeners: binds each configured address, reads the PROXY
// protocol header where a listener requires it (proxy-reader.ts), applies the
// connection caps (all clients, one untrusted client address) and runs one
// session per connection; stops gracefully (421 4.3.2) on shutdown.

import { listenOn } from '../core/listen.js';
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { SecureContext } from 'node:tls';
import type { Clock } from '../core/clock.js';
import { NetworkSet, parseCidr, unmapIpv4, type Cidr } from '../core/network.js';
import type { LimitsConfig, ListenerConfig, ListenerMode } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import { formatReply, type Reply } from '../smtp/reply.js';
import { Replies } from '../smtp/replies.js';
import type { MessageSink } from '../spool/types.js';
import type { FreeSpaceReader } from '../spool/free-space.js';
import { SmtpSession } from './session.js';
import { readProxyHeader } from './proxy-reader.js';
import type { SessionObserver } from './session-observer.js';
import type { AuthServices } from './auth-exchange.js';
import type { MessageSigner } from '../dkim/message-signer.js';
import type { RecipientVerifier } from '../verify/types.js';
import type { SendingGuards } from './sending-guards.js';

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
  /** Sender quotas and the suppression list. Absent: none. */
  readonly guards?: SendingGuards;
  /** Live views, so a reload of the domains file or trusted networks takes effect for new commands. */
  isLocalDomain(canonicalDomain: string): boolean;
  isTrusted(clientAddress: string): boolean;
}

export interface BoundListener {
  readonly mode: ListenerMode;
  readonly address: string;
  readonly port: number;
}

/** A listener's PROXY protocol setting: the networks allowed to send the header (absent: no PROXY protocol). */
function proxySources(config: ListenerConfig): NetworkSet | undefined {
  if (config.proxyFrom === undefined) return undefined;
  return new NetworkSet(config.proxyFrom.map((text) => parseCidr(text)).filter((cidr): cidr is Cidr => cidr !== undefined));
}

export class SmtpServer {
  private readonly servers: { server: Server; config: ListenerConfig }[] = [];
  private readonly sessions = new Set<SmtpSession>();
  /** Connections still sending their PROXY header (closed on shutdown). */
  private readonly awaitingHeader = new Set<Socket>();
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
        const proxyFrom = proxySources(config);
        const server = createServer({ pauseOnConnect: false, noDelay: true }, (socket) =>
          proxyFrom === undefined ? this.accept(socket, config.mode, unmapIpv4(socket.remoteAddress ?? 'unknown')) : this.acceptProxied(socket, config, proxyFrom),
        );
        this.servers.push({ server, config });
        await listenOn(server, config.address, config.port, config.mode);
      }
    } catch (error: unknown) {
      await this.closeListeners();
      throw error;
    }
    const bound = this.addresses();
    bound.forEach((listener, index) => {
      const proxyFrom = this.servers[index]?.config.proxyFrom;
      this.log.info(proxyFrom === undefined ? listener : { ...listener, proxyFrom }, 'listening');
    });
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
    for (const socket of this.awaitingHeader) socket.destroy();
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

  /**
   * A listener with `proxyProtocol`: only the balancers in `proxyFrom` may connect, and each connection
   * starts with a PROXY header, read before anything is sent. The header's client address then stands
   * for the socket's everywhere (relay rule, caps, logs, Received, AUTH limiter); the balancer's own
   * address is logged as `proxy`. A client reaching the port directly is dropped, never served as
   * itself: the port must not be shared between balancer and direct clients (spec §2, §5).
   */
  private acceptProxied(socket: Socket, config: ListenerConfig, proxyFrom: NetworkSet): void {
    const proxyAddress = unmapIpv4(socket.remoteAddress ?? 'unknown');
    const where = { listener: `${config.address}:${config.port}`, mode: config.mode };
    socket.on('error', () => undefined);
    const refusal = this.stopping ? 'shutting down' : this.proxiedConnectionRefusal(proxyAddress, proxyFrom);
    if (refusal !== undefined) {
      // Nothing is sent: not even a 421 may come before the header is read.
      if (!this.stopping) this.log.info({ client: proxyAddress, ...where, reason: refusal }, 'connection refused');
      socket.destroy();
      return;
    }
    this.awaitingHeader.add(socket);
    void readProxyHeader(socket, this.options.clock).then((outcome) => {
      this.awaitingHeader.delete(socket);
      if (outcome.kind === 'failed') {
        if (!this.stopping) this.log.info({ proxy: proxyAddress, ...where, reason: outcome.reason }, 'proxy header refused');
        socket.destroy();
        return;
      }
      if (socket.destroyed) return;
      const { header } = outcome;
      const clientAddress = header.kind === 'proxied' ? unmapIpv4(header.source.address) : proxyAddress;
      this.log.debug({ client: clientAddress, proxy: proxyAddress, version: header.version, header: header.kind === 'local' ? header.why : 'proxied' }, 'proxy header');
      this.accept(socket, config.mode, clientAddress, proxyAddress);
    });
  }

  /** Why a connection to a PROXY listener is closed before its header is read, or undefined. */
  private proxiedConnectionRefusal(proxyAddress: string, proxyFrom: NetworkSet): string | undefined {
    if (!proxyFrom.contains(proxyAddress)) return 'not in proxyFrom (the listener takes only PROXY protocol connections from its load balancers)';
    // Connections still sending their header count toward the global cap; the per-client cap waits for the header.
    if (this.sessions.size + this.awaitingHeader.size >= this.options.limits.maxConnections) return 'maxConnections reached';
    return undefined;
  }

  private accept(socket: Socket, mode: ListenerMode, clientAddress: string, proxyAddress?: string): void {
    socket.on('error', () => undefined);
    const log = proxyAddress === undefined ? this.log : this.log.child({ proxy: proxyAddress });
    const refusal = this.admissionRefusal(clientAddress);
    if (refusal !== undefined) {
      log.info({ client: clientAddress, reply: refusal.lines[0] }, 'connection refused');
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
      logger: log,
      observer: this.options.observer,
      auth: this.options.auth,
      dkimSigner: this.options.dkimSigner,
      recipientVerifier: this.options.recipientVerifier,
      guards: this.options.guards,
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
