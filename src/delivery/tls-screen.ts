// Applying a destination's TLS policy to its MX plan before any connection
// (RFC 8461 §5.1 step 2, RFC 7672 §2.2): MTA-STS enforce drops MX hosts outside the
// policy, DANE drops hosts whose TLSA lookup failed (and, under tlsPolicy dane, hosts
// without usable TLSA records); none left defers with 4.7.5. Testing mode only logs.

import type { Logger } from 'pino';
import type { DaneStatusName } from '../dane/host-status.js';
import { tlsaText } from '../dane/tlsa.js';
import type { PlanSuccess } from '../dns/next-hop.js';
import { localOutcome } from './outcomes.js';
import type { SessionTls } from './session-setup.js';
import type { TlsReportRecorder } from '../tlsrpt/types.js';
import type { HostTlsFailure, TlsFailureResult, TlsPolicyName } from './tls-failure.js';
import { hostReportScope, reportSkippedHost, type TlsReportScope } from './tls-report-hook.js';
import { levelOf, type DestinationTls, type HostTls, type OutboundTls, type PlanTls } from './tls-policy.js';
import type { RecipientOutcome } from './types.js';

export type { TlsPolicyName } from './tls-failure.js';

export interface TlsPolicyObserver {
  /**
   * A policy refused a host or a destination: an MX host not in the MTA-STS policy, a DANE failure
   * (TLSA lookup, no usable record under tlsPolicy dane, no match), TLS the policy requires that failed
   * (per attempt), a REQUIRETLS message with no authenticated MX or a host without REQUIRETLS.
   */
  tlsPolicyFailure?(policy: TlsPolicyName, result: TlsFailureResult): void;
  /** An MTA-STS policy in testing mode would have refused a host (delivery went on). */
  stsTestingFailure?(): void;
  /** What DANE asked of an MX host of a plan (dns.dnssec on). */
  daneHostStatus?(status: DaneStatusName): void;
  /** A host's TLS failed under a policy (skipped before connecting, or its session closed): for TLS reporting (RFC 8460). */
  tlsFailure?(failure: HostTlsFailure): void;
}

/** How sessions with one host use TLS. */
export interface HostSessionTls {
  readonly tls: SessionTls;
  /** The policy that requires this TLS, if one does. */
  readonly enforcedBy: TlsPolicyName | undefined;
  /** Testing mode: the MTA-STS policy whose failures are logged, not enforced. */
  readonly testing: { readonly domain: string; readonly id: string } | undefined;
  /** TLS reporting (RFC 8460): the policy this host's sessions count under, if any. */
  readonly report?: TlsReportScope;
}

export type ScreenedPlan =
  | {
      readonly ok: true;
      readonly plan: PlanSuccess;
      /** Each kept host's TLS. */
      readonly hosts: ReadonlyMap<string, HostSessionTls>;
    }
  | { readonly ok: false; readonly outcome: RecipientOutcome };

/** Policy fields for log lines. */
export function policyFields(decided: DestinationTls): Record<string, unknown> {
  if (decided.source === 'tlsPolicy') return { tlsPolicy: decided.level };
  if (decided.source === 'mta-sts') return { mtaSts: decided.sts.policy.mode, mtaStsId: decided.sts.id, mtaStsSource: decided.sts.source };
  return decided.sts?.kind === 'policy' ? { mtaSts: decided.sts.policy.mode, mtaStsId: decided.sts.id } : {};
}

/** DANE fields of a host for log lines. */
export function daneFields(host: HostTls): Record<string, unknown> {
  const dane = host.dane;
  if (dane === undefined) return {};
  const records = dane.status === 'usable' || dane.status === 'unusable' ? { tlsa: dane.records.map(tlsaText) } : { daneReason: dane.reason };
  return { dane: dane.status, tlsaName: dane.name, ...records };
}

function logHost(host: HostTls, planTls: PlanTls, destination: string, log: Logger, observer: TlsPolicyObserver | undefined, tlsReports: TlsReportRecorder | undefined): void {
  const { destination: decided } = planTls;
  if (host.dane !== undefined) observer?.daneHostStatus?.(host.dane.status);
  const fields = { destination, mx: host.host, tlsLevel: levelOf(host.tls), ...daneFields(host) };
  if (host.skipped !== undefined) {
    const { policy, resultType, reason } = host.skipped;
    const sts = policy === 'mta-sts' && decided.source === 'mta-sts' ? { mtaStsId: decided.sts.id, mtaStsMx: decided.sts.policy.mx } : {};
    observer?.tlsPolicyFailure?.(policy, policy === 'mta-sts' ? 'mx-mismatch' : resultType);
    observer?.tlsFailure?.({ resultType, policy, domain: destination, mx: host.host, address: undefined, reason });
    const scope = tlsReports === undefined ? undefined : hostReportScope(decided, destination, host);
    if (tlsReports !== undefined && scope !== undefined) reportSkippedHost(tlsReports, scope, host.host, host.skipped);
    if (policy === 'mta-sts') log.warn({ ...fields, ...sts }, 'mx skipped: not in the mta-sts policy');
    else log.warn({ ...fields, resultType, reason }, 'mx skipped: dane');
    return;
  }
  if (host.verdict === 'mismatch' && decided.source === 'mta-sts') {
    observer?.stsTestingFailure?.();
    log.warn({ ...fields, mtaStsId: decided.sts.id, mtaStsMx: decided.sts.policy.mx }, 'mta-sts testing: mx not in the policy');
  }
  if (host.dane?.status === 'unusable') log.warn({ ...fields, resultType: 'tlsa-invalid' }, 'dane: no usable tlsa record, tls required without authentication');
  else if (host.dane !== undefined) log.debug(fields, 'dane');
}

/** The deferral when every host was skipped. */
function noHostLeft(destination: string, planTls: PlanTls, plan: PlanSuccess): RecipientOutcome {
  const { destination: decided, hosts } = planTls;
  const names = plan.hosts.map(({ host }) => host).join(', ');
  if (decided.source === 'mta-sts' && hosts.every((host) => host.skipped?.policy === 'mta-sts')) {
    const patterns = decided.sts.policy.mx.join(', ');
    return localOutcome('transient', 451, '4.7.5', `${destination}: no MX host (${names}) matches its MTA-STS policy (mx: ${patterns}); not delivered without it`);
  }
  const reasons = hosts.map((host) => `${host.host}: ${host.skipped?.reason ?? 'skipped'}`).join('; ');
  return localOutcome('transient', 451, '4.7.5', `${destination}: no MX host can be used with the TLS its policy requires (${reasons})`);
}

/** `tlsReports`: TLS reporting's recorder; hosts skipped are recorded here, and each kept host gets the scope its sessions are recorded under. */
export async function screenPlan(
  outboundTls: Pick<OutboundTls, 'forPlan'>,
  plan: PlanSuccess,
  signal: AbortSignal,
  log: Logger,
  observer: TlsPolicyObserver | undefined,
  tlsReports?: TlsReportRecorder,
): Promise<ScreenedPlan> {
  const destination = plan.domain;
  const planTls = await outboundTls.forPlan(plan, signal);
  const { destination: decided } = planTls;
  for (const host of planTls.hosts) logHost(host, planTls, destination, log, observer, tlsReports);
  log.debug({ destination, tlsLevel: levelOf(decided.tls), dane: planTls.daneOn, ...policyFields(decided) }, 'outbound tls policy');
  const kept = planTls.hosts.filter((host) => host.verdict !== 'skip');
  if (kept.length === 0) return { ok: false, outcome: noHostLeft(destination, planTls, plan) };
  const testingId = decided.source === 'mta-sts' && decided.sts.policy.mode === 'testing' ? { domain: destination, id: decided.sts.id } : undefined;
  const hosts = new Map(
    kept.map((host) => {
      const report = tlsReports === undefined ? undefined : hostReportScope(decided, destination, host);
      const hostTls: HostSessionTls = { tls: host.tls, enforcedBy: host.enforcedBy, testing: host.testing ? testingId : undefined, ...(report === undefined ? {} : { report }) };
      return [host.host, hostTls] as const;
    }),
  );
  return { ok: true, plan: { ...plan, hosts: plan.hosts.filter(({ host }) => hosts.has(host)) }, hosts };
}
