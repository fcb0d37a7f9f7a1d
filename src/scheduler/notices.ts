// Delivery status notifications as queued mail: builds the DsnRequest (RFC
// 3464 fields) from a spool record, has the injected builder render it and
// commits it to the spool as a new message from <> to the original sender.
// The report carries the original's headers only (RET=HDRS); the report of a
// REQUIRETLS message is itself sent with REQUIRETLS (RFC 8689 §5).

import { once } from 'node:events';
import type { Logger } from 'pino';
import type { DsnRecipient, DsnRequest } from '../dsn/types.js';
import type { ClientRecord, EnvelopeRecord, RecipientAttempt, RecipientRecord } from '../spool/types.js';
import { arrivalMs } from './expiry.js';
import type { BuildDsn, SchedulerSpool } from './types.js';

export interface NoticeContext {
  readonly spool: SchedulerSpool;
  readonly buildDsn: BuildDsn;
  readonly hostname: string;
  readonly logger: Logger;
  readonly random: () => number;
}

/** The envelope's client record for mail this server writes itself. */
const LOCAL_CLIENT: ClientRecord = { address: '127.0.0.1', helo: 'localhost', listener: 'dsn', tls: null, auth: null };

const REPLY_CODE = /^\d{3}(?:[ -]|$)/;
const ENHANCED_STATUS = /^(?:\d{3}[ -])?([245]\.\d{1,3}\.\d{1,3})(?![\d.])/;
const EIGHT_BIT = /[\x80-\xff]/;

/** One recipient's DSN fields from its history: the last SMTP reply as diagnostic, the last entry's status. */
export function dsnRecipient(recipient: RecipientRecord, action: DsnRecipient['action']): DsnRecipient {
  const lastEntry = recipient.history.at(-1);
  const lastReplyEntry = findLast(recipient.history, (entry) => REPLY_CODE.test(entry.reply));
  const diagnosticEntry = lastReplyEntry ?? lastEntry;
  return {
    address: recipient.address,
    action,
    status: statusOf(lastEntry, action),
    diagnostic: diagnosticEntry?.reply ?? recipient.lastReply ?? 'no delivery attempt was made',
    // The history names the mx only for replies a remote server gave.
    diagnosticIsRemote: diagnosticEntry?.mx !== undefined,
    remoteMta: diagnosticEntry?.mx,
    lastAttemptMs: lastReplyEntry === undefined ? undefined : Date.parse(lastReplyEntry.at),
  };
}

/** Builds the DSN for `recipients` of `record` and commits it to the spool; resolves with the new message's record. */
export async function queueDsn(
  context: NoticeContext,
  record: EnvelopeRecord,
  recipients: readonly DsnRecipient[],
  willRetryUntilMs: number | undefined,
  nowMs: number,
): Promise<EnvelopeRecord> {
  const request: DsnRequest = {
    hostname: context.hostname,
    originalId: record.id,
    originalSender: record.from,
    arrivalMs: arrivalMs(record),
    originalHeaders: await originalHeaders(context, record.id),
    recipients,
    willRetryUntilMs,
    nowMs,
    uniqueToken: `${record.id}.${nowMs.toString(36)}.${Math.floor(context.random() * 2 ** 32).toString(36)}`,
  };
  const dsn = await context.buildDsn(request);
  const writer = await context.spool.begin();
  try {
    if (!writer.body.write(dsn.content)) await once(writer.body, 'drain');
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return writer.commit({
    from: '',
    recipients: [dsn.to],
    smtputf8: dsn.smtputf8,
    body: EIGHT_BIT.test(dsn.content.toString('latin1')) ? '8BITMIME' : '7BIT',
    client: LOCAL_CLIENT,
    ...(record.tlsRequirement === 'requiretls' ? { tlsRequirement: 'requiretls' as const } : {}),
  });
}

async function originalHeaders(context: NoticeContext, id: string): Promise<string> {
  try {
    return await context.spool.readHeaders(id);
  } catch (error) {
    context.logger.warn({ qid: id, err: error }, 'cannot read original headers for DSN');
    return '';
  }
}

function statusOf(entry: RecipientAttempt | undefined, action: DsnRecipient['action']): string {
  const fallback = action === 'failed' ? '5.0.0' : '4.0.0';
  if (entry === undefined) return fallback;
  if (entry.status !== undefined && ENHANCED_STATUS.test(entry.status)) return entry.status;
  const parsed = ENHANCED_STATUS.exec(entry.reply)?.[1];
  if (parsed !== undefined) return parsed;
  const replyClass = entry.reply[0];
  return replyClass === '4' || replyClass === '5' ? `${replyClass}.0.0` : fallback;
}

function findLast<T>(items: readonly T[], predicate: (item: T) => boolean): T | undefined {
  for (let index = items.length - 1; index >= 0; index -= 1) {
    const item = items[index];
    if (item !== undefined && predicate(item)) return item;
  }
  return undefined;
}
