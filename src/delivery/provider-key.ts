// Which provider a destination's mail goes to: the registrable domain of its
// most preferred MX host (aspmx.l.google.com -> google.com), or the name an
// operator gave a set of MX hosts (delivery.providers.<name>.mx). Routes and
// address literals have no provider: a route has its own limits (its lane).

import { BUILT_IN_PUBLIC_SUFFIXES, DEFAULT_PUBLIC_SUFFIXES, registrableDomain } from '../core/registrable-domain.js';
import type { DeliveryConfig } from '../config/types.js';
import type { PlanSuccess } from '../dns/next-hop.js';

export interface ProviderNaming {
  /** MX host patterns -> provider name; "example.net" matches it and every name under it ("*.example.net" only those under it). */
  readonly patterns: readonly { readonly pattern: string; readonly provider: string }[];
  /** Public suffixes for the registrable domain (default: the built-in list). */
  readonly suffixes?: ReadonlySet<string>;
}

export const DEFAULT_PROVIDER_NAMING: ProviderNaming = { patterns: [] };

/** The naming delivery.providers (their `mx` patterns) and delivery.publicSuffixes give. */
export function providerNamingOf(delivery: Pick<DeliveryConfig, 'providers' | 'publicSuffixes'>): ProviderNaming {
  const patterns = [...delivery.providers].flatMap(([provider, config]) => config.mx.map((pattern) => ({ pattern, provider })));
  return { patterns, suffixes: new Set([...BUILT_IN_PUBLIC_SUFFIXES, ...delivery.publicSuffixes]) };
}

function matches(host: string, pattern: string): boolean {
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  return host === pattern || host.endsWith(`.${pattern}`);
}

/** The provider of one MX host name: the first pattern it matches (longest pattern first), else its registrable domain. */
export function providerOfHost(host: string, naming: ProviderNaming = DEFAULT_PROVIDER_NAMING): string {
  const name = (host.endsWith('.') ? host.slice(0, -1) : host).toLowerCase();
  let best: { readonly pattern: string; readonly provider: string } | undefined;
  for (const entry of naming.patterns) {
    if (matches(name, entry.pattern) && (best === undefined || entry.pattern.length > best.pattern.length)) best = entry;
  }
  return best?.provider ?? registrableDomain(name, naming.suffixes ?? DEFAULT_PROVIDER_SUFFIXES);
}

const DEFAULT_PROVIDER_SUFFIXES = DEFAULT_PUBLIC_SUFFIXES;

/**
 * The provider of an MX (or implicit MX) plan: that of its most preferred
 * hosts; when those span providers, the first name in order (hosts of equal
 * preference are shuffled, the key must not be). Undefined for route and literal plans.
 */
export function providerOfPlan(plan: PlanSuccess, naming: ProviderNaming = DEFAULT_PROVIDER_NAMING): string | undefined {
  if (plan.source !== 'mx' && plan.source !== 'implicit') return undefined;
  const first = plan.hosts[0];
  if (first === undefined) return undefined;
  const preferred = plan.hosts.filter((host) => host.preference === first.preference).map((host) => providerOfHost(host.host, naming));
  return preferred.sort()[0];
}
