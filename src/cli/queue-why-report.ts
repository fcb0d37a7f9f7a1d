// What `outpost queue why` says about one message (pure): per recipient every
// attempt kept and its reason (delivery/reply-reason.ts), what outpost does next
// and when (record's next attempt, delivery.retry, maxQueueLifetime, delay
// warning), and the state of the providers involved when a server answered.

import type { ProviderStateView } from '../control/provider-protocol.js';
import { reasonOfReply, type ReasonCode } from '../delivery/reply-reason.js';
import { baseRetryDelayMs } from '../scheduler/backoff.js';
import type { EnvelopeRecord, RecipientAttempt, RecipientRecord } from '../spool/types.js';

export interface WhySettings {
  readonly retryDelaysMs: readonly number[];
  readonly maxQueueLifetimeMs: number;
  readonly delayWarningMs: number;
  /** The provider (delivery/provider-key.ts) of an MX host name. */
  readonly providerOfHost: (host: string) => string;
}

/** Provider states from the running server, or undefined when no server answered. */
export type ProviderStates = ReadonlyMap<string, ProviderStateView> | undefined;

export interface WhyAttempt {
  readonly at: string;
  readonly mx: string | null;
  readonly address: string | null;
  readonly tls: string | null;
  readonly status: string | null;
  readonly reply: string;
  readonly reason: ReasonCode;
  readonly explanation: string;
}

export interface WhyRecipient {
  readonly address: string;
  readonly state: RecipientRecord['state'];
  readonly attempts: number;
  /** The reason of the latest attempt, 'waiting' before the first, or 'provider-paused'. */
  readonly reason: ReasonCode | 'waiting' | 'provider-paused';
  readonly explanation: string;
  readonly provider: string | null;
  readonly history: readonly WhyAttempt[];
  /** The last SMTP commands and replies of the latest attempt that ran a transaction and failed; null when none is kept. */
  readonly lastExchange: readonly string[] | null;
}

export interface WhyReport {
  readonly id: string;
  readonly from: string;
  readonly arrival: string;
  readonly attempts: number;
  readonly nextAttempt: string | null;
  readonly expiresAt: string;
  readonly delayWarning: { readonly state: 'sent' | 'pending' | 'disabled' | 'not-applicable'; readonly at: string | null };
  /** What outpost does next, in words. */
  readonly next: string;
  /** 'running' when the server answered over the control socket (providers then hold its view). */
  readonly server: 'running' | 'not-running';
  readonly providers: readonly ProviderStateView[] | null;
  readonly recipients: readonly WhyRecipient[];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** "4m 30s", "2h 5m", "3d 1h". */
export function durationText(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const units: Array<[number, string]> = [[86_400, 'd'], [3_600, 'h'], [60, 'm'], [1, 's']];
  const parts: string[] = [];
  let rest = seconds;
  for (const [size, unit] of units) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    } else if (parts.length > 0) break;
  }
  return parts.length === 0 ? '0s' : parts.join(' ');
}

function whyAttempt(attempt: RecipientAttempt): WhyAttempt {
  const { reason, explanation } = reasonOfReply(attempt);
  return {
    at: attempt.at,
    mx: attempt.mx ?? null,
    address: attempt.address ?? null,
    tls: attempt.tls ?? null,
    status: attempt.status ?? null,
    reply: attempt.reply,
    reason,
    explanation,
  };
}

function pausedText(state: ProviderStateView | undefined, nowMs: number): string | undefined {
  if (state?.pausedUntilMs === null || state?.pausedUntilMs === undefined || state.pausedUntilMs <= nowMs) return undefined;
  const why = state.lastThrottle === null ? '' : ` after it throttled outpost (${state.lastThrottle.reason}: ${state.lastThrottle.reply})`;
  return `provider ${state.provider} is paused until ${iso(state.pausedUntilMs)} (in ${durationText(state.pausedUntilMs - nowMs)})${why}; sessions allowed ${state.allowedSessions ?? '?'} of ${state.maxSessions ?? '?'}`;
}

function whyRecipient(recipient: RecipientRecord, settings: WhySettings, providers: ProviderStates, nowMs: number): WhyRecipient {
  const history = recipient.history.map(whyAttempt);
  const lastMx = [...recipient.history].reverse().find((attempt) => attempt.mx !== undefined)?.mx;
  const provider = lastMx === undefined ? null : settings.providerOfHost(lastMx);
  const last = history.at(-1);
  const base = { address: recipient.address, state: recipient.state, attempts: recipient.attempts, provider, history, lastExchange: recipient.lastExchange ?? null };
  const paused = recipient.state === 'pending' && provider !== null ? pausedText(providers?.get(provider), nowMs) : undefined;
  if (paused !== undefined) return { ...base, reason: 'provider-paused', explanation: `${paused}${last === undefined ? '' : `; last attempt: ${last.explanation}`}` };
  if (last === undefined) return { ...base, reason: 'waiting', explanation: 'not attempted yet' };
  return { ...base, reason: last.reason, explanation: last.explanation };
}

function delayWarning(record: EnvelopeRecord, settings: WhySettings): WhyReport['delayWarning'] {
  if (record.delayWarningSent) return { state: 'sent', at: null };
  if (settings.delayWarningMs <= 0) return { state: 'disabled', at: null };
  if (record.from === '' || !record.recipients.some((recipient) => recipient.state === 'pending')) return { state: 'not-applicable', at: null };
  return { state: 'pending', at: iso(Date.parse(record.arrival) + settings.delayWarningMs) };
}

function nextText(record: EnvelopeRecord, settings: WhySettings, recipients: readonly WhyRecipient[], nowMs: number): string {
  const pending = recipients.filter((recipient) => recipient.state === 'pending');
  if (pending.length === 0) return 'nothing: every recipient is delivered or failed (the message leaves the queue once its DSN is queued)';
  const nextMs = Date.parse(record.nextAttempt);
  const expiresMs = Date.parse(record.arrival) + settings.maxQueueLifetimeMs;
  const when = nextMs <= nowMs ? `due now (${record.nextAttempt}; waiting for a delivery slot)` : `at ${record.nextAttempt} (in ${durationText(nextMs - nowMs)})`;
  const what = record.attempts === 0 ? 'first attempt' : `attempt ${record.attempts + 1}`;
  const lines = [`${what} ${when}`];
  const paused = pending.find((recipient) => recipient.reason === 'provider-paused');
  if (paused !== undefined) lines.push(`held back while the provider pause lasts (${paused.provider ?? '?'})`);
  if (nextMs >= expiresMs) {
    lines.push(`that is the last attempt: the queue lifetime ends at ${iso(expiresMs)}, then pending recipients bounce (4.4.7)`);
  } else {
    const afterMs = baseRetryDelayMs(record.attempts + 1, settings.retryDelaysMs);
    lines.push(`if it fails too, the one after about ${durationText(afterMs)} later (delivery.retry); gives up at ${iso(expiresMs)} (arrival + delivery.maxQueueLifetime)`);
  }
  return lines.join('; ');
}

export function whyReport(record: EnvelopeRecord, settings: WhySettings, providers: ProviderStates, nowMs: number): WhyReport {
  const recipients = record.recipients.map((recipient) => whyRecipient(recipient, settings, providers, nowMs));
  const names = [...new Set(recipients.flatMap((recipient) => (recipient.provider === null ? [] : [recipient.provider])))];
  const pending = recipients.some((recipient) => recipient.state === 'pending');
  return {
    id: record.id,
    from: record.from,
    arrival: record.arrival,
    attempts: record.attempts,
    nextAttempt: pending ? record.nextAttempt : null,
    expiresAt: iso(Date.parse(record.arrival) + settings.maxQueueLifetimeMs),
    delayWarning: delayWarning(record, settings),
    next: nextText(record, settings, recipients, nowMs),
    server: providers === undefined ? 'not-running' : 'running',
    providers: providers === undefined ? null : names.map((name) => providers.get(name)).filter((state): state is ProviderStateView => state !== undefined),
    recipients,
  };
}

/** The providers a message's recipients were last sent to (asked of the server). */
export function providersOf(record: EnvelopeRecord, settings: WhySettings): string[] {
  const names = new Set<string>();
  for (const recipient of record.recipients) {
    const mx = [...recipient.history].reverse().find((attempt) => attempt.mx !== undefined)?.mx;
    if (recipient.state === 'pending' && mx !== undefined) names.add(settings.providerOfHost(mx));
  }
  return [...names];
}

/** True for messages `queue why --all` reports: deferred (recipients pending) after at least one attempt. */
export function isStuck(record: EnvelopeRecord): boolean {
  return record.attempts > 0 && record.recipients.some((recipient) => recipient.state === 'pending');
}
