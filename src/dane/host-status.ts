// What DANE asks of one MX host (RFC 7672 §2.1-2.2): TLSA records are looked up only for
// hosts reached through a DNSSEC-secure MX RRset (or a secure implicit MX) whose own address
// records are secure; a secure usable RRset makes authenticated TLS mandatory, a secure but
// unusable one mandatory unauthenticated TLS; insecure or absent records leave the host to the
// other policies; a failed (bogus or indeterminate) lookup makes the host unusable.
// Simplification of §2.2.2: TLSA records are looked up at the MX host name only, not at the
// name a CNAME of the host leads to (a CNAME of the TLSA name itself is followed).

import type { PlanHost, PlanSuccess } from '../dns/next-hop.js';
import type { Resolver } from '../dns/resolver.js';
import type { TlsaRecord } from '../dns/types.js';
import { isUsableTlsa, tlsaName } from './tlsa.js';

/** The host status names, as metrics label them. */
export type DaneStatusName = 'usable' | 'unusable' | 'absent' | 'insecure' | 'failed';

export type DaneHostStatus =
  /** Secure TLSA records, some usable: TLS required, the certificate must match one of `usable` (§2.2). */
  | { readonly status: 'usable'; readonly name: string; readonly records: readonly TlsaRecord[]; readonly usable: readonly TlsaRecord[] }
  /** Secure TLSA records, none usable (PKIX-TA/EE, unknown parameters): TLS required, not authenticated (§2.2, §3.1). */
  | { readonly status: 'unusable'; readonly name: string; readonly records: readonly TlsaRecord[] }
  /** DANE does not apply: no TLSA records (a secure denial) or something on the way is not secure; `reason` says which. */
  | { readonly status: 'absent' | 'insecure'; readonly name: string; readonly reason: string }
  /** The lookup failed: bogus or indeterminate (SERVFAIL from a validating resolver, timeout); the host must not be used (§2.1.1). */
  | { readonly status: 'failed'; readonly name: string; readonly reason: string };

export interface DaneLookupOptions {
  readonly resolver: Resolver;
  /** delivery.port: TLSA records are those of `_port._tcp.<mx>`. */
  readonly port: number;
}

/** Looks up what DANE asks of each host of an MX plan. */
export class DaneLookup {
  readonly #options: DaneLookupOptions;

  constructor(options: DaneLookupOptions) {
    this.#options = options;
  }

  async forHost(plan: PlanSuccess, host: PlanHost): Promise<DaneHostStatus> {
    const name = tlsaName(this.#options.port, host.host);
    if (plan.source !== 'mx' && plan.source !== 'implicit') return { status: 'insecure', name, reason: 'not an MX host' };
    if (plan.mxSecure !== true) {
      const what = plan.source === 'mx' ? `the MX records of ${plan.domain} are` : `the absence of MX records for ${plan.domain} is`;
      return { status: 'insecure', name, reason: `${what} not DNSSEC-secure` };
    }
    if (host.addressesSecure !== true) return { status: 'insecure', name, reason: `the address records of ${host.host} are not DNSSEC-secure` };
    const result = await this.#options.resolver.lookup(name, 'TLSA');
    switch (result.kind) {
      case 'servfail':
      case 'timeout':
      case 'refused':
        return { status: 'failed', name, reason: `TLSA lookup of ${name} failed: ${result.kind} (${result.reason})` };
      case 'nxdomain':
      case 'nodata':
        return result.secure
          ? { status: 'absent', name, reason: `no TLSA records at ${name}` }
          : { status: 'insecure', name, reason: `the denial of TLSA records at ${name} is not DNSSEC-secure` };
      case 'ok': {
        if (!result.secure) return { status: 'insecure', name, reason: `the TLSA records at ${name} are not DNSSEC-secure` };
        const usable = result.records.filter(isUsableTlsa);
        return usable.length > 0 ? { status: 'usable', name, records: result.records, usable } : { status: 'unusable', name, records: result.records };
      }
    }
  }

  /** Every host of the plan, looked up together (the resolver caches). */
  forPlan(plan: PlanSuccess): Promise<DaneHostStatus[]> {
    return Promise.all(plan.hosts.map((host) => this.forHost(plan, host)));
  }
}
