// Time limits of a queued message: the queue lifetime after arrival (then the
// remaining recipients fail with RFC 3463 4.4.7), the one delay warning, and
// the next attempt time, never later than the expiry.

import type { EnvelopeRecord } from '../spool/types.js';
import { pendingRecipients } from './outcomes.js';

export function arrivalMs(record: EnvelopeRecord): number {
  return Date.parse(record.arrival);
}

export function expiresAtMs(record: EnvelopeRecord, maxQueueLifetimeMs: number): number {
  return arrivalMs(record) + maxQueueLifetimeMs;
}

/** True when the message has been queued for its whole lifetime. */
export function isExpired(record: EnvelopeRecord, maxQueueLifetimeMs: number, nowMs: number): boolean {
  return nowMs >= expiresAtMs(record, maxQueueLifetimeMs);
}

/** The next attempt after a failed one: `nowMs + delayMs`, but no later than the expiry (a last try then). */
export function nextAttemptMs(record: EnvelopeRecord, maxQueueLifetimeMs: number, nowMs: number, delayMs: number): number {
  return Math.min(nowMs + delayMs, Math.max(nowMs, expiresAtMs(record, maxQueueLifetimeMs)));
}

/**
 * True when the one "still trying" DSN is due: warnings enabled (delayWarningMs > 0),
 * not sent yet, a sender to send it to, recipients still pending, queued long enough.
 */
export function delayWarningDue(record: EnvelopeRecord, delayWarningMs: number, nowMs: number): boolean {
  return (
    delayWarningMs > 0 &&
    !record.delayWarningSent &&
    record.from !== '' &&
    pendingRecipients(record).length > 0 &&
    nowMs - arrivalMs(record) >= delayWarningMs
  );
}
