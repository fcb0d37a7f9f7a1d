// Outbound TLS of a destination's MX hosts: a delivery.tlsPolicy level (dane, verify,
// encrypt, may, none), else its MTA-STS policy (RFC 8461 §4.1, §5: enforce keeps
// only matching MX hosts, TLS required and verified for the MX name; testing only logs),
// and per host what DANE TLSA records ask (RFC 7672 §2.2; host-tls.ts combines them).

import { createSecureContext, type SecureContext } from 'node:tls';
import type { TlsPolicyLevel } from '../config/types.js';
import type { DaneHostStatus } from '../dane/host-status.js';
import type { PlanSuccess } from '../dns/next-hop.js';
import type { StsLookup } from '../mtasts/policies.js';
import { hostTls, requireTlsHostTls, type HostTls } from './host-tls.js';
import { NO_TLS, OPPORTUNISTIC_TLS, type SessionTls } from './session-setup.js';

export { judgeHosts, type HostTls, type HostVerdict } from './host-tls.js';

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

/** Where the DANE status of a plan's hosts comes from (DaneLookup in main). */
export interface DaneSource {
  forPlan(plan: PlanSuccess): Promise<DaneHostStatus[]>;
}

export interface OutboundTlsOptions {
  readonly levels: ReadonlyMap<string, TlsPolicyLevel>;
  /** undefined when delivery.mtaSts is off. */
  readonly mtaSts: StsPolicySource | undefined;
  /** The trusted CAs (Node's plus delivery.caFile); undefined = Node's default store. */
  readonly secureContext: SecureContext | undefined;
  /** TLSA lookups; undefined when DANE is off (dns.dnssec false). */
  readonly dane?: DaneSource | undefined;
}

/** A destination's TLS and each MX host's under it. */
export interface PlanTls {
  readonly destination: DestinationTls;
  /** In plan order. */
  readonly hosts: readonly HostTls[];
  /** False when DANE is off (dns.dnssec false); the hosts' `dane` is then undefined. */
  readonly daneOn: boolean;
}

/** Decides, per destination domain, how its MX hosts use TLS. */
export class OutboundTls {
  readonly #options: OutboundTlsOptions;
  /** DANE sessions trust no CA, so the chain Node reports is the one the server sent (RFC 7671 §5.2.2). */
  readonly #daneContext: SecureContext;

  constructor(options: OutboundTlsOptions) {
    this.#options = options;
    this.#daneContext = createSecureContext({ ca: [] });
  }

  /**
   * The destination's TLS and each host's: DANE where the host has usable TLSA records
   * (before MTA-STS, RFC 8461 §2), unless a delivery.tlsPolicy level other than dane rules.
   */
  async forPlan(plan: PlanSuccess, signal: AbortSignal): Promise<PlanTls> {
    const dane = this.#options.dane;
    const level = this.#options.levels.get(plan.domain);
    const consulted = dane !== undefined && (level === undefined || level === 'dane');
    // The MTA-STS policy and the TLSA records are looked up together.
    const [destination, statuses] = await Promise.all([this.forDestination(plan.domain, signal), consulted ? dane.forPlan(plan) : undefined]);
    return { destination, hosts: hostTls(destination, plan, statuses, this.#daneContext), daneOn: dane !== undefined };
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
   * Each MX host's TLS for a REQUIRETLS message (RFC 8689 §4.2.1): DANE's check where the host has
   * usable TLSA records (consulted as for other mail: DANE on, no tlsPolicy level other than dane),
   * else `verifiedTls(requiredBy)`; hosts whose TLSA lookup failed are skipped.
   */
  async requireTlsHostTls(plan: PlanSuccess, requiredBy: string): Promise<HostTls[]> {
    const dane = this.#options.dane;
    const level = this.#options.levels.get(plan.domain);
    const consulted = dane !== undefined && (level === undefined || level === 'dane') && (plan.source === 'mx' || plan.source === 'implicit');
    const statuses = consulted ? await dane.forPlan(plan) : undefined;
    return requireTlsHostTls(plan, statuses, { forcedDane: level === 'dane', verifiedTls: this.verifiedTls(requiredBy), daneContext: this.#daneContext });
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
      case 'dane':
        // Each host gets DANE's own TLS (host-tls.ts) or is skipped.
        return this.#tls({ mode: 'starttls', verify: false, requiredBy });
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

/** "dane", "verify", "encrypt", "may" or "none": the level a session's TLS amounts to. */
export function levelOf(tls: SessionTls): TlsPolicyLevel {
  if (tls.dane !== undefined) return 'dane';
  if (tls.mode === 'none') return 'none';
  if (tls.mode === 'opportunistic') return 'may';
  return tls.verify ? 'verify' : 'encrypt';
}
