// The pure rules of next-hop selection: which route a destination takes, MX
// ordering with equal preferences shuffled (RFC 5321 §5.1), the "is this us?" test, and the failure catalogue
// with enhanced status codes (RFC 3463, RFC 7505 §4.2 for null MX).

import { isIP } from 'node:net';
import { canonicalDomain } from '../core/domain.js';
import { normalizeAddress } from './exchange.js';
import type { MxRecord, RandomInt } from './types.js';

/** What names and endpoints are this server (hostname; listen and interface addresses). */
export interface SelfIdentity {
  /** Canonical hostnames of this server (config `hostname`). */
  readonly hostnames: readonly string[];
  /** Addresses this server accepts SMTP on, with the port; a host there on that port is us. */
  readonly endpoints: readonly { readonly address: string; readonly port: number }[];
}

export interface Candidate {
  readonly host: string;
  readonly preference: number;
  readonly port: number;
}

export interface PlanFailure {
  readonly ok: false;
  readonly domain: string;
  readonly permanent: boolean;
  /** Enhanced status code (RFC 3463). */
  readonly status: string;
  readonly reason: string;
}

export type FailureKind = 'invalid-domain' | 'nxdomain' | 'null-mx' | 'loop' | 'no-mx-no-address' | 'dns-failure' | 'no-address';

const FAILURES: Readonly<Record<FailureKind, { permanent: boolean; status: string; reason: string }>> = {
  'invalid-domain': { permanent: true, status: '5.1.2', reason: 'invalid domain name' },
  nxdomain: { permanent: true, status: '5.1.2', reason: 'domain does not exist (NXDOMAIN)' },
  'null-mx': { permanent: true, status: '5.1.10', reason: 'null MX' },
  loop: { permanent: true, status: '5.4.6', reason: 'mail loops back to myself' },
  'no-mx-no-address': { permanent: true, status: '5.4.4', reason: 'no MX and no address records' },
  'dns-failure': { permanent: false, status: '4.4.3', reason: 'DNS lookup failed' },
  'no-address': { permanent: false, status: '4.4.3', reason: 'no MX host has an address' },
};

export function failurePlan(domain: string, kind: FailureKind, detail?: string): PlanFailure {
  const failure = FAILURES[kind];
  const reason = detail === undefined || detail === '' ? failure.reason : `${failure.reason}: ${detail}`;
  return { ok: false, domain, permanent: failure.permanent, status: failure.status, reason };
}

/** The plan failed because every next hop is this server itself (the loop guard). */
export function isLoopFailure(plan: PlanFailure): boolean {
  return plan.permanent && plan.status === FAILURES.loop.status;
}

/** The route key that stands for every destination without a route of its own (delivery.routes "*"). */
export const DEFAULT_ROUTE_KEY = '*';

/**
 * The key of the route a destination takes: its own (a canonical domain),
 * else "*" (address literals too), else undefined (MX lookup).
 */
export function routeKeyOf(destination: string, routes: ReadonlyMap<string, unknown> | undefined): string | undefined {
  if (routes === undefined || routes.size === 0) return undefined;
  const domain = destination.startsWith('[') ? undefined : canonicalDomain(destination);
  if (domain !== undefined && routes.has(domain)) return domain;
  return routes.has(DEFAULT_ROUTE_KEY) ? DEFAULT_ROUTE_KEY : undefined;
}

export function isSelfName(self: SelfIdentity, host: string): boolean {
  const canonical = canonicalDomain(host) ?? host.toLowerCase();
  return self.hostnames.some((name) => (canonicalDomain(name) ?? name.toLowerCase()) === canonical);
}

export function isSelfAddress(self: SelfIdentity, address: string, port: number): boolean {
  const normalized = normalizeAddress(address);
  return self.endpoints.some((endpoint) => endpoint.port === port && normalizeAddress(endpoint.address) === normalized);
}

/** An MX target must be a host name; an IP literal or a malformed name is skipped. */
export function isValidExchange(exchange: string): boolean {
  return isIP(exchange) === 0 && canonicalDomain(exchange) !== undefined;
}

function shuffle<T>(items: T[], randomInt: RandomInt): T[] {
  for (let index = items.length - 1; index > 0; index -= 1) {
    const other = randomInt(index + 1);
    const item = items[index] as T;
    items[index] = items[other] as T;
    items[other] = item;
  }
  return items;
}

export interface OrderedMx {
  readonly hosts: readonly MxRecord[];
  /** True when hosts were dropped because one names this server. */
  readonly loop: boolean;
}

/**
 * Valid MX hosts by preference, equal preferences shuffled, duplicates removed,
 * and — the loop guard — only those strictly better than the best MX naming us.
 */
export function orderMx(records: readonly MxRecord[], self: SelfIdentity, randomInt: RandomInt): OrderedMx {
  const seen = new Set<string>();
  const valid = records.filter((record) => {
    if (!isValidExchange(record.exchange) || seen.has(record.exchange)) return false;
    seen.add(record.exchange);
    return true;
  });
  const preferences = [...new Set(valid.map((record) => record.preference))].sort((a, b) => a - b);
  const ordered = preferences.flatMap((preference) => shuffle(valid.filter((record) => record.preference === preference), randomInt));
  const selfPreference = Math.min(...ordered.filter((record) => isSelfName(self, record.exchange)).map((record) => record.preference));
  return { hosts: ordered.filter((record) => record.preference < selfPreference), loop: Number.isFinite(selfPreference) };
}
