// Outbound TLS of a destination's MX hosts: a delivery.tlsPolicy level (verify,
// encrypt, may, none), else its MTA-STS policy (RFC 8461 §4.1, §5: enforce keeps
// only matching MX hosts, TLS required and verified for the MX name; testing only logs).

import type { SecureContext } from 'node:tls';
import type { TlsPolicyLevel } from '../config/types.js';
import type { PlanSuccess } from '../dns/next-hop.js';
import type { StsLookup } from '../mtasts/policies.js';
import { mxMatches } from '../mtasts/policy.js';
import { NO_TLS, OPPORTUNISTIC_TLS, type SessionTls } from './session-setup.js';

/** Where a destination's MTA-STS policy comes from (MtaStsPolicies in main). */
export interface StsPolicySource {
  lookup(domain: string, signal: AbortSignal): Promise<StsLookup>;
}

export type FoundSts = Extract<StsLookup, { kind: 'policy' }>;

export type DestinationTls =
  /** The operator's delivery.tlsPolicy entry: MTA-STS is not consulted. */
  | { readonly source: 'tlsPolicy'; readonly level: TlsPolicyLevel; readonly tls: SessionTls }
  /** An MTA-STS policy in enforce or testing mode. */
  | { readonly source: 'mta-sts'; readonly sts: FoundSts; readonly tls: SessionTls }
  /** Opportunistic TLS; `sts` says why MTA-STS does not apply (undefined: MTA-STS is off). */
  | { readonly source: 'default'; readonly tls: SessionTls; readonly sts: StsLookup | undefined };

export interface HostVerdict {
  readonly host: string;
  /** use: TLS as `tls` says; skip: not used (enforce, MX not in the policy); mismatch: used, but testing mode reports it. */
  readonly verdict: 'use' | 'skip' | 'mismatch';
}

export interface OutboundTlsOptions {
  readonly levels: ReadonlyMap<string, TlsPolicyLevel>;
  /** undefined when delivery.mtaSts is off. */
  readonly mtaSts: StsPolicySource | undefined;
  /** The trusted CAs (Node's plus delivery.caFile); undefined = Node's default store. */
  readonly secureContext: SecureContext | undefined;
}

/** Decides, per destination domain, how its MX hosts use TLS. */
export class OutboundTls {
  readonly #options: OutboundTlsOptions;

  constructor(options: OutboundTlsOptions) {
    this.#options = options;
  }

  async forDestination(domain: string, signal: AbortSignal): Promise<DestinationTls> {
    const level = this.#options.levels.get(domain);
    if (level !== undefined) return { source: 'tlsPolicy', level, tls: this.#levelTls(level, domain) };
    const opportunistic = this.#tls({ mode: 'opportunistic', verify: false });
    if (this.#options.mtaSts === undefined) return { source: 'default', tls: opportunistic, sts: undefined };
    const sts = await this.#options.mtaSts.lookup(domain, signal);
    if (sts.kind !== 'policy' || sts.policy.mode === 'none') return { source: 'default', tls: opportunistic, sts };
    if (sts.policy.mode === 'testing') {
      // Delivered as without a policy; the certificate is still checked against the MX name so failures can be logged.
      return { source: 'mta-sts', sts, tls: this.#tls({ mode: 'opportunistic', verify: true }) };
    }
    return { source: 'mta-sts', sts, tls: this.#tls({ mode: 'starttls', verify: true, requiredBy: `the MTA-STS policy of ${domain}` }) };
  }

  /** The destination's delivery.tlsPolicy level, if it has an entry. */
  levelFor(domain: string): TlsPolicyLevel | undefined {
    return this.#options.levels.get(domain);
  }

  /**
   * The destination's MTA-STS policy whatever delivery.tlsPolicy says (REQUIRETLS, RFC 8689
   * §4.2.1, authenticates MX names with it); undefined when delivery.mtaSts is off.
   */
  async stsPolicy(domain: string, signal: AbortSignal): Promise<StsLookup | undefined> {
    return this.#options.mtaSts?.lookup(domain, signal);
  }

  /** TLS required and the certificate verified for the host name against the trusted CAs (Node's and delivery.caFile). */
  verifiedTls(requiredBy: string): SessionTls {
    return this.#tls({ mode: 'starttls', verify: true, requiredBy });
  }

  /**
   * A "TLS-Required: No" message (RFC 8689 §4.2.2): MTA-STS, DANE and verify/encrypt levels are
   * ignored; STARTTLS when offered, unless delivery.tlsPolicy says none.
   */
  optionalTls(domain: string): SessionTls {
    return this.#options.levels.get(domain) === 'none' ? NO_TLS : OPPORTUNISTIC_TLS;
  }

  #levelTls(level: TlsPolicyLevel, domain: string): SessionTls {
    const requiredBy = `delivery.tlsPolicy (${level}) of ${domain}`;
    switch (level) {
      case 'verify':
        return this.#tls({ mode: 'starttls', verify: true, requiredBy });
      case 'encrypt':
        return this.#tls({ mode: 'starttls', verify: false, requiredBy });
      case 'may':
        return this.#tls({ mode: 'opportunistic', verify: false });
      case 'none':
        return NO_TLS;
    }
  }

  #tls(tls: Pick<SessionTls, 'mode' | 'verify' | 'requiredBy'>): SessionTls {
    const context = this.#options.secureContext;
    return Object.freeze({ ...tls, ca: undefined, ...(context === undefined ? {} : { secureContext: context }) });
  }
}

/** What the destination's TLS makes of each host of the plan. */
export function judgeHosts(decided: DestinationTls, plan: PlanSuccess): HostVerdict[] {
  return plan.hosts.map(({ host }) => {
    if (decided.source !== 'mta-sts' || mxMatches(decided.sts.policy, host)) return { host, verdict: 'use' };
    return { host, verdict: decided.sts.policy.mode === 'enforce' ? 'skip' : 'mismatch' };
  });
}

/** "verify", "encrypt", "may" or "none": the level a session's TLS amounts to. */
export function levelOf(tls: SessionTls): TlsPolicyLevel {
  if (tls.mode === 'none') return 'none';
  if (tls.mode === 'opportunistic') return 'may';
  return tls.verify ? 'verify' : 'encrypt';
}
