// Stub resolver client: asks recursive servers with per-try timeouts, retries
// rotating over servers, a total deadline, TC -> TCP (RFC 1035 §4.2, RFC 7766
// §5), and one shared query for identical concurrent questions.

import { randomInt as cryptoRandomInt } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { ExchangeOutcome, OutgoingQuery } from './exchange.js';
import { tcpExchange } from './transport-tcp.js';
import { udpExchange } from './transport-udp.js';
import { encodeQuery, RCODE, type DnsMessage } from './wire.js';
import type { DnsServer, RandomInt, RecordType } from './types.js';

export type QueryOutcome =
  | { readonly kind: 'response'; readonly message: DnsMessage; readonly server: DnsServer }
  | { readonly kind: 'timeout'; readonly reason: string }
  | { readonly kind: 'error'; readonly reason: string };

/** The seam the caching resolver talks to. */
export interface DnsQueryClient {
  query(name: string, type: RecordType): Promise<QueryOutcome>;
}

export interface DnsClientOptions {
  readonly servers: readonly DnsServer[];
  readonly clock: Clock;
  /** Per try (resolv.conf `timeout:`). */
  readonly timeoutMs: number;
  /** Rounds over the server list (resolv.conf `attempts:`); default 2. */
  readonly attempts?: number;
  /** Whole question; default timeoutMs × tries. */
  readonly totalTimeoutMs?: number;
  readonly randomInt?: RandomInt;
  /** Set the DO bit (RFC 3225) in every query: dns.dnssec. */
  readonly dnssecOk?: boolean;
}

export class DnsClient implements DnsQueryClient {
  private readonly servers: readonly DnsServer[];
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly tries: number;
  private readonly totalTimeoutMs: number;
  private readonly randomInt: RandomInt;
  private readonly dnssecOk: boolean;
  private readonly inFlight = new Map<string, Promise<QueryOutcome>>();
  private rotation = 0;

  constructor(options: DnsClientOptions) {
    if (options.servers.length === 0) throw new Error('DnsClient needs at least one server');
    this.servers = options.servers;
    this.clock = options.clock;
    this.timeoutMs = options.timeoutMs;
    this.tries = Math.max(1, options.attempts ?? 2) * options.servers.length;
    this.totalTimeoutMs = options.totalTimeoutMs ?? options.timeoutMs * this.tries;
    this.randomInt = options.randomInt ?? ((maxExclusive) => cryptoRandomInt(maxExclusive));
    this.dnssecOk = options.dnssecOk ?? false;
  }

  /** `name` must be canonical (see canonicalDnsName). */
  query(name: string, type: RecordType): Promise<QueryOutcome> {
    const key = `${type} ${name}`;
    const pending = this.inFlight.get(key);
    if (pending !== undefined) return pending;
    const started = this.run(name, type).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, started);
    return started;
  }

  private async run(name: string, type: RecordType): Promise<QueryOutcome> {
    const deadline = this.clock.now() + this.totalTimeoutMs;
    const firstServer = this.rotation;
    this.rotation = (this.rotation + 1) % this.servers.length;
    let lastAnswer: QueryOutcome | undefined;
    let lastProblem: string | undefined;
    for (let attempt = 0; attempt < this.tries; attempt += 1) {
      const remainingMs = deadline - this.clock.now();
      if (remainingMs <= 0) break;
      const server = this.servers[(firstServer + attempt) % this.servers.length];
      if (server === undefined) break;
      const outcome = await this.tryServer(server, name, type, Math.min(this.timeoutMs, remainingMs));
      if (outcome.kind === 'response') {
        const answer: QueryOutcome = { kind: 'response', message: outcome.message, server };
        // RFC 1035 §7.2 / glibc: a server failure or refusal sends us to the next server.
        if (outcome.message.rcode !== RCODE.SERVFAIL && outcome.message.rcode !== RCODE.REFUSED) return answer;
        lastAnswer = answer;
      } else if (outcome.kind !== 'timeout') {
        lastProblem = `${server.host}#${server.port}: ${outcome.reason}`;
      }
    }
    if (lastAnswer !== undefined) return lastAnswer;
    if (lastProblem !== undefined) return { kind: 'error', reason: lastProblem };
    return { kind: 'timeout', reason: `no answer from ${this.servers.map((server) => `${server.host}#${server.port}`).join(', ')}` };
  }

  private async tryServer(server: DnsServer, name: string, type: RecordType, timeoutMs: number): Promise<ExchangeOutcome> {
    const id = this.randomInt(65536);
    const outgoing: OutgoingQuery = { id, name, type, packet: encodeQuery(id, name, type, this.dnssecOk) };
    const started = this.clock.now();
    const udp = await udpExchange({ server, query: outgoing, timeoutMs }, this.clock, this.randomInt);
    if (udp.kind !== 'response' || !udp.message.truncated) return udp;
    const remainingMs = timeoutMs - (this.clock.now() - started);
    if (remainingMs <= 0) return { kind: 'timeout' };
    return tcpExchange({ server, query: outgoing, timeoutMs: remainingMs }, this.clock);
  }
}
