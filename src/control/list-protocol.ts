// The queue-list request of the control channel (`outpost queue list` while a
// server runs): the server streams one JSON line per queued message from its
// own index, between a begin line and an end line that carries the count, so
// a stream cut short is an error to the client, never a shorter list.

import type { EnvelopeRecord, RecipientState } from '../spool/types.js';
import { jsonObjectOf } from './json-line.js';

export interface QueueListRequest {
  readonly action: 'queue-list';
}

/** One element of `queue list --json` (INTERFACE.md shape; extra fields allowed). */
export interface QueueListEntry {
  readonly id: string;
  readonly from: string;
  readonly arrival: string;
  readonly size: number;
  readonly attempts: number;
  readonly nextAttempt: string;
  readonly recipients: readonly {
    readonly address: string;
    readonly state: RecipientState;
    readonly attempts: number;
    readonly nextAttempt: string | null;
    readonly lastReply: string | null;
  }[];
}

/**
 * The lines of the answer. Every entry line is `JSON.stringify(listEntry(record))`,
 * which always opens with ENTRY_PREFIX; the others are these status lines.
 */
export type QueueListStatus =
  | { readonly ok: true; readonly list: 'begin' }
  | { readonly ok: true; readonly list: 'end'; readonly count: number }
  | { readonly ok: false; readonly error: string };

export const ENTRY_PREFIX = '{"id":';
export const LIST_BEGIN_LINE = `${JSON.stringify({ ok: true, list: 'begin' } satisfies QueueListStatus)}\n`;

export function listEndLine(count: number): string {
  return `${JSON.stringify({ ok: true, list: 'end', count } satisfies QueueListStatus)}\n`;
}

export function listErrorLine(error: string): string {
  return `${JSON.stringify({ ok: false, error } satisfies QueueListStatus)}\n`;
}

/** True when the line is a queue-list request. */
export function isQueueListRequest(line: string): boolean {
  return jsonObjectOf(line)?.['action'] === 'queue-list';
}

/** A status line as the client reads it, or undefined when it is not one. */
export function parseListStatus(line: string): QueueListStatus | undefined {
  const value = jsonObjectOf(line);
  if (value === undefined) return undefined;
  const { ok, list, count, error } = value as { ok?: unknown; list?: unknown; count?: unknown; error?: unknown };
  if (ok === false) return { ok, error: typeof error === 'string' ? error : 'unknown error' };
  if (ok !== true) return undefined;
  if (list === 'begin') return { ok, list };
  if (list === 'end' && typeof count === 'number' && Number.isSafeInteger(count) && count >= 0) return { ok, list, count };
  return undefined;
}

/** The list entry of a record; both the server and the offline read build it here, so their output is the same. */
export function listEntry(record: EnvelopeRecord): QueueListEntry {
  return {
    id: record.id,
    from: record.from,
    arrival: record.arrival,
    size: record.size,
    attempts: record.attempts,
    nextAttempt: record.nextAttempt,
    recipients: record.recipients.map((recipient) => ({
      address: recipient.address,
      state: recipient.state,
      attempts: recipient.attempts,
      nextAttempt: recipient.state === 'pending' ? record.nextAttempt : null,
      lastReply: recipient.lastReply,
    })),
  };
}
