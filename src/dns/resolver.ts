// The Resolver seam used by delivery and its tests, and the caching stub
// resolver behind it: CNAME chains across queries (RFC 1034 §3.6.2, limit 8),
// result values for every outcome, TTL-bounded cache (RFC 2308 negatives), and
// answers marked secure when a trusted validating server set AD (RFC 4035 §3.2.3, RFC 6698 §4.1).

import type { Clock } from '../core/clock.js';
import { readAnswer, type ChainState } from './answer.js';
import { DnsCache, type DnsCacheOptions } from './cache.js';
import type { DnsQueryClient } from './client.js';
import { canonicalDnsName } from './names.js';
import { RCODE } from './wire.js';
import type { DnsResult, RecordType } from './types.js';

export interface Resolver {
  /** Never rejects for DNS outcomes: timeouts, failures and negatives are values. */
  lookup<T extends RecordType>(name: string, type: T): Promise<DnsResult<T>>;
}

export interface CachingResolverOptions {
  readonly client: DnsQueryClient;
  readonly clock: Clock;
  readonly cache?: DnsCacheOptions;
  /** Default 8. */
  readonly maxCnameHops?: number;
  /** The servers validate DNSSEC and are trusted to (dns.dnssec): their AD bit makes an answer secure. */
  readonly validating?: boolean;
}

export const DEFAULT_MAX_CNAME_HOPS = 8;

export class CachingResolver implements Resolver {
  private readonly client: DnsQueryClient;
  private readonly cache: DnsCache;
  private readonly maxCnameHops: number;
  private readonly validating: boolean;

  constructor(options: CachingResolverOptions) {
    this.client = options.client;
    this.cache = new DnsCache(options.clock, options.cache);
    this.maxCnameHops = options.maxCnameHops ?? DEFAULT_MAX_CNAME_HOPS;
    this.validating = options.validating ?? false;
  }

  async lookup<T extends RecordType>(name: string, type: T): Promise<DnsResult<T>> {
    const canonical = canonicalDnsName(name);
    if (canonical === undefined) return { kind: 'servfail', reason: `not a valid DNS name: ${JSON.stringify(name)}` };
    const cached = this.cache.get(canonical, type);
    if (cached !== undefined) return cached;
    const result = await this.resolve(canonical, type);
    this.cache.set(canonical, type, result);
    return result;
  }

  private async resolve<T extends RecordType>(asked: string, type: T): Promise<DnsResult<T>> {
    const chain: ChainState = { visited: new Set([asked]), hops: 0, maxHops: this.maxCnameHops };
    let current = asked;
    let chainTtlSeconds = Number.POSITIVE_INFINITY;
    let authenticated = true;
    for (;;) {
      const outcome = await this.client.query(current, type);
      if (outcome.kind === 'timeout') return { kind: 'timeout', reason: outcome.reason };
      if (outcome.kind === 'error') return { kind: 'servfail', reason: outcome.reason };
      const { message } = outcome;
      if (message.rcode === RCODE.SERVFAIL) return { kind: 'servfail', reason: `SERVFAIL from ${outcome.server.host}` };
      if (message.rcode === RCODE.REFUSED) return { kind: 'refused', reason: `REFUSED by ${outcome.server.host}` };
      authenticated = authenticated && message.authenticated;
      const reading = readAnswer(message, current, type, chain);
      switch (reading.kind) {
        case 'records':
          return { kind: 'ok', records: reading.records, ttlSeconds: Math.min(chainTtlSeconds, reading.ttlSeconds), canonicalName: reading.name, authenticated, secure: this.validating && authenticated };
        case 'nxdomain':
        case 'nodata': {
          const ttlSeconds = Math.min(chainTtlSeconds, reading.chainTtlSeconds, reading.ttlSeconds);
          return { kind: reading.kind, ttlSeconds, canonicalName: reading.name, authenticated, secure: this.validating && authenticated };
        }
        case 'follow':
          chainTtlSeconds = Math.min(chainTtlSeconds, reading.ttlSeconds);
          current = reading.name;
          break;
        default:
          return reading;
      }
    }
  }
}
