// Next-hop resolution: a destination domain -> an ordered delivery plan or a
// failure with its enhanced status code. Routes first ("*" for all), then MX (RFC 5321 §5.1),
// implicit MX, null MX (RFC 7505), Postfix-style loop guard, host/address caps;
// the DNSSEC status of the MX RRset and of each host's addresses (RFC 7672 §2.2).

import { isIP } from 'node:net';
import { canonicalDomain } from '../core/domain.js';
import { hostAddresses } from './host-addresses.js';
import { failurePlan, isSelfAddress, isSelfName, orderMx, routeKeyOf, type Candidate, type PlanFailure, type SelfIdentity } from './next-hop-rules.js';
import type { Resolver } from './resolver.js';
import type { MxRecord, RandomInt } from './types.js';

export { DEFAULT_ROUTE_KEY, isLoopFailure, routeKeyOf } from './next-hop-rules.js';
export type { PlanFailure, SelfIdentity } from './next-hop-rules.js';

export interface Route {
  readonly host: string;
  readonly port: number;
}

export interface NextHopOptions {
  readonly resolver: Resolver;
  /** Lowercase ASCII domain, or "*" for every other destination -> fixed next hop (delivery.routes). */
  readonly routes?: ReadonlyMap<string, Route>;
  /** TCP port of MX hosts (delivery.port). */
  readonly port: number;
  /** Also use AAAA addresses (dns.ipv6); default true. */
  readonly ipv6?: boolean;
  readonly self: SelfIdentity;
  /** Shuffles MX hosts of equal preference. */
  readonly randomInt: RandomInt;
  /** Default 10. */
  readonly maxHosts?: number;
  /** Default 20. */
  readonly maxAddresses?: number;
  /**
   * Gives up waiting (a temporary 4.4.3 failure) when aborted; lookups already
   * sent finish on their own timeouts and still fill the cache.
   */
  readonly signal?: AbortSignal;
}

export interface PlanHost {
  readonly host: string;
  readonly preference: number;
  readonly port: number;
  readonly addresses: readonly string[];
  readonly ttlSeconds: number;
  /** Present when every address answer was DNSSEC-secure. */
  readonly addressesSecure?: boolean;
}

export type PlanSource = 'route' | 'mx' | 'implicit' | 'literal';

export interface PlanSuccess {
  readonly ok: true;
  readonly domain: string;
  readonly source: PlanSource;
  /** The key of the delivery.routes entry used ("*" or a domain); only when `source` is "route". */
  readonly route?: string;
  readonly hosts: readonly PlanHost[];
  /** Present when the MX RRset (or, for an implicit MX, the denial of MX records) was DNSSEC-secure. */
  readonly mxSecure?: boolean;
}

export type DeliveryPlan = PlanSuccess | PlanFailure;

/** How many MX hosts we resolve at most (after the name-based loop guard). */
const MAX_MX_CANDIDATES = 32;
const NULL_MX_EXCHANGE = '.';

async function resolveCandidates(candidates: readonly Candidate[], options: NextHopOptions): Promise<PlanHost[] | PlanFailure> {
  const resolved = await Promise.all(candidates.map(async (candidate) => ({ candidate, found: await hostAddresses(options.resolver, candidate.host, options.ipv6 ?? true) })));
  const selfPreference = Math.min(
    ...resolved
      .filter(
        ({ candidate, found }) =>
          isSelfName(options.self, candidate.host) ||
          (found.kind === 'addresses' && found.addresses.some((address) => isSelfAddress(options.self, address, candidate.port))),
      )
      .map(({ candidate }) => candidate.preference),
  );
  const kept = resolved.filter(({ candidate }) => candidate.preference < selfPreference);
  if (kept.length === 0) return failurePlan('', 'loop');
  const hosts: PlanHost[] = [];
  let addressBudget = options.maxAddresses ?? 20;
  for (const { candidate, found } of kept) {
    if (found.kind !== 'addresses' || addressBudget <= 0 || hosts.length >= (options.maxHosts ?? 10)) continue;
    const addresses = found.addresses.slice(0, addressBudget);
    addressBudget -= addresses.length;
    hosts.push({ host: candidate.host, preference: candidate.preference, port: candidate.port, addresses, ttlSeconds: found.ttlSeconds, ...(found.secure ? { addressesSecure: true } : {}) });
  }
  if (hosts.length > 0) return hosts;
  const reasons = kept.map(({ found }) => (found.kind === 'none' ? found.reason : '')).filter((reason) => reason !== '');
  return failurePlan('', 'no-address', reasons.join('; '));
}

function withDomain(domain: string, result: PlanHost[] | PlanFailure, source: PlanSource, capTtlSeconds: number, mxSecure: boolean): DeliveryPlan {
  if (!Array.isArray(result)) return { ...result, domain };
  return { ok: true, domain, source, hosts: result.map((host) => ({ ...host, ttlSeconds: Math.min(host.ttlSeconds, capTtlSeconds) })), ...(mxSecure ? { mxSecure } : {}) };
}

async function planHosts(domain: string, source: PlanSource, candidates: readonly Candidate[], options: NextHopOptions, ttlSeconds: number, mxSecure = false): Promise<DeliveryPlan> {
  return withDomain(domain, await resolveCandidates(candidates, options), source, ttlSeconds, mxSecure);
}

function addressLiteral(domain: string): string | undefined {
  const match = /^\[(?:IPv6:)?([^\]]+)\]$/i.exec(domain);
  const address = match?.[1];
  if (address === undefined) return undefined;
  const version = isIP(address);
  return (version === 4 && !/^ipv6:/i.test(domain.slice(1))) || (version === 6 && /^ipv6:/i.test(domain.slice(1))) ? address : undefined;
}

async function planMx(domain: string, options: NextHopOptions): Promise<DeliveryPlan> {
  const mx = await options.resolver.lookup(domain, 'MX');
  switch (mx.kind) {
    case 'nxdomain':
      return { ...failurePlan(domain, 'nxdomain'), domain };
    case 'servfail':
    case 'timeout':
    case 'refused':
      return { ...failurePlan(domain, 'dns-failure', `MX lookup: ${mx.kind} (${mx.reason})`), domain };
    case 'nodata': {
      // RFC 5321 §5.1: no MX records -> the domain itself at preference 0.
      const implicit = await hostAddresses(options.resolver, domain, options.ipv6 ?? true);
      if (implicit.kind === 'none') return { ...failurePlan(domain, implicit.temporary ? 'dns-failure' : 'no-mx-no-address', implicit.reason), domain };
      // Host TTLs are the address TTLs; the negative MX TTL (often 0: no SOA) is not a lifetime.
      return planHosts(domain, 'implicit', [{ host: domain, preference: 0, port: options.port }], options, Number.POSITIVE_INFINITY, mx.secure);
    }
    case 'ok':
      break;
  }
  const records: readonly MxRecord[] = mx.records;
  if (records.some((record) => record.exchange === NULL_MX_EXCHANGE)) return { ...failurePlan(domain, 'null-mx'), domain };
  const ordered = orderMx(records, options.self, options.randomInt);
  if (ordered.hosts.length === 0) return { ...(ordered.loop ? failurePlan(domain, 'loop') : failurePlan(domain, 'no-address', 'no valid MX host names')), domain };
  const candidates = ordered.hosts.slice(0, MAX_MX_CANDIDATES).map((record) => ({ host: record.exchange, preference: record.preference, port: options.port }));
  return planHosts(domain, 'mx', candidates, options, mx.ttlSeconds, mx.secure);
}

/** The delivery plan for `domainName`; never rejects for DNS outcomes. */
export async function planDelivery(domainName: string, options: NextHopOptions): Promise<DeliveryPlan> {
  const { signal } = options;
  if (signal === undefined) return plan(domainName, options);
  const aborted = (): DeliveryPlan => ({ ...failurePlan(domainName, 'dns-failure', 'lookup aborted'), domain: domainName });
  if (signal.aborted) return aborted();
  let onAbort: () => void = () => undefined;
  const abortion = new Promise<DeliveryPlan>((resolve) => {
    onAbort = () => resolve(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([plan(domainName, options), abortion]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** The fixed next hop of a route; a route is the operator's word: a route host without addresses is a temporary problem (4.4.3). */
async function planRoute(domain: string, key: string, route: Route, options: NextHopOptions): Promise<DeliveryPlan> {
  const routeHost = canonicalDomain(route.host) ?? route.host;
  const plan = await planHosts(domain, 'route', [{ host: routeHost, preference: 0, port: route.port }], options, Number.POSITIVE_INFINITY);
  return plan.ok ? { ...plan, route: key } : plan;
}

async function plan(domainName: string, options: NextHopOptions): Promise<DeliveryPlan> {
  const literal = addressLiteral(domainName);
  const domain = literal === undefined ? canonicalDomain(domainName) : domainName;
  if (domain === undefined) return { ...failurePlan(domainName, 'invalid-domain'), domain: domainName };
  const key = routeKeyOf(domain, options.routes);
  const route = key === undefined ? undefined : options.routes?.get(key);
  if (key !== undefined && route !== undefined) return planRoute(domain, key, route, options);
  if (literal !== undefined) {
    return planHosts(domainName, 'literal', [{ host: literal, preference: 0, port: options.port }], options, Number.POSITIVE_INFINITY);
  }
  return planMx(domain, options);
}
