// Settling a message after a delivery round: counts the attempt and sets the
// next one (retry schedule, capped at the expiry), expires it (RFC 3463 4.4.7)
// or cancels it, then queues the owed DSNs (RFC 3464): failures and one delay warning.

import type { Logger } from 'pino';
import type { EnvelopeRecord, RecipientRecord } from '../spool/types.js';
import { retryDelayMs } from './backoff.js';
import { delayWarningDue, expiresAtMs, isExpired, nextAttemptMs } from './expiry.js';
import { dsnRecipient, queueDsn, type NoticeContext } from './notices.js';
import { CANCELLED, EXPIRED, countAttempt, failPending, markDsnSent, pendingRecipients, unreportedFailures } from './outcomes.js';
import type { Round } from './rounds.js';
import type { DeliveryObserver, SchedulerSettings, SchedulerSpool } from './types.js';

export interface SettlementContext extends NoticeContext {
  readonly spool: SchedulerSpool;
  readonly settings: SchedulerSettings;
  readonly logger: Logger;
  /** Called with the id of each DSN committed to the spool. */
  readonly queued: (id: string) => void;
  readonly observer: DeliveryObserver | undefined;
}

/** The retry time after a failed attempt of `record` at `nowMs`. */
export function plannedNextAttemptMs(context: SettlementContext, record: EnvelopeRecord, nowMs: number): number {
  const { retryDelaysMs, maxQueueLifetimeMs } = context.settings;
  return nextAttemptMs(record, maxQueueLifetimeMs, nowMs, retryDelayMs(record.attempts + 1, retryDelaysMs, context.random));
}

/** The record after the round: cancelled, expired, rescheduled, or as it was when nothing was attempted. */
export function settleRecord(context: SettlementContext, record: EnvelopeRecord, round: Round, nowMs: number): EnvelopeRecord {
  if (round.bounceRequested) return failPending(record, CANCELLED, nowMs);
  if (pendingRecipients(record).length === 0 || !round.attempted || round.aborted) return record;
  if (isExpired(record, context.settings.maxQueueLifetimeMs, nowMs)) return failPending(record, EXPIRED, nowMs);
  return countAttempt(record, Math.max(round.plannedNextAttemptMs ?? plannedNextAttemptMs(context, record, nowMs), nowMs));
}

/**
 * Queues the DSNs the record owes: one for every failed recipient not yet
 * reported, one delay warning when due; marks them durably (skipped when
 * `final`: the record is about to be removed). Resolves with the record.
 */
export async function sendOwedNotices(context: SettlementContext, record: EnvelopeRecord, nowMs: number, final: boolean): Promise<EnvelopeRecord> {
  let current = record;
  const failures = unreportedFailures(current);
  if (failures.length > 0) {
    const dsn = await queueDsn(context, current, failures.map((recipient) => dsnRecipient(recipient, 'failed')), undefined, nowMs);
    logDsn(context.logger, current, dsn, 'failed', failures.map((recipient) => recipient.address));
    context.observer?.dsnQueued('failed');
    await noticeEvents(context, 'failed', current, dsn.id, failures);
    context.queued(dsn.id);
    const reported = new Set(failures.map((recipient) => recipient.address));
    current = final ? markDsnSent(current, reported) : await context.spool.update(current.id, (latest) => markDsnSent(latest, reported));
  }
  if (!final && delayWarningDue(current, context.settings.delayWarningMs, nowMs)) {
    const pending = pendingRecipients(current);
    const willRetryUntilMs = expiresAtMs(current, context.settings.maxQueueLifetimeMs);
    const dsn = await queueDsn(context, current, pending.map((recipient) => dsnRecipient(recipient, 'delayed')), willRetryUntilMs, nowMs);
    logDsn(context.logger, current, dsn, 'delayed', pending.map((recipient) => recipient.address));
    context.observer?.dsnQueued('delayed');
    await noticeEvents(context, 'delayed', current, dsn.id, pending);
    context.queued(dsn.id);
    current = await context.spool.update(current.id, (latest) => ({ ...latest, delayWarningSent: true }));
  }
  return current;
}

/** Before the record notes the DSN: a crash in between queues the DSN and its events again (at least once). */
async function noticeEvents(context: SettlementContext, action: 'failed' | 'delayed', original: EnvelopeRecord, dsnId: string, recipients: readonly RecipientRecord[]): Promise<void> {
  try {
    await context.observer?.noticeQueued?.(action, original, dsnId, recipients);
  } catch (error) {
    context.logger.error({ qid: original.id, err: error }, 'cannot record delivery events');
  }
}

function logDsn(logger: Logger, original: EnvelopeRecord, dsn: EnvelopeRecord, action: 'failed' | 'delayed', rcpts: string[]): void {
  logger.info({ qid: original.id, dsnQid: dsn.id, action, to: original.from, rcpts }, 'DSN queued');
}
