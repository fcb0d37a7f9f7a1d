// Builds the real resolver from the dns settings: configured servers, or the
// resolv.conf ones (with its timeout/attempts), or glibc's loopback default.

import type { Clock } from '../core/clock.js';
import type { DnsCacheOptions } from './cache.js';
import { DnsClient } from './client.js';
import { readResolvConf, RESOLV_CONF_PATH } from './resolv-conf.js';
import { CachingResolver } from './resolver.js';
import type { DnsServer, RandomInt } from './types.js';

/** Structurally the `dns` section of the config (dns/ does not import config/). */
export interface DnsSettings {
  readonly servers: readonly DnsServer[];
  readonly timeoutMs: number;
  /** The servers validate DNSSEC: queries set DO and their AD bit is trusted (config forbids it without servers). */
  readonly dnssec?: boolean;
}

export interface ResolverSetupOptions {
  readonly clock: Clock;
  readonly randomInt?: RandomInt;
  readonly cache?: DnsCacheOptions;
  readonly resolvConfPath?: string;
}

const DEFAULT_ATTEMPTS = 2;
const FALLBACK_SERVERS: readonly DnsServer[] = [
  { host: '127.0.0.1', port: 53 },
  { host: '::1', port: 53 },
];

export interface ClientSettings {
  readonly servers: readonly DnsServer[];
  readonly timeoutMs: number;
  readonly attempts: number;
}

export async function clientSettings(settings: DnsSettings, resolvConfPath: string = RESOLV_CONF_PATH): Promise<ClientSettings> {
  if (settings.servers.length > 0) return { servers: settings.servers, timeoutMs: settings.timeoutMs, attempts: DEFAULT_ATTEMPTS };
  const system = await readResolvConf(resolvConfPath);
  return {
    servers: system.servers.length > 0 ? system.servers : FALLBACK_SERVERS,
    timeoutMs: system.timeoutMs ?? settings.timeoutMs,
    attempts: system.attempts ?? DEFAULT_ATTEMPTS,
  };
}

export async function createResolver(settings: DnsSettings, options: ResolverSetupOptions): Promise<CachingResolver> {
  const resolved = await clientSettings(settings, options.resolvConfPath);
  const dnssec = settings.dnssec === true && settings.servers.length > 0;
  const client = new DnsClient({
    ...resolved,
    clock: options.clock,
    dnssecOk: dnssec,
    ...(options.randomInt === undefined ? {} : { randomInt: options.randomInt }),
  });
  return new CachingResolver({ client, clock: options.clock, validating: dnssec, ...(options.cache === undefined ? {} : { cache: options.cache }) });
}
