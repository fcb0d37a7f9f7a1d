// The queue runner: loads the spool, runs each message at its next attempt in
// delivery rounds (grouped by destination, within session limits), records
// every outcome durably, retries, expires and bounces, and stops gracefully.

import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { AttemptInfo, RecipientOutcome } from '../delivery/types.js';
import { validateId } from '../spool/queue-id.js';
import type { EnvelopeRecord } from '../spool/types.js';
import { baseRetryDelayMs } from './backoff.js';
import { DestinationLimits } from './destination-limits.js';
import { Dispatcher } from './dispatcher.js';
import { DueQueue } from './due-queue.js';
import { planTransactions, type Transaction } from './grouping.js';
import { allFinal, applyOutcomes, unreportedFailures } from './outcomes.js';
import { Round, type RoundMode } from './rounds.js';
import { logOutcomes } from './outcome-log.js';
import { plannedNextAttemptMs, sendOwedNotices, settleRecord, type SettlementContext } from './settlement.js';
import type { SchedulerOptions, SchedulerStatus } from './types.js';

const DEFAULT_MAX_MESSAGES_PER_JOB = 20;
/**
 * Rounds (messages being read, waiting for a session, delivered or settled) at
 * once, from the due queue: a flush of a million deferred messages takes them a
 * few thousand at a time, so memory stays bounded and accepting goes on.
 * Messages just received start their round at once regardless.
 */
export const DEFAULT_MAX_ACTIVE_ROUNDS = 5000;
/** The start yields to the event loop after scheduling this many messages. */
const START_BATCH = 50_000;

export class DeliveryScheduler {
  private readonly options: SchedulerOptions;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly due: DueQueue;
  private readonly limits: DestinationLimits;
  private readonly dispatcher: Dispatcher;
  private readonly settlement: SettlementContext;
  private readonly rounds = new Map<string, Round>();
  /** Records handed over at commit, taken by their first round instead of a read. */
  private readonly committed = new Map<string, EnvelopeRecord>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly maxActiveRounds: number;
  private started = false;
  private stopping: Promise<void> | undefined;

  constructor(options: SchedulerOptions) {
    this.options = options;
    this.clock = options.clock;
    this.logger = options.logger.child({ component: 'scheduler' });
    const { delivery } = options;
    if (delivery.retryDelaysMs.length === 0) throw new RangeError('delivery.retryDelaysMs is empty');
    this.due = new DueQueue(this.clock, () => this.pump());
    this.maxActiveRounds = options.maxActiveRounds ?? DEFAULT_MAX_ACTIVE_ROUNDS;
    this.limits = new DestinationLimits({
      maxConcurrency: delivery.maxConcurrency,
      concurrencyPerDomain: delivery.concurrencyPerDomain,
      pauseDelayMs: (failures) => baseRetryDelayMs(failures, delivery.retryDelaysMs),
      providers: options.providers,
    });
    this.dispatcher = new Dispatcher({
      transport: options.transport,
      clock: this.clock,
      logger: this.logger,
      limits: this.limits,
      maxMessagesPerJob: options.maxMessagesPerJob ?? DEFAULT_MAX_MESSAGES_PER_JOB,
      ...(options.sessionReuseMs === undefined ? {} : { sessionReuseMs: options.sessionReuseMs }),
      record: (transaction, outcomes, info) => this.recordOutcomes(transaction, outcomes, info),
      done: (transaction, result) => this.transactionDone(transaction.message.id, result.aborted),
    });
    this.settlement = {
      spool: options.spool,
      buildDsn: options.buildDsn,
      hostname: options.hostname,
      logger: this.logger,
      random: options.random,
      settings: delivery,
      queued: (id) => this.enqueued(id),
      observer: options.observer,
    };
  }

  /** Schedules every message in the spool at its next attempt (overdue ones at once), from the spool's memory. */
  async start(): Promise<void> {
    if (this.started) throw new Error('scheduler already started');
    this.started = true;
    let messages = 0;
    for (const entry of this.options.spool.scheduleEntries()) {
      messages += 1;
      // Let sessions and the first deliveries run while a large queue is being scheduled.
      if (messages % START_BATCH === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.stopping !== undefined) return;
      if (this.rounds.has(entry.id) || this.due.has(entry.id)) continue;
      const nextMs = entry.nextAttemptMs;
      this.due.schedule(entry.id, Number.isNaN(nextMs) || !entry.pending ? this.clock.now() : nextMs);
    }
    this.logger.info({ messages }, 'scheduler started');
    this.pump();
  }

  /** A newly committed message: delivered at once (even with the due queue's rounds at their limit). */
  enqueued(id: string, record?: EnvelopeRecord): void {
    if (this.stopping !== undefined || this.rounds.has(id)) return;
    // The record just committed is what a read would return: its round need not read it again.
    if (record !== undefined && this.started) this.committed.set(id, record);
    if (this.started && this.rounds.size >= this.maxActiveRounds) {
      this.due.remove(id);
      this.track(this.prepareRounds([this.beginRound(id, 'deliver')]));
      return;
    }
    this.due.schedule(id, this.clock.now());
    this.pump();
  }

  /** Makes one deferred message (false when unknown) or all due now, lifting destination pauses. */
  async flush(id?: string): Promise<boolean> {
    const nowMs = this.clock.now();
    if (id === undefined) {
      this.limits.resume();
      this.due.rescheduleAll(nowMs);
      this.dispatcher.dispatch();
      this.pump();
      return true;
    }
    if (!validateId(id)) return false;
    const active = this.rounds.get(id);
    if (active !== undefined) {
      active.flushRequested = true;
      for (const destination of this.dispatcher.waitingDestinations(id)) this.limits.resume(destination);
      this.dispatcher.dispatch();
      return true;
    }
    if (!this.due.has(id) && (await this.readRecord(id)) === undefined) return false;
    if (!this.rounds.has(id)) {
      this.due.schedule(id, this.clock.now());
      this.pump();
    }
    const round = this.rounds.get(id);
    if (round !== undefined) round.flushRequested = true;
    return true;
  }

  /** Removes a message without a DSN; one being delivered is removed when its attempt returns. */
  async deleteMessage(id: string): Promise<boolean> {
    return this.operate(id, 'delete');
  }

  /** Fails every pending recipient (5.0.0, cancelled by the operator) and sends the DSN, unless the sender is <>. */
  async bounceMessage(id: string): Promise<boolean> {
    return this.operate(id, 'bounce');
  }

  /** No new sessions; running ones get `graceMs`, then are aborted (their recipients stay pending). */
  stop(graceMs: number): Promise<void> {
    this.stopping ??= this.shutdown(graceMs);
    return this.stopping;
  }

  /** Resolves when no session runs and no round is being read or settled (rounds may still wait for a session). */
  async idle(): Promise<void> {
    while (this.tasks.size > 0 || this.dispatcher.busy) {
      await Promise.all(this.tasks);
      await this.dispatcher.idle();
    }
  }

  status(): SchedulerStatus {
    const nowMs = this.clock.now();
    return {
      queued: this.due.size,
      active: this.rounds.size,
      running: this.limits.running,
      runningByDestination: this.limits.runningPerDestination(),
      idleSessions: this.dispatcher.idleSessionCount,
      paused: this.limits.paused(nowMs),
      stopping: this.stopping !== undefined,
    };
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.due.close();
    for (const transaction of this.dispatcher.stop()) this.transactionDone(transaction.message.id, true);
    const grace = this.clock.setTimer(graceMs, () => this.dispatcher.abortRunning());
    await this.dispatcher.idle();
    grace.cancel();
    while (this.tasks.size > 0) await Promise.all(this.tasks);
    this.logger.info({ queued: this.due.size }, 'scheduler stopped');
  }

  /** Starts a round for every due message, up to the limit of active rounds (reading them together, so due messages share jobs). */
  private pump(): void {
    if (!this.started || this.stopping !== undefined) return;
    const room = Math.max(0, this.maxActiveRounds - this.rounds.size);
    const rounds = this.due.takeDue(this.clock.now(), room).map((id) => this.beginRound(id, 'deliver'));
    if (rounds.length > 0) this.track(this.prepareRounds(rounds));
  }

  private beginRound(id: string, mode: RoundMode): Round {
    const round = new Round(id, mode);
    this.rounds.set(id, round);
    this.due.remove(id);
    return round;
  }

  private async prepareRounds(rounds: readonly Round[]): Promise<void> {
    const records = await Promise.all(
      rounds.map((round) => {
        const handed = this.committed.get(round.id);
        this.committed.delete(round.id);
        const delivering = !round.deleteRequested && !round.bounceRequested;
        return handed !== undefined && delivering ? handed : this.readRecord(round.id);
      }),
    );
    const transactions: Transaction[] = [];
    rounds.forEach((round, index) => {
      const record = records[index];
      const planned = this.planRound(round, record);
      if (planned.length === 0) this.track(this.settle(round));
      if (round.flushRequested) for (const { destination } of planned) this.limits.resume(destination);
      transactions.push(...planned);
    });
    this.dispatcher.add(transactions);
  }

  /** The record, or undefined when it is gone or cannot be read (logged). */
  private async readRecord(id: string): Promise<EnvelopeRecord | undefined> {
    try {
      return await this.options.spool.read(id);
    } catch (error) {
      this.logger.error({ qid: id, err: error }, 'cannot read message');
      return undefined;
    }
  }

  /** The round's transactions; none when the message is gone, cancelled, final or the scheduler stops. */
  private planRound(round: Round, record: EnvelopeRecord | undefined): Transaction[] {
    round.found = record !== undefined;
    round.phase = 'waiting';
    if (record === undefined || round.cancelled || this.stopping !== undefined) return [];
    const { spool, delivery, hostname } = this.options;
    const transactions = planTransactions(record, (id) => spool.openBody(id), delivery.recipientsPerTransaction, hostname);
    round.outstanding = transactions.length;
    round.record = transactions.length === 1 ? record : undefined;
    return transactions;
  }

  /** Runs an operator request on a message, after any settling round for it. */
  private async operate(id: string, mode: 'delete' | 'bounce'): Promise<boolean> {
    if (!validateId(id)) return false;
    let active = this.rounds.get(id);
    while (active !== undefined && active.phase === 'settling') {
      await active.finished;
      active = this.rounds.get(id);
    }
    if (active !== undefined) {
      if (mode === 'delete') active.deleteRequested = true;
      else active.bounceRequested = true;
      this.withdraw(active);
      await active.finished;
      return active.found;
    }
    const round = this.beginRound(id, mode);
    this.track(this.prepareRounds([round]));
    await round.finished;
    return round.found;
  }

  /** Takes the round's transactions that have not started back; settles it when none is running. */
  private withdraw(round: Round): void {
    const taken = this.dispatcher.withdraw(round.id);
    round.outstanding -= taken.length;
    if (round.phase === 'waiting' && round.outstanding === 0) this.track(this.settle(round));
  }

  /** Records a transaction's outcomes durably before the transport goes on; never rejects. */
  private async recordOutcomes(transaction: Transaction, outcomes: ReadonlyMap<string, RecipientOutcome>, info: AttemptInfo): Promise<void> {
    const { id } = transaction.message;
    const nowMs = this.clock.now();
    const round = this.rounds.get(id);
    let record: EnvelopeRecord;
    try {
      await this.options.observer?.outcomesDecided?.(id, outcomes, info);
    } catch (error) {
      this.logger.error({ qid: id, err: error }, 'cannot record delivery events');
    }
    try {
      record = (await this.completeAtOnce(round, outcomes, nowMs)) ?? (await this.options.spool.update(id, (current) => applyOutcomes(current, outcomes, nowMs, info)));
      if (round !== undefined) round.record = undefined;
    } catch (error) {
      this.logger.error({ qid: id, err: error }, 'cannot record delivery outcome');
      return;
    }
    const anyTransient = [...outcomes.values()].some((outcome) => outcome.kind === 'transient');
    if (round !== undefined) {
      round.attempted = true;
      if (anyTransient) round.plannedNextAttemptMs ??= plannedNextAttemptMs(this.settlement, record, nowMs);
    }
    logOutcomes(this.logger, record, outcomes, info, round?.plannedNextAttemptMs);
    for (const [rcpt, outcome] of outcomes) {
      this.options.observer?.recipientOutcome(outcome.kind === 'transient' ? 'deferred' : outcome.kind === 'permanent' ? 'failed' : 'delivered', info.tls !== null);
      if (outcome.kind === 'permanent') this.options.observer?.permanentFailure?.(rcpt, outcome.status, outcome.reply);
    }
  }

  /**
   * When the round's last transaction delivered to every recipient still
   * pending, removing the message is the durable record of it (a crash before
   * the removal re-sends, exactly as before an update): one file operation
   * instead of an update, a read and a removal. Undefined when that is not the case.
   */
  private async completeAtOnce(round: Round | undefined, outcomes: ReadonlyMap<string, RecipientOutcome>, nowMs: number): Promise<EnvelopeRecord | undefined> {
    if (round === undefined || round.outstanding !== 1 || round.cancelled) return undefined;
    if (![...outcomes.values()].every((outcome) => outcome.kind === 'delivered')) return undefined;
    // With one transaction and no outcome recorded before, the round's record is still the one on disk.
    const current = round.record ?? (await this.options.spool.read(round.id));
    if (current === undefined) return undefined;
    const applied = applyOutcomes(current, outcomes, nowMs);
    if (!allFinal(applied) || unreportedFailures(applied).length > 0) return undefined;
    // Delivered to everyone: the session need not wait for the removal's fsync (Postfix does not fsync it either).
    await this.options.spool.remove(round.id, { durable: false });
    round.completed = applied;
    return applied;
  }

  private transactionDone(id: string, aborted: boolean): void {
    const round = this.rounds.get(id);
    if (round === undefined) return;
    round.outstanding -= 1;
    if (aborted) round.aborted = true;
    if (round.outstanding === 0 && round.phase === 'waiting') this.track(this.settle(round));
  }

  /** Ends a round: deletes, or settles the record, queues owed DSNs and removes or reschedules the message. */
  private async settle(round: Round): Promise<void> {
    round.phase = 'settling';
    const { id } = round;
    const { spool } = this.options;
    try {
      if (!round.found) return;
      if (round.completed !== undefined) {
        this.logMessageDone(round.completed);
        return;
      }
      if (round.deleteRequested) {
        await spool.remove(id);
        this.logger.info({ qid: id }, 'message deleted');
        return;
      }
      const nowMs = this.clock.now();
      // A message that is done and owes no DSN is removed at once: rewriting its state first would only cost an fsync.
      const current = await spool.read(id);
      const done = current === undefined ? undefined : settleRecord(this.settlement, current, round, nowMs);
      if (done !== undefined && allFinal(done) && unreportedFailures(done).length === 0) {
        await spool.remove(id);
        this.logMessageDone(done);
        return;
      }
      const settled = await spool.update(id, (latest) => settleRecord(this.settlement, latest, round, nowMs));
      const final = allFinal(settled);
      const record = await sendOwedNotices(this.settlement, settled, nowMs, final);
      if (final) {
        await spool.remove(id);
        this.logMessageDone(record);
        return;
      }
      this.due.schedule(id, Date.parse(record.nextAttempt));
    } catch (error) {
      this.logger.error({ qid: id, err: error }, 'cannot settle message');
      if (!round.deleteRequested) this.due.schedule(id, this.clock.now() + baseRetryDelayMs(1, this.options.delivery.retryDelaysMs));
    } finally {
      this.rounds.delete(id);
      round.finish();
      this.pump();
    }
  }

  private logMessageDone(record: EnvelopeRecord): void {
    const count = (state: string): number => record.recipients.filter((recipient) => recipient.state === state).length;
    this.logger.info({ qid: record.id, delivered: count('delivered'), failed: count('failed') }, 'message done');
  }

  private track(task: Promise<void>): void {
    const tracked = task.catch((error: unknown) => this.logger.error({ err: error }, 'scheduler task failed'));
    this.tasks.add(tracked);
    void tracked.finally(() => this.tasks.delete(tracked));
  }
}
