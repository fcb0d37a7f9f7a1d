// Builds the delivery-event parts for main.ts (a composition helper): the outbox
// under <spoolDir>/events/, the event recorder the hooks call, the sender and its
// metrics. Undefined when no webhook is configured.

import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import type { WebhookConfig } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import type { Registry } from '../observability/prometheus.js';
import { WebhookMetrics } from '../observability/webhook-metrics.js';
import type { MessageSink } from '../spool/types.js';
import { DeliveryEvents, type MessageFacts } from './delivery-events.js';
import { httpPoster, type PostEvent } from './http-post.js';
import { EventOutbox } from './outbox.js';
import { WebhookSender } from './sender.js';
import { onEachCommit } from '../spool/notifying-sink.js';

export const EVENTS_FOLDER = 'events';
export const WEBHOOK_TIMEOUT_MS = 10_000;

export interface WebhookParts {
  readonly events: DeliveryEvents;
  /** Wraps the spool so that each committed message has its `queued` events durable before commit resolves (and 250 is sent). */
  recordQueued(sink: MessageSink, headers: (id: string) => Promise<string>): MessageSink;
  start(): void;
  stop(): Promise<void>;
}

export interface WebhookDependencies {
  readonly spoolDir: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Trusted CAs for https receivers (Node's roots plus delivery.caFile), undefined for the defaults. */
  readonly ca: readonly string[] | undefined;
  readonly facts: (queueId: string) => Promise<MessageFacts>;
  /** Tests inject one; default: HTTP(S) POST with a 10 s timeout. */
  readonly post?: PostEvent;
  readonly maxEvents?: number;
  readonly initialRetryDelayMs?: number;
}

export async function createWebhooks(webhooks: readonly WebhookConfig[], deps: WebhookDependencies): Promise<WebhookParts | undefined> {
  if (webhooks.length === 0) return undefined;
  const logger = deps.logger.child({ component: 'webhooks' });
  let metrics: WebhookMetrics | undefined;
  const outbox = await EventOutbox.open(
    {
      folder: join(deps.spoolDir, EVENTS_FOLDER),
      logger,
      ...(deps.maxEvents === undefined ? {} : { maxEvents: deps.maxEvents }),
      observer: { dropped: (count) => metrics?.droppedEvents(count) },
    },
    webhooks.map((hook) => hook.url),
  );
  metrics = new WebhookMetrics(deps.registry, () => outbox.size);
  const events = new DeliveryEvents({ outbox, receivers: webhooks, clock: deps.clock, logger, facts: deps.facts });
  const sender = new WebhookSender({
    outbox,
    receivers: webhooks,
    post: deps.post ?? httpPoster({ clock: deps.clock, timeoutMs: WEBHOOK_TIMEOUT_MS, ca: deps.ca }),
    clock: deps.clock,
    logger,
    observer: { posted: (result) => metrics?.posted(result) },
    ...(deps.initialRetryDelayMs === undefined ? {} : { initialRetryDelayMs: deps.initialRetryDelayMs }),
  });
  return {
    events,
    recordQueued: (sink, headers) =>
      onEachCommit(sink, (record) => events.queued(record, () => headers(record.id)).catch((error: unknown) => logger.error({ qid: record.id, err: error }, 'cannot record delivery events'))),
    start: () => sender.start(),
    async stop() {
      await sender.stop();
      await outbox.close();
    },
  };
}

