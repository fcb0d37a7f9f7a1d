// Applying a destination's TLS policy to its MX plan before any connection
// (RFC 8461 §5.1 step 2): enforce drops MX hosts outside the policy and defers
// with 4.7.5 when none is left; testing keeps them and logs the mismatch.

import type { Logger } from 'pino';
import type { PlanSuccess } from '../dns/next-hop.js';
import { localOutcome } from './outcomes.js';
import type { SessionTls } from './session-setup.js';
import { reportScope, reportSkippedHost, type TlsReportScope } from './tls-report-hook.js';
import type { TlsReportRecorder } from '../tlsrpt/types.js';
import { judgeHosts, levelOf, type DestinationTls, type OutboundTls } from './tls-policy.js';
import type { RecipientOutcome } from './types.js';

/** Which policy made TLS required or checked, as metrics and logs name it. */
export type TlsPolicyName = 'mta-sts' | 'tlsPolicy';

export interface TlsPolicyObserver {
  /** An MX host was passed over because of a policy: not in the MTA-STS policy, or TLS the policy requires failed. */
  tlsPolicyHostSkipped?(policy: TlsPolicyName, reason: 'mx-mismatch' | 'tls'): void;
  /** An MTA-STS policy in testing mode would have refused a host (delivery went on). */
  stsTestingFailure?(): void;
}

export type ScreenedPlan =
  | {
      readonly ok: true;
      readonly plan: PlanSuccess;
      readonly tls: SessionTls;
      /** The policy that requires TLS, if one does. */
      readonly enforcedBy: TlsPolicyName | undefined;
      /** Testing mode: the policy whose failures are logged, not enforced. */
      readonly testing: { readonly domain: string; readonly id: string } | undefined;
      /** What the sessions are reported under for TLS reporting (RFC 8460), if anything. */
      readonly report: TlsReportScope | undefined;
    }
  | { readonly ok: false; readonly outcome: RecipientOutcome };

/** Policy fields for log lines. */
export function policyFields(decided: DestinationTls): Record<string, unknown> {
  if (decided.source === 'tlsPolicy') return { tlsPolicy: decided.level };
  if (decided.source === 'mta-sts') return { mtaSts: decided.sts.policy.mode, mtaStsId: decided.sts.id, mtaStsSource: decided.sts.source };
  return decided.sts?.kind === 'policy' ? { mtaSts: decided.sts.policy.mode, mtaStsId: decided.sts.id } : {};
}

export async function screenPlan(
  outboundTls: Pick<OutboundTls, 'forDestination'>,
  plan: PlanSuccess,
  signal: AbortSignal,
  log: Logger,
  observer: TlsPolicyObserver | undefined,
  tlsReports?: TlsReportRecorder,
): Promise<ScreenedPlan> {
  const destination = plan.domain;
  const decided = await outboundTls.forDestination(destination, signal);
  const verdicts = judgeHosts(decided, plan);
  const sts = decided.source === 'mta-sts' ? decided.sts : undefined;
  const report = tlsReports === undefined ? undefined : reportScope(decided);
  for (const { host, verdict } of verdicts) {
    if (verdict === 'use' || sts === undefined) continue;
    const fields = { destination, mx: host, mtaStsId: sts.id, mtaStsMx: sts.policy.mx };
    if (verdict === 'skip') {
      observer?.tlsPolicyHostSkipped?.('mta-sts', 'mx-mismatch');
      if (tlsReports !== undefined && report !== undefined) reportSkippedHost(tlsReports, report, host);
      log.warn(fields, 'mx skipped: not in the mta-sts policy');
    } else {
      observer?.stsTestingFailure?.();
      log.warn(fields, 'mta-sts testing: mx not in the policy');
    }
  }
  const hosts = plan.hosts.filter((_, index) => verdicts[index]?.verdict !== 'skip');
  log.debug({ destination, tlsLevel: levelOf(decided.tls), ...policyFields(decided) }, 'outbound tls policy');
  if (hosts.length === 0) {
    const patterns = sts?.policy.mx.join(', ') ?? '';
    const names = plan.hosts.map(({ host }) => host).join(', ');
    return { ok: false, outcome: localOutcome('transient', 451, '4.7.5', `${destination}: no MX host (${names}) matches its MTA-STS policy (mx: ${patterns}); not delivered without it`) };
  }
  const enforcedBy = decided.tls.mode === 'starttls' ? (decided.source === 'mta-sts' ? 'mta-sts' : 'tlsPolicy') : undefined;
  const testing = sts !== undefined && sts.policy.mode === 'testing' ? { domain: destination, id: sts.id } : undefined;
  return { ok: true, plan: { ...plan, hosts }, tls: decided.tls, enforcedBy, testing, report };
}
