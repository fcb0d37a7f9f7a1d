// `outpost resolve DOMAIN [--json] [--config FILE]` (INTERFACE.md "Command line",
// "Machine-readable output"): prints the delivery plan and the route it takes (TLS,
// AUTH user, limits; never a secret) or the MX hosts' TLS (tlsPolicy, DANE, MTA-STS); exit 0 ok, 1 failure, 2 usage.

import { parseArgs } from 'node:util';
import type { Config, DeliveryConfig, RouteAuthConfig } from '../config/types.js';
import { systemClock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { DeliveryPlan } from '../dns/next-hop.js';
import { deliveryPlanner } from '../main.js';
import { createResolver } from '../dns/setup.js';
import { createOutboundTls } from '../delivery/outbound-tls-setup.js';
import type { PlanTls } from '../delivery/tls-policy.js';
import { silentLogger } from '../observability/logger.js';
import { tlsToJson, tlsToText } from './resolve-tls.js';
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
export function planToJson(plan: DeliveryPlan, delivery?: Pick<DeliveryConfig, 'routes' | 'concurrencyPerDomain'>, tls?: PlanTls): Record<string, unknown> {
  if (!plan.ok) return { domain: plan.domain, ok: false, permanent: plan.permanent, status: plan.status, reason: plan.reason };
  const route = plan.route === undefined || delivery === undefined ? undefined : routeToJson(plan.route, delivery);
  return {
    domain: plan.domain,
    ok: true,
    source: plan.source,
    ...(route === undefined ? {} : { route }),
    hosts: plan.hosts.map((host) => ({ host: host.host, preference: host.preference, addresses: host.addresses, port: host.port, ...finiteTtl(host.ttlSeconds) })),
    ...(tls === undefined ? {} : { tls: tlsToJson(tls) }),
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

export function planToText(plan: DeliveryPlan, delivery?: Pick<DeliveryConfig, 'routes' | 'concurrencyPerDomain'>, tls?: PlanTls): string {
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
  return lines.join('\n');
}

/** The plan and, for an MX plan, its TLS as a delivery would use it now (the spool's MTA-STS cache read, never written; TLSA records looked up). */
async function plan(config: Config, domain: string): Promise<{ plan: DeliveryPlan; tls: PlanTls | undefined }> {
  const resolver = await createResolver(config.dns, { clock: systemClock });
  const planned = await deliveryPlanner(config, resolver, config.listen)(domain);
  if (!planned.ok || (planned.source !== 'mx' && planned.source !== 'implicit')) return { plan: planned, tls: undefined };
  const outbound = await createOutboundTls(config.delivery, { spoolDir: config.spoolDir, resolver, ipv6: config.dns.ipv6, dnssec: config.dns.dnssec, clock: systemClock, logger: silentLogger(), readOnly: true });
  return { plan: planned, tls: await outbound.outboundTls.forPlan(planned, new AbortController().signal) };
}

export const resolveCommand: CliCommand = async (args: readonly string[], io: CliIo) => {
  const options = parse(args);
  if (typeof options === 'string') return answerUsage(options, 'resolve', USAGE, io);
  const config = await loadConfigOrReport(options.config, io);
  if (config === undefined) return EXIT_FAILURE;
  const { plan: result, tls } = await plan(config, options.domain);
  writeLine(io.stdout, options.json ? JSON.stringify(planToJson(result, config.delivery, tls)) : planToText(result, config.delivery, tls));
  return result.ok ? EXIT_OK : EXIT_FAILURE;
};
