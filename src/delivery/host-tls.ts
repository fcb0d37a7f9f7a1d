// Each MX host's TLS under its destination's policy (pure): MTA-STS enforce skips hosts
// outside the policy (RFC 8461 §4.1) and testing only reports them; DANE (RFC 7672 §2.2)
// goes first for a host with usable TLSA records (RFC 8461 §2), makes a host with only
// unusable ones require TLS, and a failed TLSA lookup skips the host (§2.1.1: never
// plaintext). delivery.tlsPolicy `dane` skips every host DANE cannot authenticate.
// A REQUIRETLS message (RFC 8689 §4.2.1) checks each host's certificate by DANE where
// it has usable TLSA records (RFC 7672), else against the trusted CAs (RFC 6125).

import type { SecureContext } from 'node:tls';
import type { DaneHostStatus } from '../dane/host-status.js';
import type { PlanHost, PlanSuccess } from '../dns/next-hop.js';
import { mxMatches } from '../mtasts/policy.js';
import type { SessionTls } from './session-setup.js';
import type { TlsFailureResult, TlsPolicyName } from './tls-failure.js';
import type { DestinationTls } from './tls-policy.js';

export interface HostVerdict {
  readonly host: string;
  /** use: TLS as `tls` says; skip: not used (policy); mismatch: used, but an MTA-STS testing policy reports it. */
  readonly verdict: 'use' | 'skip' | 'mismatch';
}

export interface HostTls extends HostVerdict {
  /** The TLS of sessions with this host. */
  readonly tls: SessionTls;
  /** The policy that makes TLS required with this host, if one does. */
  readonly enforcedBy: TlsPolicyName | undefined;
  /** What DANE asks of the host; undefined when not consulted (DANE off, a tlsPolicy level other than dane). */
  readonly dane: DaneHostStatus | undefined;
  /** Why a skipped host is skipped, in RFC 8460 terms. */
  readonly skipped: { readonly resultType: TlsFailureResult; readonly policy: TlsPolicyName; readonly reason: string } | undefined;
  /** An MTA-STS policy in testing mode applies: what would fail it is logged. */
  readonly testing: boolean;
}

/** What the destination's MTA-STS policy makes of each host of the plan. */
export function judgeHosts(decided: DestinationTls, plan: PlanSuccess): HostVerdict[] {
  return plan.hosts.map(({ host }) => {
    if (decided.source !== 'mta-sts' || mxMatches(decided.sts.policy, host)) return { host, verdict: 'use' };
    return { host, verdict: decided.sts.policy.mode === 'enforce' ? 'skip' : 'mismatch' };
  });
}

/**
 * DANE-TA reference identifiers (RFC 7672 §3.2.2): the MX host name (the TLSA base domain)
 * and, as the MX RRset was secure, the next-hop domain; an implicit MX is the domain itself.
 */
function referenceNames(plan: PlanSuccess, host: PlanHost): string[] {
  return plan.source === 'mx' && plan.domain !== host.host ? [host.host, plan.domain] : [host.host];
}

function skip(host: string, verdict: Pick<HostTls, 'tls' | 'dane'>, policy: TlsPolicyName, resultType: TlsFailureResult, reason: string): HostTls {
  return { host, verdict: 'skip', ...verdict, enforcedBy: policy, skipped: { resultType, policy, reason }, testing: false };
}

function daneTls(decided: DestinationTls, plan: PlanSuccess, status: Extract<DaneHostStatus, { status: 'usable' }>, names: readonly string[], daneContext: SecureContext | undefined): SessionTls {
  const forced = decided.source === 'tlsPolicy' ? `delivery.tlsPolicy (dane) of ${plan.domain} and ` : '';
  return Object.freeze({
    mode: 'starttls',
    verify: false,
    ca: undefined,
    requiredBy: `${forced}the DANE TLSA records at ${status.name}`,
    dane: { records: status.usable, names },
    ...(daneContext === undefined ? {} : { secureContext: daneContext }),
  });
}

/** DANE's word on one host, or undefined when the destination's policy decides alone. */
function daneVerdict(decided: DestinationTls, plan: PlanSuccess, host: PlanHost, sts: HostVerdict, status: DaneHostStatus | undefined, daneContext: SecureContext | undefined): HostTls | undefined {
  const forced = decided.source === 'tlsPolicy' && decided.level === 'dane';
  const base = { tls: decided.tls, dane: status };
  if (status?.status === 'failed') return skip(host.host, base, 'dane', 'dnssec-invalid', status.reason);
  if (status?.status === 'usable') {
    return { host: host.host, verdict: 'use', tls: daneTls(decided, plan, status, referenceNames(plan, host), daneContext), enforcedBy: 'dane', dane: status, skipped: undefined, testing: false };
  }
  if (forced) {
    if (status?.status === 'unusable') return skip(host.host, base, 'dane', 'tlsa-invalid', `none of the TLSA records at ${status.name} is usable for SMTP (DANE-TA or DANE-EE)`);
    return skip(host.host, base, 'dane', 'dane-required', status?.reason ?? 'DANE is off (dns.dnssec)');
  }
  const stsEnforced = decided.source === 'mta-sts' && decided.sts.policy.mode === 'enforce' && sts.verdict === 'use';
  if (status?.status !== 'unusable' || stsEnforced) return undefined;
  // RFC 7672 §2.2: TLSA records, none usable: TLS is still mandatory, unauthenticated.
  const tls: SessionTls = Object.freeze({ ...decided.tls, mode: 'starttls', verify: false, requiredBy: `the TLSA records at ${status.name} (none usable: TLS without authentication)` });
  return { host: host.host, verdict: 'use', tls, enforcedBy: 'dane', dane: status, skipped: undefined, testing: false };
}

/** Each host's TLS, in plan order; `statuses` (plan order) when DANE was consulted. */
export function hostTls(decided: DestinationTls, plan: PlanSuccess, statuses: readonly DaneHostStatus[] | undefined, daneContext: SecureContext | undefined): HostTls[] {
  const verdicts = judgeHosts(decided, plan);
  return plan.hosts.map((host, index) => {
    const sts = verdicts[index] ?? { host: host.host, verdict: 'use' };
    const status = statuses?.[index];
    const dane = daneVerdict(decided, plan, host, sts, status, daneContext);
    if (dane !== undefined) return dane;
    const enforcedBy: TlsPolicyName | undefined = decided.tls.mode === 'starttls' || decided.tls.mode === 'implicit' ? (decided.source === 'mta-sts' ? 'mta-sts' : 'tlsPolicy') : undefined;
    const testing = decided.source === 'mta-sts' && decided.sts.policy.mode === 'testing';
    if (sts.verdict === 'skip') return skip(host.host, { tls: decided.tls, dane: status }, 'mta-sts', 'validation-failure', 'not in the MTA-STS policy');
    return { host: host.host, verdict: sts.verdict, tls: decided.tls, enforcedBy, dane: status, skipped: undefined, testing };
  });
}

/**
 * Each host's TLS for a REQUIRETLS message (RFC 8689 §4.2.1: the certificate checked as RFC 7672
 * or RFC 6125 apply): DANE's check where the host has usable TLSA records, else `verifiedTls`
 * (the trusted CAs and the host name). A failed TLSA lookup skips the host, and so does a host
 * DANE cannot authenticate under delivery.tlsPolicy dane. `statuses` (plan order) when DANE was consulted.
 */
export function requireTlsHostTls(plan: PlanSuccess, statuses: readonly (DaneHostStatus | undefined)[] | undefined, options: { readonly forcedDane: boolean; readonly verifiedTls: SessionTls; readonly daneContext: SecureContext | undefined }): HostTls[] {
  const { verifiedTls, daneContext } = options;
  const requiredBy = verifiedTls.requiredBy ?? 'REQUIRETLS';
  return plan.hosts.map((host, index) => {
    const status = statuses?.[index];
    const base = { tls: verifiedTls, dane: status };
    if (status?.status === 'failed') return skip(host.host, base, 'requiretls', 'dnssec-invalid', status.reason);
    if (status?.status === 'usable') {
      const tls: SessionTls = Object.freeze({
        mode: 'starttls',
        verify: false,
        ca: undefined,
        requiredBy: `${requiredBy} and the DANE TLSA records at ${status.name}`,
        dane: { records: status.usable, names: referenceNames(plan, host) },
        ...(daneContext === undefined ? {} : { secureContext: daneContext }),
      });
      return { host: host.host, verdict: 'use', tls, enforcedBy: 'requiretls', dane: status, skipped: undefined, testing: false };
    }
    if (options.forcedDane) {
      if (status?.status === 'unusable') return skip(host.host, base, 'requiretls', 'tlsa-invalid', `none of the TLSA records at ${status.name} is usable for SMTP (DANE-TA or DANE-EE)`);
      return skip(host.host, base, 'requiretls', 'dane-required', status?.reason ?? 'DANE is off (dns.dnssec)');
    }
    return { host: host.host, verdict: 'use', ...base, enforcedBy: 'requiretls', skipped: undefined, testing: false };
  });
}
