// The metrics of the sending guards, registered on the process's Registry
// beside metrics.ts's:
// - `outpost_suppressed_rcpt_total` counter: RCPTs refused because the address is suppressed.
// - `outpost_suppression_list_size` gauge: addresses suppressed now (read at scrape time).
// - `outpost_suppressions_total{source}` counter: addresses that became suppressed, by delivery failures or the operator.
// - `outpost_quota_refusals_total{kind}` counter: MAIL refused by a sender quota, hour|day.

import type { Counter } from './prometheus.js';
import type { Registry } from './prometheus.js';

export class SendingMetrics {
  private readonly suppressedRcpts: Counter;
  private readonly suppressions: Counter<'source'>;
  private readonly quotaRefusals: Counter<'kind'>;

  constructor(registry: Registry, listSize: () => number) {
    this.suppressedRcpts = registry.counter({ name: 'outpost_suppressed_rcpt_total', help: 'RCPTs refused because the address is on the suppression list.' });
    this.suppressions = registry.counter({ name: 'outpost_suppressions_total', help: 'Addresses that became suppressed, by source.', labelNames: ['source'] });
    this.quotaRefusals = registry.counter({ name: 'outpost_quota_refusals_total', help: 'MAIL commands refused by a sender quota, by window.', labelNames: ['kind'] });
    registry.gauge({ name: 'outpost_suppression_list_size', help: 'Addresses on the suppression list now.', collect: (gauge) => gauge.set({}, listSize()) });
    this.suppressedRcpts.touch({});
    for (const source of ['delivery', 'operator'] as const) this.suppressions.touch({ source });
    for (const kind of ['hour', 'day'] as const) this.quotaRefusals.touch({ kind });
  }

  suppressedRcpt(): void {
    this.suppressedRcpts.inc({});
  }

  /** `source` is delivery or operator. */
  suppressed(source: string): void {
    this.suppressions.inc({ source });
  }

  /** `kind` is hour or day. */
  quotaRefused(kind: string): void {
    this.quotaRefusals.inc({ kind });
  }
}
