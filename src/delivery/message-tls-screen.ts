// A job's plan screened for how its messages ask to travel (RFC 8689): ordinary
// mail follows the destination's TLS policies (tls-screen.ts); "TLS-Required: No"
// ignores them (§4.2.2: STARTTLS when offered, plaintext allowed); REQUIRETLS keeps
// only authenticated hosts with verified TLS (§4.2.1) or bounces with 5.7.10.

import type { Logger } from 'pino';
import type { PlanSuccess } from '../dns/next-hop.js';
import type { TlsRequirement } from '../spool/types.js';
import { requireTlsRefusedOutcome } from './outcomes.js';
import { basisText, REQUIRETLS_REQUIRED_BY, requireTlsHosts } from './requiretls.js';
import type { SessionTls } from './session-setup.js';
import type { OutboundTls } from './tls-policy.js';
import { screenPlan, type ScreenedPlan, type TlsPolicyObserver } from './tls-screen.js';

/** What the transport uses of OutboundTls. */
export type OutboundTlsPolicies = Pick<OutboundTls, 'forDestination' | 'levelFor' | 'stsPolicy' | 'verifiedTls' | 'optionalTls'>;

/**
 * Seam for DNSSEC (dns.dnssec, added with DANE): true when the plan's MX answer was
 * authenticated by a validating resolver we trust. Without it MX answers count as not secure.
 */
export type MxAuthentication = (plan: PlanSuccess) => boolean;

export const MX_NOT_AUTHENTICATED: MxAuthentication = () => false;

export interface MessageTlsContext {
  /** undefined: no MX policies (tests); REQUIRETLS then verifies with the setup's CAs. */
  readonly outboundTls: OutboundTlsPolicies | undefined;
  readonly mxAuthenticated: MxAuthentication;
  readonly log: Logger;
  readonly observer: TlsPolicyObserver | undefined;
}

const UNSCREENED = { enforcedBy: undefined, testing: undefined } as const;

/**
 * The hosts and TLS for messages with `requirement`. `ownTls` is the TLS a route (or an
 * address literal) brings; MX and implicit-MX plans get theirs from the destination's policies.
 */
export async function screenForMessages(requirement: TlsRequirement | undefined, plan: PlanSuccess, ownTls: SessionTls, signal: AbortSignal, context: MessageTlsContext): Promise<ScreenedPlan> {
  if (requirement === 'requiretls') return screenRequireTls(plan, ownTls, signal, context);
  const { outboundTls } = context;
  if (outboundTls === undefined || plan.source === 'route' || plan.source === 'literal') return { ok: true, plan, tls: ownTls, ...UNSCREENED };
  if (requirement === 'tls-required-no') {
    const tls = outboundTls.optionalTls(plan.domain);
    context.log.info({ destination: plan.domain, tlsMode: tls.mode }, 'tls-required-no: tls policies ignored');
    return { ok: true, plan, tls, ...UNSCREENED };
  }
  return screenPlan(outboundTls, plan, signal, context.log, context.observer);
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
  const hosts = plan.hosts.filter(({ host }) => judged.hosts.includes(host));
  log.info({ destination: plan.domain, requiretls: basisText(judged.basis), hosts: judged.hosts }, 'requiretls: hosts chosen');
  const tls: SessionTls =
    plan.source === 'route'
      ? { ...ownTls, requiredBy: REQUIRETLS_REQUIRED_BY }
      : (outboundTls?.verifiedTls(REQUIRETLS_REQUIRED_BY) ?? { mode: 'starttls', verify: true, ca: undefined, requiredBy: REQUIRETLS_REQUIRED_BY });
  return { ok: true, plan: { ...plan, hosts }, tls, enforcedBy: 'requiretls', testing: undefined };
}
