// Applying delivery results to a spool record (pure functions): per-recipient
// state, attempts, last reply and a bounded history; local notes such as
// expiry (RFC 3463 4.4.7) or an operator's bounce; counting the attempt.

import type { AttemptInfo, RecipientOutcome } from '../delivery/types.js';
import type { EnvelopeRecord, RecipientAttempt, RecipientRecord } from '../spool/types.js';

/** Entries kept in a recipient's history (the newest); older ones are dropped. */
export const HISTORY_LIMIT = 20;

/** A local reason to end a recipient's delivery, e.g. `{ status: '4.4.7', text: 'delivery time expired' }`. */
export interface FailureNote {
  readonly status: string;
  readonly text: string;
}

export const EXPIRED: FailureNote = { status: '4.4.7', text: 'delivery time expired' };
export const CANCELLED: FailureNote = { status: '5.0.0', text: 'delivery cancelled by the operator' };

/**
 * Records each outcome on its (still pending) recipient; delivered and failed recipients never change.
 * `info` (the session's address and TLS) is kept with each entry for `outpost queue why`.
 */
export function applyOutcomes(record: EnvelopeRecord, outcomes: ReadonlyMap<string, RecipientOutcome>, nowMs: number, info?: AttemptInfo): EnvelopeRecord {
  const at = new Date(nowMs).toISOString();
  const recipients = record.recipients.map((recipient) => {
    const outcome = outcomes.get(recipient.address);
    if (recipient.state !== 'pending' || outcome === undefined) return recipient;
    const entry: RecipientAttempt = {
      at,
      reply: outcome.reply,
      status: outcome.status,
      // mx names the server that gave the reply: present only for remote replies.
      ...(outcome.remote && outcome.remoteMta !== undefined ? { mx: outcome.remoteMta } : {}),
      ...(info?.address === undefined ? {} : { address: info.address, tls: info.tls }),
    };
    // The dialog is kept for `queue why` only while it explains a failure, and only the latest one.
    const { lastExchange: _previous, ...rest } = recipient;
    const exchange = outcome.kind !== 'delivered' && info?.exchange !== undefined && info.exchange.length > 0 ? { lastExchange: info.exchange } : {};
    return {
      ...rest,
      ...exchange,
      state: outcome.kind === 'delivered' ? 'delivered' : outcome.kind === 'permanent' ? 'failed' : 'pending',
      attempts: recipient.attempts + 1,
      lastReply: outcome.reply,
      history: appendHistory(recipient.history, entry),
    } satisfies RecipientRecord;
  });
  return { ...record, recipients };
}

/** Fails every pending recipient with a local note (its last reply becomes "<status> <text>"). */
export function failPending(record: EnvelopeRecord, note: FailureNote, nowMs: number): EnvelopeRecord {
  const entry: RecipientAttempt = { at: new Date(nowMs).toISOString(), reply: `${note.status} ${note.text}`, status: note.status };
  const recipients = record.recipients.map((recipient) =>
    recipient.state !== 'pending'
      ? recipient
      : ({ ...recipient, state: 'failed', lastReply: entry.reply, history: appendHistory(recipient.history, entry) } satisfies RecipientRecord),
  );
  return { ...record, recipients };
}

/** Counts one more attempt of the message and sets when the next one is due. */
export function countAttempt(record: EnvelopeRecord, nextAttemptMs: number): EnvelopeRecord {
  return { ...record, attempts: record.attempts + 1, nextAttempt: new Date(nextAttemptMs).toISOString() };
}

/** Marks the given failed recipients as reported by a DSN. */
export function markDsnSent(record: EnvelopeRecord, addresses: ReadonlySet<string>): EnvelopeRecord {
  const recipients = record.recipients.map((recipient) =>
    recipient.state === 'failed' && addresses.has(recipient.address) ? { ...recipient, dsnSent: true } : recipient,
  );
  return { ...record, recipients };
}

export function pendingRecipients(record: EnvelopeRecord): RecipientRecord[] {
  return record.recipients.filter((recipient) => recipient.state === 'pending');
}

/** Failed recipients whose DSN is still owed (never for the null sender <>). */
export function unreportedFailures(record: EnvelopeRecord): RecipientRecord[] {
  if (record.from === '') return [];
  return record.recipients.filter((recipient) => recipient.state === 'failed' && recipient.dsnSent !== true);
}

export function allFinal(record: EnvelopeRecord): boolean {
  return record.recipients.every((recipient) => recipient.state !== 'pending');
}

function appendHistory(history: readonly RecipientAttempt[], entry: RecipientAttempt): RecipientAttempt[] {
  const kept = history.length >= HISTORY_LIMIT ? history.slice(history.length - HISTORY_LIMIT + 1) : history;
  return [...kept, entry];
}
