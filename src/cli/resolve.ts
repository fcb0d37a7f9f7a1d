// `outpost resolve DOMAIN [--json] [--config FILE]` (INTERFACE.md "Command line",
// "Machine-readable output"): prints the delivery plan and the route it takes (TLS,
// AUTH user, limits; never a secret) or the MX hosts' TLS (tlsPolicy, DANE, MTA-STS), and what a
// REQUIRETLS message would do (RFC 8689); exit 0 ok, 1 failure, 2 usage.

import { parseArgs } from 'node:util';
import type { Config, DeliveryConfig, RouteAuthConfig } from '../config/types.js';
import { systemClock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { DeliveryPlan, PlanSuccess } from '../dns/next-hop.js';
import { deliveryPlanner } from '../main.js';
import { createResolver } from '../dns/setup.js';
import { createOutboundTls } from '../delivery/outbound-tls-setup.js';
import type { PlanTls } from '../delivery/tls-policy.js';
import { requireTlsHostTls } from '../delivery/host-tls.js';
import { MX_SECURE_BY_DNSSEC } from '../delivery/message-tls-screen.js';
import { REQUIRETLS_REQUIRED_BY, requireTlsHosts, type RequireTlsHosts } from '../delivery/requiretls.js';
import type { SessionTls } from '../delivery/session-setup.js';
import type { StsLookup } from '../mtasts/policies.js';
import { routePolicyOf } from '../config/route-type.js';
import { silentLogger } from '../observability/logger.js';
import { requireTlsChecks, requireTlsToJson, requireTlsToText, tlsToJson, tlsToText, type RequireTlsCheck } from './resolve-tls.js';
import { answerUsage, EXIT_FAILURE, EXIT_OK, writeLine, type CliCommand, type CliIo } from './io.js';
import { loadConfigOrReport } from './config-load.js';

const USAGE = 'usage: outpost resolve DOMAIN [--json] [--config FILE]';

interface ResolveOptions {
  readonly domain: string;
  readonly json: boolean;
  readonly config: string | undefined;
}

function parse(args: readonly string[]): ResolveOptions | 'help' | string {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
    if (values.help === true) return 'help';
    const [domain, ...extra] = positionals;
    if (domain === undefined || extra.length > 0) return 'expected exactly one DOMAIN';
    return { domain, json: values.json === true, config: values.config };
  } catch (error: unknown) {
    return errorMessage(error);
  }
}

function finiteTtl(ttlSeconds: number): { ttl?: number } {
  return Number.isFinite(ttlSeconds) ? { ttl: ttlSeconds } : {};
}

function authSummary(auth: RouteAuthConfig): Record<string, unknown> {
  switch (auth.kind) {
    case 'password':
      return { username: auth.username, mechanism: auth.mechanisms.join('/'), secret: 'passwordFile' };
    case 'token-file':
      return { username: auth.username, mechanism: 'XOAUTH2', secret: 'tokenFile' };
    case 'client-credentials':
      return { username: auth.username, mechanism: 'XOAUTH2', secret: 'oauth2', tokenUrl: auth.tokenUrl, clientId: auth.clientId };
  }
}

/**
 * The route object a plan took, as configured: TLS, AUTH user and mechanism
 * (never a secret), limits. A "host[:port]" route adds nothing to the plan's hosts.
 */
export function routeToJson(key: string, delivery: Pick<DeliveryConfig, 'routes' | 'concurrencyPerDomain'>): Record<string, unknown> | undefined {
  const route = delivery.routes.get(key);
  if (route?.policy === undefined) return undefined;
  const { policy } = route;
  return {
    name: key,
    host: route.host,
    port: route.port,
    tls: policy.tls,
    verify: (policy.tls === 'starttls' || policy.tls === 'implicit') && policy.verify,
    ...(policy.caFile === undefined ? {} : { ca: policy.caFile }),
    ...(policy.auth === undefined ? {} : { auth: authSummary(policy.auth) }),
    maxConnections: policy.maxConnections ?? delivery.concurrencyPerDomain,
    ...(policy.ratePerMinute === undefined ? {} : { ratePerMinute: policy.ratePerMinute }),
  };
}

/** The INTERFACE.md JSON shape, with the extra fields source, route, port and ttl. */
export function planToJson(plan: DeliveryPlan, delivery?: Pick<DeliveryConfig, 'routes' | 'concurrencyPerDomain'>, tls?: PlanTls, requireTls?: RequireTlsView): Record<string, unknown> {
  if (!plan.ok) return { domain: plan.domain, ok: false, permanent: plan.permanent, status: plan.status, reason: plan.reason };
  const route = plan.route === undefined || delivery === undefined ? undefined : routeToJson(plan.route, delivery);
  return {
    domain: plan.domain,
    ok: true,
    source: plan.source,
    ...(route === undefined ? {} : { route }),
    hosts: plan.hosts.map((host) => ({ host: host.host, preference: host.preference, addresses: host.addresses, port: host.port, ...finiteTtl(host.ttlSeconds) })),
    ...(tls === undefined ? {} : { tls: tlsToJson(tls) }),
    ...(requireTls === undefined ? {} : { requiretls: requireTlsToJson(requireTls.judged, requireTls.checks) }),
  };
}

function routeText(route: Record<string, unknown>): string {
  const auth = route['auth'] as Record<string, unknown> | undefined;
  const parts = [
    `tls ${String(route['tls'])}${route['verify'] === true ? ' (certificate verified)' : ''}`,
    auth === undefined ? 'no AUTH' : `AUTH ${String(auth['mechanism'])} as ${String(auth['username'])}`,
    `at most ${String(route['maxConnections'])} sessions`,
    ...(route['ratePerMinute'] === undefined ? [] : [`${String(route['ratePerMinute'])} messages/minute`]),
  ];
  return `  route ${String(route['name'])}: ${parts.join(', ')}`;
}

export function planToText(plan: DeliveryPlan, delivery?: Pick<DeliveryConfig, 'routes' | 'concurrencyPerDomain'>, tls?: PlanTls, requireTls?: RequireTlsView): string {
  if (!plan.ok) return `${plan.domain}: ${plan.permanent ? 'permanent' : 'temporary'} failure ${plan.status}: ${plan.reason}`;
  const lines = [`${plan.domain}: ${plan.hosts.length} host${plan.hosts.length === 1 ? '' : 's'} (${plan.source})`];
  const route = plan.route === undefined || delivery === undefined ? undefined : routeToJson(plan.route, delivery);
  if (route !== undefined) lines.push(routeText(route));
  for (const host of plan.hosts) {
    const ttl = Number.isFinite(host.ttlSeconds) ? `  ttl ${host.ttlSeconds}s` : '';
    lines.push(`  ${host.host}  preference ${host.preference}  port ${host.port}${ttl}`);
    for (const address of host.addresses) lines.push(`    ${address}`);
  }
  if (plan.source === 'route') lines.push('  TLS: the route\'s own (delivery.routes bypass MTA-STS and delivery.tlsPolicy)');
  if (tls !== undefined) lines.push(...tlsToText(tls));
  if (requireTls !== undefined) lines.push(...requireTlsToText(requireTls.judged, requireTls.checks));
  return lines.join('\n');
}

/** What a REQUIRETLS message would do: the hosts (or the bounce) and, when DANE was consulted, each host's certificate check. */
export interface RequireTlsView {
  readonly judged: RequireTlsHosts;
  readonly checks?: readonly RequireTlsCheck[];
}

interface Resolved {
  readonly plan: DeliveryPlan;
  /** An MX plan's TLS. */
  readonly tls: PlanTls | undefined;
  /** Where a REQUIRETLS message would go, for any plan that succeeded. */
  readonly requireTls: RequireTlsView | undefined;
}

/** The TLS a route's sessions use, as REQUIRETLS judges it (verified or not). */
function routeTls(config: Config, plan: PlanSuccess): SessionTls | undefined {
  const route = plan.route === undefined ? undefined : config.delivery.routes.get(plan.route);
  if (route === undefined) return undefined;
  const policy = routePolicyOf(route);
  return { mode: policy.tls, verify: policy.verify, ca: undefined };
}

/**
 * REQUIRETLS with DANE consulted: each chosen host's certificate checked by its usable TLSA records
 * or by the trusted CAs, hosts whose TLSA lookup failed skipped (none left: the 5.7.10 bounce).
 */
function withDaneChecks(judged: RequireTlsHosts, planned: PlanSuccess, tls: PlanTls | undefined, forcedDane: boolean): RequireTlsView {
  if (!judged.ok || tls === undefined || !tls.daneOn) return { judged };
  const chosen = { ...planned, hosts: planned.hosts.filter(({ host }) => judged.hosts.includes(host)) };
  const statuses = chosen.hosts.map(({ host }) => tls.hosts.find((hostTls) => hostTls.host === host)?.dane);
  const verifiedTls: SessionTls = { mode: 'starttls', verify: true, ca: undefined, requiredBy: REQUIRETLS_REQUIRED_BY };
  const hosts = requireTlsHostTls(chosen, statuses, { forcedDane, verifiedTls, daneContext: undefined });
  const checks = requireTlsChecks(hosts);
  const left = hosts.filter((host) => host.skipped === undefined);
  if (left.length > 0) return { judged: { ...judged, hosts: left.map(({ host }) => host) }, checks };
  const reason = `no MX host of ${planned.domain} can be used (${hosts.map((host) => `${host.host}: ${host.skipped?.reason ?? 'skipped'}`).join('; ')})`;
  return { judged: { ok: false, result: hosts[0]?.skipped?.resultType ?? 'dnssec-invalid', reason } };
}

/** The plan and, for an MX plan, its TLS as a delivery would use it now (the spool's MTA-STS cache read, never written; TLSA records looked up). */
async function plan(config: Config, domain: string): Promise<Resolved> {
  const resolver = await createResolver(config.dns, { clock: systemClock });
  const planned = await deliveryPlanner(config, resolver, config.listen)(domain);
  if (!planned.ok) return { plan: planned, tls: undefined, requireTls: undefined };
  const viaMx = planned.source === 'mx' || planned.source === 'implicit';
  let tls: PlanTls | undefined;
  let sts: StsLookup | undefined;
  if (viaMx) {
    const outbound = await createOutboundTls(config.delivery, { spoolDir: config.spoolDir, resolver, ipv6: config.dns.ipv6, dnssec: config.dns.dnssec, clock: systemClock, logger: silentLogger(), readOnly: true });
    const signal = new AbortController().signal;
    tls = await outbound.outboundTls.forPlan(planned, signal);
    const decided = tls.destination;
    // A delivery.tlsPolicy entry hides MTA-STS from ordinary mail, not from REQUIRETLS.
    sts = decided.source === 'tlsPolicy' ? (planned.source === 'mx' ? await outbound.outboundTls.stsPolicy(planned.domain, signal) : undefined) : decided.sts;
  }
  const level = viaMx ? config.delivery.tlsPolicy.get(planned.domain) : undefined;
  const judged = requireTlsHosts({
    plan: planned,
    routeTls: planned.source === 'route' ? routeTls(config, planned) : undefined,
    level,
    sts: planned.source === 'mx' ? sts : undefined,
    // RFC 8689 §4.2.1: an MX answer a trusted validating resolver marked secure (dns.dnssec) authenticates the names.
    mxSecure: config.dns.dnssec && MX_SECURE_BY_DNSSEC(planned),
  });
  return { plan: planned, tls, requireTls: withDaneChecks(judged, planned, tls, level === 'dane') };
}

export const resolveCommand: CliCommand = async (args: readonly string[], io: CliIo) => {
  const options = parse(args);
  if (typeof options === 'string') return answerUsage(options, 'resolve', USAGE, io);
  const config = await loadConfigOrReport(options.config, io);
  if (config === undefined) return EXIT_FAILURE;
  const { plan: result, tls, requireTls } = await plan(config, options.domain);
  writeLine(io.stdout, options.json ? JSON.stringify(planToJson(result, config.delivery, tls, requireTls)) : planToText(result, config.delivery, tls, requireTls));
  return result.ok ? EXIT_OK : EXIT_FAILURE;
};
