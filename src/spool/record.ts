// The envelope record on disk: building a new one at commit, encoding it as
// JSON (version 1) and decoding it back with full shape validation.

import type { EnvelopeRecord, NewEnvelope, RecipientAttempt, RecipientState, TlsRequirement } from './types.js';

export const RECORD_VERSION = 1;

export type DecodeResult =
  | { readonly ok: true; readonly record: EnvelopeRecord }
  | { readonly ok: false; readonly problem: string };

/** The record `commit()` writes: everything pending, first attempt due at arrival. */
export function newRecord(id: string, envelope: NewEnvelope, arrivalMs: number, sizeBytes: number): EnvelopeRecord {
  const arrival = new Date(arrivalMs).toISOString();
  return {
    version: RECORD_VERSION,
    id,
    from: envelope.from,
    arrival,
    size: sizeBytes,
    smtputf8: envelope.smtputf8,
    body: envelope.body,
    client: { ...envelope.client },
    nextAttempt: arrival,
    attempts: 0,
    delayWarningSent: false,
    recipients: envelope.recipients.map((address) => ({
      address,
      state: 'pending',
      attempts: 0,
      lastReply: null,
      history: [],
    })),
    ...(envelope.dkimSignature === undefined ? {} : { dkimSignature: envelope.dkimSignature }),
    ...(envelope.tlsRequirement === undefined ? {} : { tlsRequirement: envelope.tlsRequirement }),
  };
}

export function encodeRecord(record: EnvelopeRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/** Parses and validates a record (queue log or old-layout state file); `expectedId` must match its id. */
export function decodeRecord(text: string, expectedId: string): DecodeResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  const problem = recordProblem(value, expectedId);
  return problem === undefined ? { ok: true, record: value as EnvelopeRecord } : { ok: false, problem };
}

/** The first thing wrong with `value` as an EnvelopeRecord, or undefined when it is valid. */
export function recordProblem(value: unknown, expectedId: string): string | undefined {
  if (!isObject(value)) return 'not an object';
  if (value['version'] !== RECORD_VERSION) return `unknown version ${JSON.stringify(value['version'])}`;
  if (value['id'] !== expectedId) return `id ${JSON.stringify(value['id'])} does not match file name`;
  if (typeof value['from'] !== 'string') return 'from is not a string';
  if (!isIsoTime(value['arrival'])) return 'arrival is not an ISO time';
  if (!isCount(value['size'])) return 'size is not a byte count';
  if (typeof value['smtputf8'] !== 'boolean') return 'smtputf8 is not a boolean';
  if (value['body'] !== '7BIT' && value['body'] !== '8BITMIME') return 'body is not 7BIT or 8BITMIME';
  const clientProblem = clientRecordProblem(value['client']);
  if (clientProblem !== undefined) return `client: ${clientProblem}`;
  if (!isIsoTime(value['nextAttempt'])) return 'nextAttempt is not an ISO time';
  if (!isCount(value['attempts'])) return 'attempts is not a count';
  if (typeof value['delayWarningSent'] !== 'boolean') return 'delayWarningSent is not a boolean';
  if (value['dkimSignature'] !== undefined && !isHeaderText(value['dkimSignature'])) return 'dkimSignature is not header text';
  if (value['tlsRequirement'] !== undefined && !TLS_REQUIREMENTS.has(value['tlsRequirement'])) return 'tlsRequirement is not requiretls or tls-required-no';
  const recipients = value['recipients'];
  if (!Array.isArray(recipients) || recipients.length === 0) return 'recipients is not a non-empty array';
  for (const [index, recipient] of recipients.entries()) {
    const recipientProblem = recipientRecordProblem(recipient);
    if (recipientProblem !== undefined) return `recipients[${index}]: ${recipientProblem}`;
  }
  return undefined;
}

function clientRecordProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'not an object';
  for (const key of ['address', 'helo', 'listener'] as const) {
    if (typeof value[key] !== 'string') return `${key} is not a string`;
  }
  for (const key of ['tls', 'auth'] as const) {
    if (!isStringOrNull(value[key])) return `${key} is not a string or null`;
  }
  return undefined;
}

const TLS_REQUIREMENTS: ReadonlySet<unknown> = new Set<TlsRequirement>(['requiretls', 'tls-required-no']);

const RECIPIENT_STATES: ReadonlySet<unknown> = new Set<RecipientState>(['pending', 'delivered', 'failed']);

function recipientRecordProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'not an object';
  if (typeof value['address'] !== 'string') return 'address is not a string';
  if (!RECIPIENT_STATES.has(value['state'])) return 'state is not pending, delivered or failed';
  if (!isCount(value['attempts'])) return 'attempts is not a count';
  if (!isStringOrNull(value['lastReply'])) return 'lastReply is not a string or null';
  const exchange = value['lastExchange'];
  if (exchange !== undefined && !(Array.isArray(exchange) && exchange.every((line) => typeof line === 'string'))) return 'lastExchange is not an array of strings';
  const history = value['history'];
  if (!Array.isArray(history)) return 'history is not an array';
  for (const [index, attempt] of history.entries()) {
    if (!isAttempt(attempt)) return `history[${index}] is not an attempt`;
  }
  return undefined;
}

function isAttempt(value: unknown): value is RecipientAttempt {
  return (
    isObject(value) &&
    isIsoTime(value['at']) &&
    typeof value['reply'] === 'string' &&
    (value['mx'] === undefined || typeof value['mx'] === 'string')
  );
}

/** Header lines only: each CRLF-terminated, none empty, no NUL and no bare CR or LF. */
function isHeaderText(value: unknown): value is string {
  return typeof value === 'string' && /^(?:[^\r\n\0]+\r\n)+$/.test(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringOrNull(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isIsoTime(value: unknown): value is string {
  return typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value) && !Number.isNaN(Date.parse(value));
}
