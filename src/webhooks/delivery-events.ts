// Turns the relay's hooks (message queued, recipient outcomes, DSNs, suppression,
// quota refusals) into delivery events and appends them to the outbox for the
// receivers that subscribed to their type; each append resolves once durable.

import type { Clock } from '../core/clock.js';
import type { AttemptInfo, RecipientOutcome } from '../delivery/types.js';
import type { Logger } from '../observability/logger.js';
import type { QuotaRefusal, QuotaSender } from '../quota/sender-quotas.js';
import type { SuppressionEntry } from '../suppression/list.js';
import type { EnvelopeRecord, RecipientRecord } from '../spool/types.js';
import { eventId } from './event-id.js';
import type { EventOutbox } from './outbox.js';
import type { DeliveryEvent, WebhookEventType } from './types.js';

export interface EventReceiver {
  readonly url: string;
  readonly events: readonly WebhookEventType[];
}

/** What is known of a queued message: its envelope sender and Message-ID. */
export interface MessageFacts {
  readonly sender: string | null;
  readonly messageId: string | null;
}

export interface DeliveryEventsOptions {
  readonly outbox: EventOutbox;
  readonly receivers: readonly EventReceiver[];
  readonly clock: Clock;
  readonly logger: Logger;
  /** Facts of a queued message (the spool's record and headers); called only while it is still queued. */
  readonly facts: (queueId: string) => Promise<MessageFacts>;
}

const MAX_CACHED_FACTS = 10_000;
const STATUS_EXPIRED = '4.4.7';

type EventFields = Omit<DeliveryEvent, 'id' | 'type' | 'timestamp'>;

export class DeliveryEvents {
  private readonly options: DeliveryEventsOptions;
  private readonly cache = new Map<string, MessageFacts>();

  constructor(options: DeliveryEventsOptions) {
    this.options = options;
  }

  /** A message was committed to the spool (before the client is told 250). */
  async queued(record: EnvelopeRecord, headers: () => Promise<string>): Promise<void> {
    if (!this.wants('queued')) return;
    const facts = { sender: record.from, messageId: messageIdOf(await headers().catch(() => '')) };
    this.remember(record.id, facts);
    const tls = record.client.tls;
    await Promise.all(record.recipients.map((rcpt) => this.emit('queued', { ...facts, queueId: record.id, recipient: rcpt.address, remote: null, tls, details: { client: record.client.address, auth: record.client.auth } })));
  }

  /** The outcomes of one attempt, before the spool records them. */
  async outcomes(queueId: string, outcomes: ReadonlyMap<string, RecipientOutcome>, info: AttemptInfo): Promise<void> {
    if (!this.wants('delivered') && !this.wants('deferred') && !this.wants('failed')) return;
    const facts = await this.factsOf(queueId);
    const appends: Promise<void>[] = [];
    for (const [recipient, outcome] of outcomes) {
      const type = outcome.kind === 'delivered' ? 'delivered' : outcome.kind === 'transient' ? 'deferred' : 'failed';
      const remote = { mx: outcome.remoteMta ?? info.mx ?? null, address: info.address ?? null, reply: outcome.reply, status: outcome.status };
      appends.push(this.emit(type, { ...facts, queueId, recipient, remote, tls: info.tls, details: { remoteReply: outcome.remote } }));
    }
    await Promise.all(appends);
  }

  /** A DSN was queued: `bounced` (and `expired` for recipients that ran out of time) or `delayed`. */
  async notice(action: 'failed' | 'delayed', original: EnvelopeRecord, dsnId: string, recipients: readonly RecipientRecord[]): Promise<void> {
    if (!(action === 'delayed' ? this.wants('delayed') : this.wants('bounced') || this.wants('expired'))) return;
    const facts = await this.factsOf(original.id, original.from);
    const appends: Promise<void>[] = [];
    for (const rcpt of recipients) {
      const last = rcpt.history.at(-1);
      const remote = last === undefined ? null : { mx: last.mx ?? null, address: null, reply: last.reply, status: last.status ?? null };
      const fields = { ...facts, queueId: original.id, recipient: rcpt.address, remote, tls: null, details: { dsnQueueId: dsnId, attempts: rcpt.attempts } };
      if (action === 'delayed') {
        appends.push(this.emit('delayed', fields));
        continue;
      }
      if (last?.status === STATUS_EXPIRED) appends.push(this.emit('expired', fields));
      appends.push(this.emit('bounced', fields));
    }
    await Promise.all(appends);
  }

  /** An address was added to the suppression list, or a RCPT to one was refused (`client` given). */
  suppressed(entry: SuppressionEntry, client?: string): void {
    const details = { action: client === undefined ? 'added' : 'refused', source: entry.source, client: client ?? null, expiresAt: entry.expiresAtMs === undefined ? null : new Date(entry.expiresAtMs).toISOString() };
    const reply = entry.reply === '' ? null : entry.reply;
    this.fireAndForget(this.emit('suppressed', { queueId: null, recipient: entry.address, sender: null, messageId: null, remote: reply === null ? null : { mx: null, address: null, reply, status: null }, tls: null, details }));
  }

  /** A sender was refused at MAIL for its quota. */
  quota(refusal: QuotaRefusal, sender: QuotaSender): void {
    const details = { kind: refusal.kind, limit: refusal.limit, subject: refusal.subject, user: sender.user, client: sender.clientAddress, retryAt: new Date(refusal.retryAtMs).toISOString() };
    this.fireAndForget(this.emit('quota', { queueId: null, recipient: null, sender: null, messageId: null, remote: null, tls: null, details }));
  }

  private wants(type: WebhookEventType): boolean {
    return this.options.receivers.some((receiver) => receiver.events.includes(type));
  }

  private emit(type: WebhookEventType, fields: EventFields): Promise<void> {
    const receivers = this.options.receivers.filter((receiver) => receiver.events.includes(type)).map((receiver) => receiver.url);
    if (receivers.length === 0) return Promise.resolve();
    const nowMs = this.options.clock.now();
    const event: DeliveryEvent = { id: eventId(nowMs), type, timestamp: new Date(nowMs).toISOString(), ...fields };
    return this.options.outbox.append(event, receivers);
  }

  private fireAndForget(append: Promise<void>): void {
    append.catch((error: unknown) => this.options.logger.error({ component: 'webhooks', err: error }, 'cannot record a delivery event'));
  }

  private async factsOf(queueId: string, sender?: string): Promise<MessageFacts> {
    const cached = this.cache.get(queueId);
    if (cached !== undefined) return cached;
    const facts = await this.options.facts(queueId).catch(() => ({ sender: sender ?? null, messageId: null }));
    this.remember(queueId, facts);
    return facts;
  }

  private remember(queueId: string, facts: MessageFacts): void {
    this.cache.delete(queueId);
    this.cache.set(queueId, facts);
    if (this.cache.size > MAX_CACHED_FACTS) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }
}

/** The Message-ID field body of a header section (first one; unfolded, angle brackets kept), or null. */
export function messageIdOf(headers: string): string | null {
  const match = /^message-id[ \t]*:((?:[^\r\n]*)(?:\r?\n[ \t][^\r\n]*)*)/im.exec(headers);
  if (match === null) return null;
  const value = (match[1] ?? '').replace(/\r?\n/g, '').trim();
  return value === '' ? null : value.slice(0, 998);
}
