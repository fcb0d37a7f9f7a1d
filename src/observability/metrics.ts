// outpost's own Prometheus metrics, predefined on one Registry, with one
// method per event so any component can count without knowing metric names.
// main.ts builds one `Metrics` and passes it down (no global registry).

import type { Logger } from './logger.js';
import { Registry, type Counter, type Gauge } from './prometheus.js';

export type DeliveryMetricOutcome = 'delivered' | 'deferred' | 'failed';
export type DsnMetricAction = 'failed' | 'delayed';
export type TlsDirection = 'in' | 'out';

/** One row of a DNS doctor report, as the doctor gauge needs it (structurally a DoctorCheck). */
export interface DoctorMetricRow {
  readonly domain: string;
  readonly check: string;
  readonly status: 'ok' | 'warn' | 'fail';
}

/** One provider's row in the provider gauges (structurally a scheduler ProviderState). */
export interface ProviderMetricRow {
  readonly provider: string;
  readonly running: number;
  /** Undefined when the provider is not paused now. */
  readonly pausedUntilMs: number | undefined;
}

/** What the queue gauges show; read at every scrape. */
export interface QueueSnapshot {
  readonly messages: number;
  /** Age of the oldest queued message in seconds; 0 when the queue is empty. */
  readonly oldestAgeSeconds: number;
}

export interface MetricsOptions {
  /** Listener labels (e.g. the modes `mta`, `submission`, `smtps`) exported at 0 before their first session. */
  readonly listeners?: readonly string[];
  /** Rejection reasons exported at 0 before their first rejection. */
  readonly rejectReasons?: readonly string[];
  /** Where a failing queue snapshot is reported. */
  readonly logger?: Logger;
}

const CERTIFICATE_RESULTS = ['starttls-not-supported', 'certificate-host-mismatch', 'certificate-expired', 'certificate-not-trusted', 'validation-failure'] as const;

/** The (policy, result) pairs of `outpost_tls_policy_failures_total` exported at 0 before their first failure. */
const TLS_POLICY_FAILURES_AT_START: readonly (readonly [string, string])[] = [
  ...CERTIFICATE_RESULTS.map((result) => ['mta-sts', result] as const),
  ['mta-sts', 'mx-mismatch'],
  ...CERTIFICATE_RESULTS.map((result) => ['tlsPolicy', result] as const),
  ...CERTIFICATE_RESULTS.map((result) => ['requiretls', result] as const),
  ['requiretls', 'mx-not-authenticated'],
  ['requiretls', 'requiretls-not-supported'],
  ...(['dnssec-invalid', 'dane-required', 'tlsa-invalid', 'starttls-not-supported', 'validation-failure'] as const).map((result) => ['dane', result] as const),
];

/**
 * The metrics:
 * - `outpost_smtp_sessions_total{listener}` counter: SMTP sessions accepted, by listener.
 * - `outpost_smtp_sessions_active` gauge: SMTP sessions open now.
 * - `outpost_messages_accepted_total{listener}` counter: messages queued (250 after DATA), by listener.
 * - `outpost_messages_rejected_total{reason}` counter: transactions refused, by short fixed reason.
 * - `outpost_queue_messages` gauge: messages in the spool, read at scrape time.
 * - `outpost_queue_oldest_age_seconds` gauge: age of the oldest queued message, read at scrape time.
 * - `outpost_deliveries_total{outcome}` counter: per-recipient delivery attempts, delivered|deferred|failed.
 * - `outpost_dsn_sent_total{action}` counter: delivery status notifications queued, failed|delayed.
 * - `outpost_auth_failures_total` counter: failed AUTH exchanges.
 * - `outpost_tls_sessions_total{direction}` counter: TLS handshakes completed, in (STARTTLS/smtps) or out (delivery).
 * - `outpost_smarthost_auth_failures_total{route}` counter: credentials refused by a route's smarthost (535), by route key.
 * - `outpost_recipient_verifications_total{result,source}` counter: RCPT verifications of local recipients,
 *   result valid|invalid|unavailable|unverifiable, source list|cache|probe|none.
 * - `outpost_mta_sts_fetch_failures_total` counter: MTA-STS policy fetches that failed (network, TLS, HTTP, size, type, syntax).
 * - `outpost_tls_policy_failures_total{policy,result}` counter: outbound TLS a policy requires that was not to be had,
 *   per host (skipped before connecting, or per attempt) or per destination when no host qualifies; policy
 *   mta-sts|dane|tlsPolicy|requiretls, result an RFC 8460 result type (starttls-not-supported, certificate-host-mismatch,
 *   certificate-expired, certificate-not-trusted, validation-failure; for DANE dnssec-invalid (TLSA lookup bogus or
 *   failed), dane-required (tlsPolicy dane, no usable TLSA), tlsa-invalid) or mx-mismatch, mx-not-authenticated,
 *   requiretls-not-supported.
 * - `outpost_dane_hosts_total{status}` counter: MX hosts planned with DNSSEC on, by what DANE asked of them:
 *   usable, unusable (TLS without authentication), absent (no TLSA), insecure (something on the way not signed), failed.
 * - `outpost_mta_sts_testing_failures_total` counter: hosts an MTA-STS policy in testing mode would have refused (mail went on).
 * - `outpost_tlsrpt_sessions_total{result}` counter: outbound TLS sessions (and MTA-STS policy fetches) recorded for
 *   TLS reports (RFC 8460), result success|failure.
 * - `outpost_tlsrpt_reports_total{method,result}` counter: TLS reports per rua, method mailto|https, result sent
 *   (queued or POSTed) or failed (a failed attempt; retried a few times).
 * - `outpost_doctor_check{domain,check}` gauge: 1 when the last DNS doctor run found that check ok or warn, 0 when it failed.
 * - `outpost_spool_free_bytes` / `outpost_spool_min_free_bytes` gauges: free space on the spool's file system and the
 *   reserve below which mail is refused (`limits.minFreeSpace`); exported once `setSpoolFreeSpace` wires them.
 * - `outpost_provider_sessions{provider}` gauge: outbound sessions open to a provider (MX hosts' registrable domain), from memory at scrape time.
 * - `outpost_provider_paused{provider}` gauge: 1 while a provider is paused after throttling us, else 0.
 * - `outpost_provider_throttled_total{provider}` counter: throttling replies from a provider (421 4.7.0, 4.7.28, 4.7.650...).
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly sessions: Counter<'listener'>;
  private readonly activeSessions: Gauge;
  private readonly accepted: Counter<'listener'>;
  private readonly rejected: Counter<'reason'>;
  private readonly queueMessages: Gauge;
  private readonly queueOldestAge: Gauge;
  private readonly deliveries: Counter<'outcome'>;
  private readonly dsns: Counter<'action'>;
  private readonly authFailures: Counter;
  private readonly tlsSessions: Counter<'direction'>;
  private readonly smarthostAuthFailures: Counter<'route'>;
  private readonly doctorChecks: Gauge<'domain' | 'check'>;
  private readonly verifications: Counter<'result' | 'source'>;
  private readonly stsFetchFailures: Counter;
  private readonly tlsPolicyFailures: Counter<'policy' | 'result'>;
  private readonly stsTestingFailures: Counter;
  private readonly tlsRptSessions: Counter<'result'>;
  private readonly tlsRptReports: Counter<'method' | 'result'>;
  private readonly daneHosts: Counter<'status'>;
  private readonly providerSessions: Gauge<'provider'>;
  private readonly providerPaused: Gauge<'provider'>;
  private readonly providerThrottles: Counter<'provider'>;
  private queueSnapshot: (() => QueueSnapshot | Promise<QueueSnapshot>) | undefined;
  private providerRows: (() => readonly ProviderMetricRow[]) | undefined;

  constructor(private readonly options: MetricsOptions = {}) {
    const r = this.registry;
    this.sessions = r.counter({ name: 'outpost_smtp_sessions_total', help: 'SMTP sessions accepted, by listener.', labelNames: ['listener'] });
    this.activeSessions = r.gauge({ name: 'outpost_smtp_sessions_active', help: 'SMTP sessions open now.' });
    this.accepted = r.counter({ name: 'outpost_messages_accepted_total', help: 'Messages accepted and queued, by listener.', labelNames: ['listener'] });
    this.rejected = r.counter({ name: 'outpost_messages_rejected_total', help: 'Mail transactions or recipients refused, by reason.', labelNames: ['reason'] });
    this.queueMessages = r.gauge({ name: 'outpost_queue_messages', help: 'Messages in the queue.' });
    this.queueOldestAge = r.gauge({ name: 'outpost_queue_oldest_age_seconds', help: 'Age of the oldest queued message in seconds (0 when empty).' });
    this.deliveries = r.counter({ name: 'outpost_deliveries_total', help: 'Per-recipient delivery outcomes.', labelNames: ['outcome'] });
    this.dsns = r.counter({ name: 'outpost_dsn_sent_total', help: 'Delivery status notifications queued, by action.', labelNames: ['action'] });
    this.authFailures = r.counter({ name: 'outpost_auth_failures_total', help: 'Failed SMTP AUTH attempts.' });
    this.tlsSessions = r.counter({ name: 'outpost_tls_sessions_total', help: 'TLS sessions established, inbound or outbound.', labelNames: ['direction'] });
    this.smarthostAuthFailures = r.counter({ name: 'outpost_smarthost_auth_failures_total', help: 'Credentials refused by a route smarthost, by route.', labelNames: ['route'] });
    this.doctorChecks = r.gauge({ name: 'outpost_doctor_check', help: 'Last DNS doctor result per domain and check: 1 ok or warn, 0 fail.', labelNames: ['domain', 'check'] });
    this.verifications = r.counter({
      name: 'outpost_recipient_verifications_total',
      help: 'RCPT verifications of local-domain recipients from unauthorized clients, by result and where it came from.',
      labelNames: ['result', 'source'],
    });
    for (const source of ['cache', 'probe'] as const) for (const result of ['valid', 'invalid'] as const) this.verifications.touch({ result, source });
    this.verifications.touch({ result: 'unavailable', source: 'probe' });
    this.stsFetchFailures = r.counter({ name: 'outpost_mta_sts_fetch_failures_total', help: 'MTA-STS policy fetches that failed.' });
    this.tlsPolicyFailures = r.counter({
      name: 'outpost_tls_policy_failures_total',
      help: 'Outbound TLS required by a policy (MTA-STS, DANE, delivery.tlsPolicy, REQUIRETLS) and not had, by policy and RFC 8460 result.',
      labelNames: ['policy', 'result'],
    });
    this.stsTestingFailures = r.counter({ name: 'outpost_mta_sts_testing_failures_total', help: 'MX hosts an MTA-STS policy in testing mode would have refused.' });
    this.providerSessions = r.gauge({ name: 'outpost_provider_sessions', help: 'Outbound sessions open to a mail provider.', labelNames: ['provider'] });
    this.providerPaused = r.gauge({ name: 'outpost_provider_paused', help: '1 while a mail provider is paused after throttling us, else 0.', labelNames: ['provider'] });
    this.providerThrottles = r.counter({ name: 'outpost_provider_throttled_total', help: 'Throttling replies from a mail provider.', labelNames: ['provider'] });
    this.stsFetchFailures.touch({});
    this.stsTestingFailures.touch({});
    this.tlsRptSessions = r.counter({ name: 'outpost_tlsrpt_sessions_total', help: 'Outbound TLS sessions recorded for TLS reports (RFC 8460), by result.', labelNames: ['result'] });
    this.tlsRptReports = r.counter({ name: 'outpost_tlsrpt_reports_total', help: 'TLS reports sent (queued or POSTed) or failed to send, by method.', labelNames: ['method', 'result'] });
    for (const result of ['success', 'failure'] as const) this.tlsRptSessions.touch({ result });
    for (const method of ['mailto', 'https'] as const) for (const result of ['sent', 'failed'] as const) this.tlsRptReports.touch({ method, result });
    for (const [policy, result] of TLS_POLICY_FAILURES_AT_START) this.tlsPolicyFailures.touch({ policy, result });
    this.daneHosts = r.counter({ name: 'outpost_dane_hosts_total', help: 'MX hosts planned with DNSSEC validation on, by what DANE asked of them.', labelNames: ['status'] });
    for (const status of ['usable', 'unusable', 'absent', 'insecure', 'failed'] as const) this.daneHosts.touch({ status });
    for (const listener of options.listeners ?? []) {
      this.sessions.touch({ listener });
      this.accepted.touch({ listener });
    }
    for (const reason of options.rejectReasons ?? []) this.rejected.touch({ reason });
    for (const outcome of ['delivered', 'deferred', 'failed'] as const) this.deliveries.touch({ outcome });
    for (const action of ['failed', 'delayed'] as const) this.dsns.touch({ action });
    for (const direction of ['in', 'out'] as const) this.tlsSessions.touch({ direction });
    r.addCollector(() => this.collectQueue());
    r.addCollector(() => this.collectProviders());
  }

  sessionStarted(listener: string): void {
    this.sessions.inc({ listener });
    this.activeSessions.inc({});
  }

  sessionEnded(): void {
    this.activeSessions.dec({});
  }

  messageAccepted(listener: string): void {
    this.accepted.inc({ listener });
  }

  /** `reason` is a short fixed name such as `relay-denied`, never client input. */
  messageRejected(reason: string): void {
    this.rejected.inc({ reason });
  }

  delivery(outcome: DeliveryMetricOutcome, recipients = 1): void {
    this.deliveries.inc({ outcome }, recipients);
  }

  dsnSent(action: DsnMetricAction): void {
    this.dsns.inc({ action });
  }

  authFailed(): void {
    this.authFailures.inc({});
  }

  tlsSession(direction: TlsDirection): void {
    this.tlsSessions.inc({ direction });
  }

  /** `route` is a delivery.routes key ("*" or a domain) from the config, never remote input. */
  smarthostAuthFailed(route: string): void {
    this.smarthostAuthFailures.inc({ route });
  }

  /** `result` and `source` are fixed names (VerificationResult, VerificationSource). */
  recipientVerified(result: string, source: string): void {
    this.verifications.inc({ result, source });
  }

  mtaStsFetchFailed(): void {
    this.stsFetchFailures.inc({});
  }

  /** `policy` and `result` are fixed names (delivery/tls-failure.ts), never remote input. */
  tlsPolicyFailure(policy: string, result: string): void {
    this.tlsPolicyFailures.inc({ policy, result });
  }

  /** `status` is a fixed DANE host status name (usable, unusable, absent, insecure, failed). */
  daneHostStatus(status: string): void {
    this.daneHosts.inc({ status });
  }

  mtaStsTestingFailure(): void {
    this.stsTestingFailures.inc({});
  }

  tlsRptSessionRecorded(result: 'success' | 'failure'): void {
    this.tlsRptSessions.inc({ result });
  }

  /** `method` is mailto or https, `result` sent or failed: fixed names. */
  tlsRptReport(method: 'mailto' | 'https', result: 'sent' | 'failed'): void {
    this.tlsRptReports.inc({ method, result });
  }

  /** Sets `outpost_doctor_check` from a doctor report: per (domain, check), 0 when any row failed, else 1. */
  doctorReport(rows: readonly DoctorMetricRow[]): void {
    const values = new Map<string, { domain: string; check: string; value: number }>();
    for (const row of rows) {
      const key = `${row.domain}\n${row.check}`;
      const value = row.status === 'fail' ? 0 : 1;
      values.set(key, { domain: row.domain, check: row.check, value: Math.min(value, values.get(key)?.value ?? 1) });
    }
    for (const { domain, check, value } of values.values()) this.doctorChecks.set({ domain, check }, value);
  }

  /** Sets the source of the queue gauges, called once per scrape; replaces any earlier one. */
  setQueueGauges(collect: () => QueueSnapshot | Promise<QueueSnapshot>): void {
    this.queueSnapshot = collect;
  }

  /**
   * Exports `outpost_spool_free_bytes` (read at each scrape through `readFreeBytes`, meant to be the cached
   * reader the SMTP server uses; NaN when it fails) and `outpost_spool_min_free_bytes`. Call once.
   */
  setSpoolFreeSpace(readFreeBytes: () => Promise<number>, minFreeBytes: number): void {
    const free = this.registry.gauge({ name: 'outpost_spool_free_bytes', help: 'Bytes free for new files on the spool file system.' });
    const reserve = this.registry.gauge({ name: 'outpost_spool_min_free_bytes', help: 'Free bytes below which new mail is refused (limits.minFreeSpace).' });
    reserve.set({}, minFreeBytes);
    this.registry.addCollector(async () => {
      try {
        free.set({}, await readFreeBytes());
      } catch (error: unknown) {
        free.set({}, NaN);
        this.options.logger?.warn({ err: error }, 'spool free space metric failed');
      }
    });
  }

  /** `provider` comes from MX host names (bounded by the scheduler's memory of providers). */
  providerThrottled(provider: string): void {
    this.providerThrottles.inc({ provider });
  }

  /** Sets the source of the provider gauges (the scheduler's memory), called once per scrape. */
  setProviderGauges(collect: () => readonly ProviderMetricRow[]): void {
    this.providerRows = collect;
  }

  /** The exposition text (format 0.0.4). */
  render(): Promise<string> {
    return this.registry.render();
  }

  private collectProviders(): void {
    if (this.providerRows === undefined) return;
    for (const row of this.providerRows()) {
      this.providerSessions.set({ provider: row.provider }, row.running);
      this.providerPaused.set({ provider: row.provider }, row.pausedUntilMs === undefined ? 0 : 1);
    }
  }

  /** A failing snapshot shows as NaN (unknown) rather than failing the whole scrape. */
  private async collectQueue(): Promise<void> {
    if (this.queueSnapshot === undefined) return;
    try {
      const snapshot = await this.queueSnapshot();
      this.queueMessages.set({}, snapshot.messages);
      this.queueOldestAge.set({}, snapshot.oldestAgeSeconds);
    } catch (error: unknown) {
      this.queueMessages.set({}, NaN);
      this.queueOldestAge.set({}, NaN);
      this.options.logger?.warn({ err: error }, 'queue metrics collection failed');
    }
  }
}
