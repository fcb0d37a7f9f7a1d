// A job's plan screened for how its messages ask to travel (RFC 8689): ordinary
// mail follows the destination's TLS policies (tls-screen.ts); "TLS-Required: No"
// ignores them, DANE included (§4.2.2, §5: STARTTLS when offered, plaintext allowed);
// REQUIRETLS keeps only authenticated hosts (MX names authenticated by DNSSEC or MTA-STS)
// with TLS verified by DANE or the trusted CAs (§4.2.1), or bounces with 5.7.10.

import type { Logger } from 'pino';
import type { PlanSuccess } from '../dns/next-hop.js';
import type { TlsRequirement } from '../spool/types.js';
import { requireTlsRefusedOutcome } from './outcomes.js';
import { basisText, REQUIRETLS_REQUIRED_BY, requireTlsHosts } from './requiretls.js';
import type { TlsReportRecorder } from '../tlsrpt/types.js';
import type { SessionTls } from './session-setup.js';
import type { HostTls, OutboundTls } from './tls-policy.js';
import { daneFields, screenPlan, type HostSessionTls, type ScreenedPlan, type TlsPolicyObserver } from './tls-screen.js';

/** What the transport uses of OutboundTls. */
export type OutboundTlsPolicies = Pick<OutboundTls, 'forPlan' | 'levelFor' | 'stsPolicy' | 'verifiedTls' | 'requireTlsHostTls' | 'optionalTls'>;

/**
 * Whether the plan's MX answer was authenticated by a validating resolver we trust
 * (RFC 8689 §4.2.1: REQUIRETLS trusts the MX names of a DNSSEC-secure answer).
 */
export type MxAuthentication = (plan: PlanSuccess) => boolean;

export const MX_NOT_AUTHENTICATED: MxAuthentication = () => false;

/** The plan's MX RRset was DNSSEC-secure: dns.dnssec on and AD set by a trusted resolver (the plan's `mxSecure`). */
export const MX_SECURE_BY_DNSSEC: MxAuthentication = (plan) => plan.source === 'mx' && plan.mxSecure === true;

/** Every host of `plan` with the same TLS. */
export function sameTlsForAll(plan: PlanSuccess, tls: SessionTls, enforcedBy: HostSessionTls['enforcedBy'] = undefined): ScreenedPlan {
  const hostTls: HostSessionTls = { tls, enforcedBy, testing: undefined };
  return { ok: true, plan, hosts: new Map(plan.hosts.map(({ host }) => [host, hostTls] as const)) };
}

export interface MessageTlsContext {
  /** undefined: no MX policies (tests); REQUIRETLS then verifies with the setup's CAs. */
  readonly outboundTls: OutboundTlsPolicies | undefined;
  readonly mxAuthenticated: MxAuthentication;
  readonly log: Logger;
  readonly observer: TlsPolicyObserver | undefined;
  /** TLS reporting (RFC 8460): ordinary mail's sessions under MTA-STS, DANE or no policy are recorded here (REQUIRETLS and TLS-Required: No walks are not). */
  readonly tlsReports?: TlsReportRecorder;
}

/**
 * The hosts and TLS for messages with `requirement`. `ownTls` is the TLS a route (or an
 * address literal) brings; MX and implicit-MX plans get theirs from the destination's policies.
 */
export async function screenForMessages(requirement: TlsRequirement | undefined, plan: PlanSuccess, ownTls: SessionTls, signal: AbortSignal, context: MessageTlsContext): Promise<ScreenedPlan> {
  if (requirement === 'requiretls') return screenRequireTls(plan, ownTls, signal, context);
  const { outboundTls } = context;
  if (outboundTls === undefined || plan.source === 'route' || plan.source === 'literal') return sameTlsForAll(plan, ownTls);
  if (requirement === 'tls-required-no') {
    // No TLSA lookup, no MTA-STS: DANE is a TLS policy like the others (RFC 8689 §5).
    const tls = outboundTls.optionalTls(plan.domain);
    context.log.info({ destination: plan.domain, tlsMode: tls.mode }, 'tls-required-no: tls policies ignored');
    return sameTlsForAll(plan, tls);
  }
  return screenPlan(outboundTls, plan, signal, context.log, context.observer, context.tlsReports);
}

async function screenRequireTls(plan: PlanSuccess, ownTls: SessionTls, signal: AbortSignal, context: MessageTlsContext): Promise<ScreenedPlan> {
  const { outboundTls, log } = context;
  const viaMx = plan.source === 'mx' || plan.source === 'implicit';
  const judged = requireTlsHosts({
    plan,
    routeTls: plan.source === 'route' ? ownTls : undefined,
    level: viaMx ? outboundTls?.levelFor(plan.domain) : undefined,
    sts: plan.source === 'mx' ? await outboundTls?.stsPolicy(plan.domain, signal) : undefined,
    mxSecure: plan.source === 'mx' && context.mxAuthenticated(plan),
  });
  if (!judged.ok) {
    context.observer?.tlsPolicyFailure?.('requiretls', judged.result);
    log.warn({ destination: plan.domain, policy: 'requiretls', result: judged.result, problem: judged.reason }, 'tls policy failure');
    return { ok: false, outcome: requireTlsRefusedOutcome(judged.reason) };
  }
  const chosen = { ...plan, hosts: plan.hosts.filter(({ host }) => judged.hosts.includes(host)) };
  log.info({ destination: plan.domain, requiretls: basisText(judged.basis), hosts: judged.hosts }, 'requiretls: hosts chosen');
  if (plan.source === 'route') return sameTlsForAll(chosen, { ...ownTls, requiredBy: REQUIRETLS_REQUIRED_BY }, 'requiretls');
  if (outboundTls === undefined) return sameTlsForAll(chosen, { mode: 'starttls', verify: true, ca: undefined, requiredBy: REQUIRETLS_REQUIRED_BY }, 'requiretls');
  // Each host's certificate is checked by DANE where it has usable TLSA records, else against the trusted CAs.
  const hostTls = await outboundTls.requireTlsHostTls(chosen, REQUIRETLS_REQUIRED_BY);
  for (const host of hostTls) logRequireTlsHost(host, plan.domain, log, context.observer);
  const kept = hostTls.filter((host) => host.verdict !== 'skip');
  if (kept.length === 0) {
    const reasons = hostTls.map((host) => `${host.host}: ${host.skipped?.reason ?? 'skipped'}`).join('; ');
    return { ok: false, outcome: requireTlsRefusedOutcome(`no MX host of ${plan.domain} can be used (${reasons})`) };
  }
  const hosts = new Map(kept.map((host) => [host.host, { tls: host.tls, enforcedBy: 'requiretls', testing: undefined }] as const));
  return { ok: true, plan: { ...chosen, hosts: chosen.hosts.filter(({ host }) => hosts.has(host)) }, hosts };
}

/** What DANE said of a host a REQUIRETLS message may go to: counted, and a skipped host logged. */
function logRequireTlsHost(host: HostTls, destination: string, log: MessageTlsContext['log'], observer: TlsPolicyObserver | undefined): void {
  if (host.dane !== undefined) observer?.daneHostStatus?.(host.dane.status);
  const fields = { destination, mx: host.host, policy: 'requiretls', ...daneFields(host) };
  if (host.skipped === undefined) {
    log.debug({ ...fields, tlsCheck: host.tls.dane !== undefined ? 'dane' : 'pkix' }, 'requiretls: host tls');
    return;
  }
  const { resultType, reason } = host.skipped;
  observer?.tlsPolicyFailure?.('requiretls', resultType);
  observer?.tlsFailure?.({ resultType, policy: 'requiretls', domain: destination, mx: host.host, address: undefined, reason });
  log.warn({ ...fields, result: resultType, problem: reason }, 'tls policy failure');
}
