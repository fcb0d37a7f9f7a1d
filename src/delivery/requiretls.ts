// Where a REQUIRETLS message may go (RFC 8689 §4.2.1): only to hosts whose name
// is authenticated (MX answer DNSSEC-secure, or named by the domain's MTA-STS
// policy in enforce mode; the domain itself when it has no MX; a route that
// verifies TLS), over TLS verified for that name; otherwise it bounces (5.7.10).

import type { TlsPolicyLevel } from '../config/types.js';
import type { PlanSuccess } from '../dns/next-hop.js';
import type { StsLookup } from '../mtasts/policies.js';
import { mxMatches } from '../mtasts/policy.js';
import { tlsRequired, type SessionTls } from './session-setup.js';
import type { TlsFailureResult } from './tls-failure.js';

/** What deferrals and bounces name as requiring the TLS. */
export const REQUIRETLS_REQUIRED_BY = 'REQUIRETLS (RFC 8689)';

/** Why the hosts may carry a REQUIRETLS message. */
export type RequireTlsBasis =
  /** A delivery.routes entry with tls starttls/implicit and verify: the operator names and verifies the next hop. */
  | 'route'
  /** No MX records: the host is the domain itself (RFC 5321 §5.1), whose name the certificate must carry. */
  | 'domain'
  /** The MX answer was DNSSEC-secure (dns.dnssec). */
  | 'dnssec'
  /** The MX hosts are named by the domain's MTA-STS policy in enforce mode (RFC 8461 §4.1). */
  | 'mta-sts';

export interface RequireTlsInput {
  readonly plan: PlanSuccess;
  /** The route's own TLS when the plan took a route. */
  readonly routeTls: SessionTls | undefined;
  /** The destination's delivery.tlsPolicy level, if any. */
  readonly level: TlsPolicyLevel | undefined;
  /** The destination's MTA-STS policy lookup (whatever `level` says); undefined when MTA-STS is off. */
  readonly sts: StsLookup | undefined;
  /** The MX answer was DNSSEC-authenticated by a trusted resolver (dns.dnssec). */
  readonly mxSecure: boolean;
}

export type RequireTlsHosts =
  | { readonly ok: true; readonly hosts: readonly string[]; readonly basis: RequireTlsBasis }
  | { readonly ok: false; readonly result: TlsFailureResult; readonly reason: string };

const BASIS_TEXT: Readonly<Record<RequireTlsBasis, string>> = {
  route: 'delivery.routes with verified TLS',
  domain: 'no MX: the domain itself',
  dnssec: 'DNSSEC-secure MX',
  'mta-sts': 'MTA-STS enforce',
};

export function basisText(basis: RequireTlsBasis): string {
  return BASIS_TEXT[basis];
}

function refused(result: TlsFailureResult, reason: string): RequireTlsHosts {
  return { ok: false, result, reason };
}

/** The hosts of `plan` a REQUIRETLS message may be sent to, or why none. Pure. */
export function requireTlsHosts(input: RequireTlsInput): RequireTlsHosts {
  const { plan } = input;
  const all = plan.hosts.map(({ host }) => host);
  switch (plan.source) {
    case 'literal':
      return refused('mx-not-authenticated', `${plan.domain} is an address literal: there is no name to verify a certificate for`);
    case 'route': {
      const tls = input.routeTls;
      if (tls !== undefined && tlsRequired(tls) && tls.verify) return { ok: true, hosts: all, basis: 'route' };
      return refused('validation-failure', `route ${plan.route ?? plan.domain} does not require verified TLS (tls: starttls or implicit with verify: true)`);
    }
    case 'implicit':
    case 'mx':
      break;
  }
  if (input.level === 'none') return refused('validation-failure', `delivery.tlsPolicy of ${plan.domain} is none (never TLS)`);
  if (plan.source === 'implicit') return { ok: true, hosts: all, basis: 'domain' };
  if (input.mxSecure) return { ok: true, hosts: all, basis: 'dnssec' };
  const sts = input.sts;
  if (sts?.kind !== 'policy' || sts.policy.mode !== 'enforce') {
    return refused('mx-not-authenticated', `the MX hosts of ${plan.domain} are not authenticated: the MX answer is not DNSSEC-secure and no MTA-STS policy in enforce mode names them`);
  }
  const hosts = all.filter((host) => mxMatches(sts.policy, host));
  if (hosts.length === 0) return refused('mx-mismatch', `no MX host of ${plan.domain} (${all.join(', ')}) matches its MTA-STS policy (mx: ${sts.policy.mx.join(', ')})`);
  return { ok: true, hosts, basis: 'mta-sts' };
}
