// The outbound SMTP client behind the Transport seam: walks the next-hop plan
// (RFC 5321 §5.1: hosts by preference, each address, at most 5 addresses),
// reuses one session for a job's messages and reports each message's outcomes.

import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { DeliveryPlan, PlanSuccess } from '../dns/next-hop.js';
import { ConnectError, type Connector } from './connector.js';
import { abortedOutcome, allRecipients, connectFailureOutcome, localOutcome, planFailureOutcome, type Peer } from './outcomes.js';
import { DEFAULT_REPLY_LIMITS, type ReplyLimits } from './reply-reader.js';
import { openSession, type OpenSession, type SessionSetup } from './session-setup.js';
import type { TlsResult } from './smtp-connection.js';
import { runTransaction, type TransactionTimeouts } from './transaction.js';
import type { AttemptInfo, DeliveryJob, OutboundMessage, RecipientOutcome, ReportOutcomes, Transport } from './types.js';

/** RFC 5321 §4.5.3.2 defaults for the optional timeouts. */
export const DEFAULT_DATA_INIT_TIMEOUT_MS = 2 * 60_000;
export const DEFAULT_DATA_BLOCK_TIMEOUT_MS = 3 * 60_000;
/** Like Postfix's smtp_mx_address_limit. */
export const DEFAULT_MAX_ADDRESSES_PER_ATTEMPT = 5;
export const DEFAULT_MAX_MESSAGES_PER_SESSION = 100;

export interface SmtpTimeouts {
  readonly connectTimeoutMs: number;
  /** Greeting, EHLO/HELO, STARTTLS and the handshake, MAIL, RCPT, RSET, QUIT. */
  readonly commandTimeoutMs: number;
  readonly dataInitTimeoutMs?: number;
  readonly dataBlockTimeoutMs?: number;
  readonly dataDoneTimeoutMs: number;
}

export interface SmtpTransportOptions {
  /** Our EHLO name. */
  readonly hostname: string;
  /** The next-hop plan for a destination (planDelivery with the real resolver, in main). */
  readonly planner: (destination: string, signal: AbortSignal) => Promise<DeliveryPlan>;
  readonly connector: Connector;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timeouts: SmtpTimeouts;
  readonly maxMessagesPerSession?: number;
  readonly maxAddressesPerAttempt?: number;
  readonly tls?: SessionSetup['tls'];
  readonly replyLimits?: ReplyLimits;
}

/** Why a host was left, with what to tell the messages if no other host does better. */
interface HostFailure {
  readonly outcome: RecipientOutcome;
  readonly info: AttemptInfo;
}

interface SessionRun {
  /** At least one message got its final outcomes: trying the same address again makes progress. */
  readonly progressed: boolean;
  readonly failure: HostFailure | undefined;
  readonly tlsFailed: boolean;
}

export function describeTls(tls: TlsResult | undefined): string | null {
  return tls === undefined ? null : `${tls.protocol} ${tls.cipher} (${tls.verified ? 'verified' : 'unverified'})`;
}

function candidates(plan: PlanSuccess, limit: number): Peer[] {
  return plan.hosts.flatMap((host) => host.addresses.map((address) => ({ host: host.host, address, port: host.port }))).slice(0, limit);
}

export class SmtpTransport implements Transport {
  readonly #options: SmtpTransportOptions;
  readonly #log: Logger;
  readonly #setup: SessionSetup;
  readonly #timeouts: TransactionTimeouts;

  constructor(options: SmtpTransportOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'delivery' });
    this.#setup = { hostname: options.hostname, clock: options.clock, replyLimits: options.replyLimits ?? DEFAULT_REPLY_LIMITS, commandTimeoutMs: options.timeouts.commandTimeoutMs, tls: options.tls ?? {} };
    this.#timeouts = {
      commandTimeoutMs: options.timeouts.commandTimeoutMs,
      dataInitTimeoutMs: options.timeouts.dataInitTimeoutMs ?? DEFAULT_DATA_INIT_TIMEOUT_MS,
      dataBlockTimeoutMs: options.timeouts.dataBlockTimeoutMs ?? DEFAULT_DATA_BLOCK_TIMEOUT_MS,
      dataDoneTimeoutMs: options.timeouts.dataDoneTimeoutMs,
    };
  }

  async run(job: DeliveryJob, report: ReportOutcomes, signal: AbortSignal): Promise<void> {
    const queue = [...job.messages];
    if (queue.length === 0) return;
    const startMs = this.#options.clock.now();
    const plan = await this.#plan(job.destination, signal);
    if (!plan.ok) {
      this.#log.info({ destination: job.destination, status: plan.status, reason: plan.reason }, 'no delivery plan');
      await this.#reportAll(queue, report, { outcome: planFailureOutcome(plan), info: { mx: undefined, address: undefined, tls: null, durationMs: this.#options.clock.now() - startMs } });
      return;
    }
    const peers = candidates(plan, this.#options.maxAddressesPerAttempt ?? DEFAULT_MAX_ADDRESSES_PER_ATTEMPT);
    const more = job.more;
    /** True when a message is waiting: the job's own, else one queued meanwhile for the same destination. */
    const hasNext = (): boolean => {
      if (queue.length === 0 && more !== undefined) {
        const next = more();
        if (next !== undefined) queue.push(next);
      }
      return queue.length > 0;
    };
    const plaintextHosts = new Set<string>();
    let last: HostFailure | undefined;
    for (let index = 0; index < peers.length && queue.length > 0 && !signal.aborted; ) {
      const peer = peers[index] as Peer;
      const run = await this.#session(peer, queue, report, signal, plaintextHosts.has(peer.host), hasNext);
      last = run.failure ?? last;
      if (run.tlsFailed && !plaintextHosts.has(peer.host)) {
        // Like Postfix's "may": a failed handshake retries this host once in plaintext.
        plaintextHosts.add(peer.host);
        continue;
      }
      if (!run.progressed || queue.length === 0) index += 1;
    }
    const fallback = { mx: undefined, address: undefined, tls: null, durationMs: this.#options.clock.now() - startMs };
    if (signal.aborted) await this.#reportAll(queue, report, { outcome: abortedOutcome(), info: last?.info ?? fallback });
    else await this.#reportAll(queue, report, last ?? { outcome: localOutcome('transient', 451, '4.4.3', `${job.destination}: no usable mail server address`), info: fallback });
  }

  async #plan(destination: string, signal: AbortSignal): Promise<DeliveryPlan> {
    try {
      return await this.#options.planner(destination, signal);
    } catch (error) {
      this.#log.error({ err: error, destination }, 'delivery plan failed');
      return { ok: false, domain: destination, permanent: false, status: '4.4.3', reason: `DNS lookup failed: ${errorMessage(error)}` };
    }
  }

  async #reportAll(messages: OutboundMessage[], report: ReportOutcomes, failure: HostFailure): Promise<void> {
    while (messages.length > 0) {
      const message = messages.shift() as OutboundMessage;
      await report(message.id, allRecipients(message.recipients, failure.outcome), failure.info);
    }
  }

  /** One connection to `peer`, carrying queued messages until done, the cap, or a failure. */
  async #session(peer: Peer, queue: OutboundMessage[], report: ReportOutcomes, signal: AbortSignal, plaintext: boolean, hasNext: () => boolean): Promise<SessionRun> {
    const startMs = this.#options.clock.now();
    const info = (tls: TlsResult | undefined, fromMs: number): AttemptInfo => ({ mx: peer.host, address: peer.address, tls: describeTls(tls), durationMs: this.#options.clock.now() - fromMs });
    let socket: Socket;
    try {
      socket = await this.#options.connector.connect({ host: peer.address, port: peer.port, timeoutMs: this.#options.timeouts.connectTimeoutMs, signal });
    } catch (error) {
      if (!(error instanceof ConnectError)) throw error;
      return this.#skip(peer, queue, { outcome: connectFailureOutcome(error, peer), info: info(undefined, startMs) }, false);
    }
    const opened = await openSession(socket, peer, this.#setup, signal, plaintext);
    if (!opened.ok) return this.#skip(peer, queue, { outcome: opened.outcome, info: info(undefined, startMs) }, opened.tlsFailed);
    this.#logSession(peer, opened.session, plaintext);
    return this.#carry(peer, opened.session, queue, report, signal, startMs, info, hasNext);
  }

  async #carry(
    peer: Peer,
    session: OpenSession,
    queue: OutboundMessage[],
    report: ReportOutcomes,
    signal: AbortSignal,
    startMs: number,
    info: (tls: TlsResult | undefined, fromMs: number) => AttemptInfo,
    hasNext: () => boolean,
  ): Promise<SessionRun> {
    const { connection } = session;
    const maxMessages = this.#options.maxMessagesPerSession ?? DEFAULT_MAX_MESSAGES_PER_SESSION;
    let usable = true;
    let progressed = false;
    let failure: HostFailure | undefined;
    try {
      for (let sent = 0; sent < maxMessages && usable && !signal.aborted && hasNext(); sent += 1) {
        const messageStartMs = sent === 0 ? startMs : this.#options.clock.now();
        if (sent > 0 && !(await this.#reset(session))) break;
        const message = queue[0] as OutboundMessage;
        const result = await runTransaction(connection, message, session.extensions, peer, this.#timeouts);
        usable = result.sessionUsable && connection.failed === undefined;
        const attempt = info(session.tls, messageStartMs);
        if (result.kind === 'skip-host') {
          failure = { outcome: result.outcome, info: attempt };
          this.#log.info({ qid: message.id, mx: peer.host, address: peer.address, tls: attempt.tls, reply: result.outcome.reply, durationMs: attempt.durationMs }, 'host skipped');
          break;
        }
        queue.shift();
        progressed = true;
        this.#logAttempt(message, result.outcomes, result.summary, attempt);
        await report(message.id, result.outcomes, attempt);
      }
    } finally {
      if (usable && connection.failed === undefined) await connection.quit(this.#timeouts.commandTimeoutMs);
      else connection.close();
    }
    return { progressed, failure, tlsFailed: false };
  }

  /** RSET between messages on a reused session (RFC 5321 §4.1.1.5); false when the session cannot go on. */
  async #reset(session: OpenSession): Promise<boolean> {
    try {
      const reply = await session.connection.command('RSET', this.#timeouts.commandTimeoutMs, 'RSET');
      return reply.code >= 200 && reply.code < 300;
    } catch {
      return false;
    }
  }

  #skip(peer: Peer, queue: readonly OutboundMessage[], failure: HostFailure, tlsFailed: boolean): SessionRun {
    this.#log.info({ qid: queue[0]?.id, mx: peer.host, address: peer.address, reply: failure.outcome.reply, durationMs: failure.info.durationMs, tlsFailed }, 'host skipped');
    return { progressed: false, failure, tlsFailed };
  }

  #logSession(peer: Peer, session: OpenSession, plaintext: boolean): void {
    const { tls, connection } = session;
    if (connection.discardedBytes > 0) this.#log.warn({ mx: peer.host, address: peer.address, discardedBytes: connection.discardedBytes }, 'discarded data sent with the STARTTLS reply');
    this.#log.info(
      { mx: peer.host, address: peer.address, tls: describeTls(tls), tlsVerifyError: tls?.verifyError, plaintextRetry: plaintext, tlsSkipped: session.tlsSkipped, pipelining: session.extensions.pipelining },
      'session open',
    );
  }

  #logAttempt(message: OutboundMessage, outcomes: ReadonlyMap<string, RecipientOutcome>, summary: string, attempt: AttemptInfo): void {
    const counts = { delivered: 0, transient: 0, permanent: 0 };
    for (const outcome of outcomes.values()) counts[outcome.kind] += 1;
    this.#log.info({ qid: message.id, mx: attempt.mx, address: attempt.address, tls: attempt.tls, reply: summary, durationMs: attempt.durationMs, ...counts }, 'delivery attempt');
  }
}
