// Builds the sending guards for main.ts (a composition helper, like main.ts):
// the suppression list and the sender quotas from the config, their log lines,
// metrics and event hooks, the server seam and the scheduler's failure hook.

import type { Clock } from './core/clock.js';
import type { Config } from './config/types.js';
import { entryView, type SuppressionController } from './control/suppression-protocol.js';
import type { Logger } from './observability/logger.js';
import type { Registry } from './observability/prometheus.js';
import { SendingMetrics } from './observability/sending-metrics.js';
import { SenderQuotas, type QuotaRefusal, type QuotaSender } from './quota/sender-quotas.js';
import type { SendingGuards } from './server/sending-guards.js';
import { suppressionKey, type SuppressionEntry } from './suppression/list.js';
import { Suppressions } from './suppression/suppressions.js';

/** Hooks for each suppression and refusal (logged already; the delivery events of src/webhooks/ subscribe here). */
export interface SendingEvents {
  onSuppressed?(entry: SuppressionEntry): void;
  onSuppressedRcpt?(entry: SuppressionEntry, client: string): void;
  onQuotaRefused?(refusal: QuotaRefusal, sender: QuotaSender): void;
}

export interface SendingParts {
  readonly suppressions: Suppressions;
  readonly guards: SendingGuards;
  readonly controller: SuppressionController;
  /** The scheduler's hook: a recipient failed permanently with this status and reply. */
  permanentFailure(address: string, status: string, reply: string): void;
}

export interface SendingDependencies {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: Registry;
  isLocalDomain(canonicalDomain: string): boolean;
  readonly events?: SendingEvents;
}

export function sendingParts(config: Pick<Config, 'spoolDir' | 'suppression' | 'quotas'>, deps: SendingDependencies): SendingParts {
  const { clock, logger, events } = deps;
  let metrics: SendingMetrics | undefined;
  const suppressions = new Suppressions({
    spoolDir: config.spoolDir,
    settings: { after: config.suppression.after, ttlMs: config.suppression.ttlMs },
    clock,
    logger,
    events: {
      onSuppressed: (entry) => {
        metrics?.suppressed(entry.source);
        events?.onSuppressed?.(entry);
      },
      onRefused: (entry, client) => {
        metrics?.suppressedRcpt();
        events?.onSuppressedRcpt?.(entry, client);
      },
    },
  });
  metrics = new SendingMetrics(deps.registry, () => suppressions.size());
  const quotas = new SenderQuotas(config.quotas, clock);
  const quotaLog = logger.child({ component: 'quota' });
  const suppressing = config.suppression.enabled;
  const guards: SendingGuards = {
    ...(suppressing ? { recipientRefusal: (recipient, sender) => suppressions.refusal(recipient, sender.clientAddress) } : {}),
    ...(quotas.enabled
      ? {
          senderRefusal: (sender) => {
            const refusal = quotas.check(sender);
            if (refusal === undefined) return undefined;
            quotaLog.info({ user: sender.user, client: sender.clientAddress, kind: refusal.kind, limit: refusal.limit, retryAt: new Date(refusal.retryAtMs).toISOString() }, 'sender quota reached');
            metrics?.quotaRefused(refusal.kind);
            events?.onQuotaRefused?.(refusal, sender);
            return refusal.reply;
          },
          messageQueued: (sender) => quotas.record(sender),
        }
      : {}),
  };
  return {
    suppressions,
    guards,
    controller: {
      entries: () => suppressions.entries().map(entryView),
      add: (address) => suppressions.add(address),
      remove: (address) => suppressions.remove(address),
    },
    permanentFailure(address, status, reply) {
      if (!suppressing) return;
      const key = suppressionKey(address);
      // Local-domain recipients are inbound mail: recipient verification answers for them.
      if (key === undefined || deps.isLocalDomain(key.slice(key.lastIndexOf('@') + 1))) return;
      suppressions.recordFailure(address, status, reply);
    },
  };
}
