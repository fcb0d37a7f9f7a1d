// Runs delivery jobs: per-destination queues of transactions, started as
// jobs (several messages, one connection where the transport can) within the
// session limits of their lane (a route shared by destinations, or the destination
// itself) and its pacing — and of its provider, looked up before its first session;
// matches the transport's reports to transactions and tells the provider limits of throttling.

import type { Logger } from 'pino';
import type { Clock, Timer } from '../core/clock.js';
import { throttleOf } from '../delivery/throttle-reply.js';
import type { AttemptInfo, OutboundMessage, RecipientOutcome, ReportOutcomes, Transport } from '../delivery/types.js';
import type { DestinationLimits } from './destination-limits.js';
import type { Transaction } from './grouping.js';
import { ProviderDirectory } from './provider-directory.js';

export interface DispatcherOptions {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly limits: DestinationLimits;
  readonly maxMessagesPerJob: number;
  /** How long a job whose messages are done keeps its session for a message queued later (0: it ends at once). */
  readonly sessionReuseMs?: number;
  /** Records one transaction's outcomes (all its recipients) durably; never rejects. */
  readonly record: (transaction: Transaction, outcomes: ReadonlyMap<string, RecipientOutcome>, info: AttemptInfo) => Promise<void>;
  /** A transaction is over (every recipient recorded); `aborted`: its job was cut short by stop before it was reported. */
  readonly done: (transaction: Transaction, result: { readonly aborted: boolean }) => void;
}

/** A job whose session waits for another message of its lane (delivery.connectionReuseTime). */
interface IdleSession {
  /** Hands it a transaction, or none: the wait is over. */
  readonly finish: (transaction?: Transaction) => void;
}

const NOT_REPORTED = '451 4.3.0 delivery attempt ended without an outcome';
const ABORTED = '451 4.3.0 delivery interrupted by shutdown';

export class Dispatcher {
  private readonly options: DispatcherOptions;
  private readonly queues = new Map<string, Transaction[]>();
  private readonly controllers = new Set<AbortController>();
  private readonly jobs = new Set<Promise<void>>();
  private readonly resumeTimers = new Map<string, Timer>();
  private readonly lookups = new Set<Promise<void>>();
  /** Idle sessions by lane key, oldest first. */
  private readonly idleSessions = new Map<string, IdleSession[]>();
  private readonly directory: ProviderDirectory | undefined;
  private stopped = false;

  constructor(options: DispatcherOptions) {
    this.options = options;
    // The transport knows the routes: destinations that take one route share its limits.
    const { transport } = options;
    options.limits.useLanes((destination) => transport.lane?.(destination));
    // ... and the providers of MX destinations: their sessions count under the provider too.
    const lookup = transport.provider?.bind(transport);
    this.directory = lookup === undefined ? undefined : new ProviderDirectory({ lookup, clock: options.clock, logger: options.logger });
    if (this.directory !== undefined) options.limits.useProviders(this.directory);
  }

  get queued(): number {
    let count = 0;
    for (const queue of this.queues.values()) count += queue.length;
    return count;
  }

  /** Jobs whose session waits for another message. */
  get idleSessionCount(): number {
    let count = 0;
    for (const list of this.idleSessions.values()) count += list.length;
    return count;
  }

  /** True while a job runs. */
  get busy(): boolean {
    return this.jobs.size > 0 || this.lookups.size > 0;
  }

  add(transactions: readonly Transaction[]): void {
    for (const transaction of transactions) {
      const queue = this.queues.get(transaction.destination);
      if (queue === undefined) this.queues.set(transaction.destination, [transaction]);
      else queue.push(transaction);
    }
    this.dispatch();
  }

  /** Takes a message's transactions that have not started out of the queues. */
  withdraw(messageId: string): Transaction[] {
    const taken: Transaction[] = [];
    for (const [destination, queue] of this.queues) {
      const kept = queue.filter((transaction) => transaction.message.id !== messageId);
      taken.push(...queue.filter((transaction) => transaction.message.id === messageId));
      if (kept.length === 0) this.queues.delete(destination);
      else this.queues.set(destination, kept);
    }
    return taken;
  }

  /** The destinations where a message has transactions waiting. */
  waitingDestinations(messageId: string): string[] {
    return [...this.queues].filter(([, queue]) => queue.some((transaction) => transaction.message.id === messageId)).map(([destination]) => destination);
  }

  /** Starts jobs for queued transactions as the limits allow, destinations taking turns. */
  dispatch(): void {
    if (this.stopped) return;
    const { limits, clock, maxMessagesPerJob } = this.options;
    const nowMs = clock.now();
    for (const [destination, queue] of [...this.queues]) {
      this.handToIdle(destination, queue, nowMs);
      if (queue.length === 0) {
        this.queues.delete(destination);
        continue;
      }
      if (limits.saturated()) {
        // Sessions that only wait make room for destinations that have mail.
        this.endIdleSessions();
        return;
      }
      if (limits.needsProvider(destination, nowMs)) {
        this.lookUpProvider(destination);
        continue;
      }
      while (queue.length > 0 && limits.canStart(destination, nowMs)) {
        const granted = limits.grant(destination, Math.min(queue.length, Math.max(1, maxMessagesPerJob)), nowMs);
        if (granted === 0) break;
        this.start(destination, queue.splice(0, granted));
      }
      // Re-inserted at the back, so destinations take turns for free sessions.
      this.queues.delete(destination);
      if (queue.length === 0) continue;
      this.queues.set(destination, queue);
      const pausedUntilMs = limits.pausedUntilMs(destination, nowMs);
      if (pausedUntilMs !== undefined) this.armResume(destination, pausedUntilMs);
      // Held back by a limit it shares with other lanes (its provider's): their idle sessions make room.
      else if (!limits.canStart(destination, nowMs) && !limits.laneFull(destination)) this.endIdleSessions(limits.laneKey(destination));
    }
  }

  /** No new jobs from now on; returns the transactions that never started. */
  stop(): Transaction[] {
    this.stopped = true;
    this.directory?.stop();
    this.endIdleSessions();
    for (const timer of this.resumeTimers.values()) timer.cancel();
    this.resumeTimers.clear();
    const abandoned = [...this.queues.values()].flat();
    this.queues.clear();
    return abandoned;
  }

  /** Aborts the running jobs (their remaining transactions are reported transient). */
  abortRunning(): void {
    for (const controller of this.controllers) controller.abort();
  }

  /** Resolves when no job is running. */
  async idle(): Promise<void> {
    while (this.jobs.size > 0 || this.lookups.size > 0) await Promise.all([...this.jobs, ...this.lookups]);
  }

  /** Looks up the destination's provider, then dispatches again (its queue waits meanwhile). */
  private lookUpProvider(destination: string): void {
    if (this.directory === undefined) return;
    const lookup = this.directory.lookUp(destination);
    if (this.lookups.has(lookup)) return;
    this.lookups.add(lookup);
    void lookup.finally(() => {
      this.lookups.delete(lookup);
      this.dispatch();
    });
  }

  private start(destination: string, transactions: Transaction[]): void {
    const provider = this.options.limits.acquire(destination, this.options.clock.now());
    const job = this.run(destination, transactions, provider).finally(() => {
      this.jobs.delete(job);
      this.dispatch();
    });
    this.jobs.add(job);
  }

  private async run(destination: string, transactions: Transaction[], provider: string | undefined): Promise<void> {
    const { transport, clock, logger, limits } = this.options;
    const controller = new AbortController();
    this.controllers.add(controller);
    const startedMs = clock.now();
    const unreported = [...transactions];
    let outcomeCount = 0;
    let answered = false;
    let delivered = false;
    let throttled: { readonly reason: string; readonly reply: string } | undefined;
    /** Records a transaction's outcomes, then it is over (its message settles while the session goes on). */
    const record = async (transaction: Transaction, outcomes: ReadonlyMap<string, RecipientOutcome>, info: AttemptInfo): Promise<void> => {
      for (const outcome of outcomes.values()) {
        outcomeCount += 1;
        if (outcome.kind !== 'transient' || outcome.remote) answered = true;
        if (outcome.kind === 'delivered') delivered = true;
        const throttle = throttled === undefined ? throttleOf(outcome) : undefined;
        if (throttle !== undefined) throttled = { reason: throttle.reason, reply: outcome.reply };
      }
      await this.options.record(transaction, outcomes, info);
      this.options.done(transaction, { aborted: controller.signal.aborted });
    };
    const report: ReportOutcomes = async (messageId, outcomes, info) => {
      const transaction = takeMatching(unreported, messageId, outcomes);
      if (transaction === undefined) {
        logger.warn({ qid: messageId, destination }, 'transport reported a message not in its job');
        return;
      }
      await record(transaction, completeOutcomes(transaction.message, outcomes, NOT_REPORTED), info);
    };
    /** A transaction that joins the running job (a message queued while it runs rides on its session). */
    const adopt = (next: Transaction): OutboundMessage => {
      unreported.push(next);
      return next.message;
    };
    /** A message for this destination (or another of its lane: the same route) queued while the job runs. */
    const more = (): OutboundMessage | undefined => {
      if (this.stopped || controller.signal.aborted) return undefined;
      const next = this.takeForLane(destination);
      return next === undefined ? undefined : adopt(next);
    };
    const queued = (): boolean => !this.stopped && !controller.signal.aborted && this.laneQueue(destination) !== undefined;
    const awaitMore = (signal: AbortSignal): Promise<OutboundMessage | undefined> => this.waitIdle(destination, signal, adopt);
    try {
      const job = { destination, messages: transactions.map((transaction) => transaction.message), more, queued, awaitMore };
      await transport.run(job, report, controller.signal);
    } catch (error) {
      logger.error({ destination, err: error }, 'transport failed');
    }
    const aborted = controller.signal.aborted;
    const info: AttemptInfo = { mx: undefined, address: undefined, tls: null, durationMs: clock.now() - startedMs };
    for (const transaction of unreported.splice(0)) {
      await record(transaction, completeOutcomes(transaction.message, new Map(), aborted ? ABORTED : NOT_REPORTED), info);
    }
    this.controllers.delete(controller);
    limits.release(destination, provider, clock.now());
    if (!aborted) {
      const nowMs = clock.now();
      limits.recordSession(destination, outcomeCount > 0 && !answered, nowMs);
      if (provider !== undefined && throttled !== undefined) limits.providers?.recordThrottle(provider, throttled.reason, throttled.reply, nowMs);
      else if (provider !== undefined && delivered) limits.providers?.recordSuccess(provider, nowMs);
      const pausedUntilMs = limits.pausedUntilMs(destination, nowMs);
      if (pausedUntilMs !== undefined) logger.warn({ destination, until: new Date(pausedUntilMs).toISOString() }, 'destination paused');
    }
  }

  /**
   * Keeps a job's session for up to sessionReuseMs: resolves with a transaction of its lane
   * queued meanwhile (adopted into the job), or undefined when none came, on stop or abort.
   */
  private waitIdle(destination: string, signal: AbortSignal, adopt: (next: Transaction) => OutboundMessage): Promise<OutboundMessage | undefined> {
    const waitMs = this.options.sessionReuseMs ?? 0;
    if (waitMs <= 0 || this.stopped || signal.aborted) return Promise.resolve(undefined);
    const key = this.options.limits.laneKey(destination);
    return new Promise((resolve) => {
      let waiting = true;
      const idle: IdleSession = {
        finish: (transaction) => {
          if (!waiting) return;
          waiting = false;
          timer.cancel();
          signal.removeEventListener('abort', onAbort);
          const list = this.idleSessions.get(key) ?? [];
          const index = list.indexOf(idle);
          if (index >= 0) list.splice(index, 1);
          if (list.length === 0) this.idleSessions.delete(key);
          resolve(transaction === undefined ? undefined : adopt(transaction));
        },
      };
      const onAbort = (): void => idle.finish();
      const timer = this.options.clock.setTimer(waitMs, () => idle.finish());
      signal.addEventListener('abort', onAbort, { once: true });
      const list = this.idleSessions.get(key);
      if (list === undefined) this.idleSessions.set(key, [idle]);
      else list.push(idle);
    });
  }

  /** Hands queued transactions of `destination` to idle sessions of its lane, as the lane grants them. */
  private handToIdle(destination: string, queue: Transaction[], nowMs: number): void {
    const idle = this.idleSessions.get(this.options.limits.laneKey(destination));
    while (idle !== undefined && idle.length > 0 && queue.length > 0) {
      if (this.options.limits.grant(destination, 1, nowMs) === 0) return;
      (idle[0] as IdleSession).finish(queue.shift());
    }
  }

  /** Ends the waits of idle sessions (except those of lane `keep`). */
  private endIdleSessions(keep?: string): void {
    for (const [key, list] of [...this.idleSessions]) if (key !== keep) for (const idle of [...list]) idle.finish();
  }

  /** `destination` when it has transactions queued, else a destination of its lane that has. */
  private laneQueue(destination: string): string | undefined {
    const { limits } = this.options;
    if (this.queues.has(destination)) return destination;
    const laneKey = limits.laneKey(destination);
    return laneKey === destination ? undefined : [...this.queues.keys()].find((other) => limits.laneKey(other) === laneKey);
  }

  /** The next queued transaction of `destination`, else of a destination in its lane, if the lane grants one now. */
  private takeForLane(destination: string): Transaction | undefined {
    const { limits, clock } = this.options;
    const from = this.laneQueue(destination);
    if (from === undefined || limits.grant(from, 1, clock.now()) === 0) return undefined;
    const queue = this.queues.get(from) as Transaction[];
    const next = queue.shift();
    if (queue.length === 0) this.queues.delete(from);
    return next;
  }

  /** One timer per lane (a route's destinations share its pause). */
  private armResume(destination: string, untilMs: number): void {
    const key = this.options.limits.laneKey(destination);
    if (this.resumeTimers.has(key)) return;
    const timer = this.options.clock.setTimer(untilMs - this.options.clock.now(), () => {
      this.resumeTimers.delete(key);
      this.dispatch();
    });
    this.resumeTimers.set(key, timer);
  }
}

/** Removes and returns the first unreported transaction of `messageId` whose recipients include every reported one. */
function takeMatching(unreported: Transaction[], messageId: string, outcomes: ReadonlyMap<string, RecipientOutcome>): Transaction | undefined {
  const ofMessage = (transaction: Transaction): boolean => transaction.message.id === messageId;
  let index = unreported.findIndex(
    (transaction) => ofMessage(transaction) && [...outcomes.keys()].every((address) => transaction.message.recipients.includes(address)),
  );
  if (index < 0) index = unreported.findIndex(ofMessage);
  if (index < 0) return undefined;
  return unreported.splice(index, 1)[0];
}

/** The outcome of every recipient of the transaction (only those): missing ones become local transient failures. */
function completeOutcomes(message: OutboundMessage, outcomes: ReadonlyMap<string, RecipientOutcome>, missingReply: string): Map<string, RecipientOutcome> {
  const complete = new Map<string, RecipientOutcome>();
  for (const address of message.recipients) {
    complete.set(address, outcomes.get(address) ?? { kind: 'transient', reply: missingReply, status: '4.3.0', remote: false, remoteMta: undefined });
  }
  return complete;
}
