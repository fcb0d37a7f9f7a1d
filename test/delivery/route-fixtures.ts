// Shared pieces of the route (smarthost) tests: route configs as the config
// loader builds them, a planner that sends every domain through the "*" route,
// secret files in a temp folder, and a transport wired with routes.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RouteAuthConfig, RouteConfig, RoutePolicyConfig } from '../../src/config/types.js';
import { SmtpTransport, type SmtpTransportOptions } from '../../src/delivery/transport.js';
import type { DeliveryPlan } from '../../src/dns/next-hop.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog, type MemoryLog } from '../helpers/memory-log.js';
import { CountingConnector, TEST_TIMEOUTS } from './fixtures.js';

export const SMARTHOST = 'smarthost.test';

export function routeConfig(port: number, policy: Partial<RoutePolicyConfig> = {}, host = SMARTHOST): RouteConfig {
  return {
    host,
    port,
    policy: { tls: 'starttls', verify: true, caFile: undefined, auth: undefined, maxConnections: undefined, ratePerMinute: undefined, ...policy },
  };
}

export function passwordAuth(passwordFile: string, username = 'app@example.org'): RouteAuthConfig {
  return { kind: 'password', username, passwordFile, mechanisms: ['PLAIN', 'LOGIN'] };
}

/** Every destination goes through the "*" route to 127.0.0.1:`port`, named `host`. */
export function routePlanner(port: number, host = SMARTHOST, address = '127.0.0.1'): (domain: string) => Promise<DeliveryPlan> {
  return (domain) => Promise.resolve({ ok: true, domain, source: 'route', route: '*', hosts: [{ host, preference: 0, port, addresses: [address], ttlSeconds: 300 }] });
}

/** A temp folder for secret files, removed by `remove`. */
export class SecretFolder {
  private constructor(readonly dir: string) {}

  static async create(): Promise<SecretFolder> {
    return new SecretFolder(await mkdtemp(join(tmpdir(), 'outpost-secrets-')));
  }

  async write(name: string, text: string): Promise<string> {
    const path = join(this.dir, name);
    await writeFile(path, text);
    return path;
  }

  remove(): Promise<void> {
    return rm(this.dir, { recursive: true, force: true });
  }
}

export interface RoutedTransport {
  readonly transport: SmtpTransport;
  readonly clock: ManualClock;
  readonly connector: CountingConnector;
  readonly log: MemoryLog;
  /** Routes whose credentials the smarthost refused, in order (the observer's calls). */
  readonly authFailures: string[];
}

/** A transport whose "*" route is `route`, planned to 127.0.0.1. */
export function routedTransport(route: RouteConfig, options: Partial<Omit<SmtpTransportOptions, 'planner' | 'clock' | 'connector' | 'logger' | 'routes'>> = {}, clock = new ManualClock()): RoutedTransport {
  const connector = new CountingConnector(clock);
  const log = memoryLog('debug');
  const authFailures: string[] = [];
  const transport = new SmtpTransport({
    hostname: 'outpost.test',
    timeouts: TEST_TIMEOUTS,
    observer: { smarthostAuthFailed: (key) => authFailures.push(key) },
    ...options,
    planner: routePlanner(route.port, route.host),
    routes: new Map([['*', route]]),
    clock,
    connector,
    logger: log.logger,
  });
  return { transport, clock, connector, log, authFailures };
}

/** Everything that could carry a secret out: the log lines and the reported replies. */
export function everythingSaid(log: MemoryLog, reports: ReadonlyMap<string, { readonly outcomes: ReadonlyMap<string, { readonly reply: string }> }>): string {
  const replies = [...reports.values()].flatMap((report) => [...report.outcomes.values()].map((outcome) => outcome.reply));
  return `${JSON.stringify(log.entries)}\n${replies.join('\n')}`;
}
