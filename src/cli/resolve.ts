// `outpost resolve DOMAIN [--json] [--config FILE]` (INTERFACE.md "Command line",
// "Machine-readable output"): prints the delivery plan; exit 0 ok, 1 failure, 2 usage.

import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { systemClock } from '../core/clock.js';
import { ConfigErrors, errorMessage } from '../core/errors.js';
import type { DeliveryPlan } from '../dns/next-hop.js';
import { deliveryPlanner } from '../main.js';
import { createResolver } from '../dns/setup.js';
import { configPath } from './config-path.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, writeLine, type CliCommand, type CliIo } from './io.js';

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

/** The INTERFACE.md JSON shape, with the extra fields source, port and ttl. */
export function planToJson(plan: DeliveryPlan): Record<string, unknown> {
  if (!plan.ok) return { domain: plan.domain, ok: false, permanent: plan.permanent, status: plan.status, reason: plan.reason };
  return {
    domain: plan.domain,
    ok: true,
    source: plan.source,
    hosts: plan.hosts.map((host) => ({ host: host.host, preference: host.preference, addresses: host.addresses, port: host.port, ...finiteTtl(host.ttlSeconds) })),
  };
}

export function planToText(plan: DeliveryPlan): string {
  if (!plan.ok) return `${plan.domain}: ${plan.permanent ? 'permanent' : 'temporary'} failure ${plan.status}: ${plan.reason}`;
  const lines = [`${plan.domain}: ${plan.hosts.length} host${plan.hosts.length === 1 ? '' : 's'} (${plan.source})`];
  for (const host of plan.hosts) {
    const ttl = Number.isFinite(host.ttlSeconds) ? `  ttl ${host.ttlSeconds}s` : '';
    lines.push(`  ${host.host}  preference ${host.preference}  port ${host.port}${ttl}`);
    for (const address of host.addresses) lines.push(`    ${address}`);
  }
  return lines.join('\n');
}

async function plan(config: Config, domain: string): Promise<DeliveryPlan> {
  const resolver = await createResolver(config.dns, { clock: systemClock });
  return deliveryPlanner(config, resolver, config.listen)(domain);
}

export const resolveCommand: CliCommand = async (args: readonly string[], io: CliIo) => {
  const options = parse(args);
  if (options === 'help') {
    writeLine(io.stdout, USAGE);
    return EXIT_OK;
  }
  if (typeof options === 'string') {
    writeLine(io.stderr, `outpost resolve: ${options}\n${USAGE}`);
    return EXIT_USAGE;
  }
  let config: Config;
  try {
    config = await loadConfig(configPath(options.config, io), io.env);
  } catch (error: unknown) {
    if (!(error instanceof ConfigErrors)) throw error;
    for (const problem of error.problems) writeLine(io.stderr, problem.message);
    return EXIT_FAILURE;
  }
  const result = await plan(config, options.domain);
  writeLine(io.stdout, options.json ? JSON.stringify(planToJson(result)) : planToText(result));
  return result.ok ? EXIT_OK : EXIT_FAILURE;
};
