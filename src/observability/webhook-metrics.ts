// The metrics of the webhook outbox, registered on the process's Registry:
// - `outpost_webhook_deliveries_total{result}` counter: POSTs to receivers, success|failure.
// - `outpost_webhook_events_dropped_total` counter: events dropped because the outbox was full.
// - `outpost_webhook_outbox_events` gauge: events still owed to a receiver (read at scrape time).

import type { Counter, Registry } from './prometheus.js';

export class WebhookMetrics {
  private readonly deliveries: Counter<'result'>;
  private readonly dropped: Counter;

  constructor(registry: Registry, outboxEvents: () => number) {
    this.deliveries = registry.counter({ name: 'outpost_webhook_deliveries_total', help: 'Webhook POSTs, by result.', labelNames: ['result'] });
    this.dropped = registry.counter({ name: 'outpost_webhook_events_dropped_total', help: 'Delivery events dropped because the webhook outbox was full.' });
    registry.gauge({ name: 'outpost_webhook_outbox_events', help: 'Delivery events still owed to a webhook receiver.', collect: (gauge) => gauge.set({}, outboxEvents()) });
    for (const result of ['success', 'failure'] as const) this.deliveries.touch({ result });
    this.dropped.touch({});
  }

  posted(result: 'success' | 'failure'): void {
    this.deliveries.inc({ result });
  }

  droppedEvents(count: number): void {
    this.dropped.inc({}, count);
  }
}
