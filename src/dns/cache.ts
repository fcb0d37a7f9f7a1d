// Bounded LRU cache of DNS results honouring TTLs within a floor and ceiling,
// with negative caching of NXDOMAIN/NODATA (RFC 2308 §5); failures are not cached.

import type { Clock } from '../core/clock.js';
import type { DnsResult, RecordType } from './types.js';

export interface DnsCacheOptions {
  /** Default 10000 entries; the least recently used goes first. */
  readonly maxEntries?: number;
  /** TTLs are raised to at least this; default 0 s. */
  readonly minTtlSeconds?: number;
  /** TTLs are capped at this; default 1 day. */
  readonly maxTtlSeconds?: number;
  /** Negative answers are kept at most this long; default 1 hour (RFC 2308 §5 suggests 1-3 h). */
  readonly maxNegativeTtlSeconds?: number;
}

interface Entry {
  readonly result: DnsResult<RecordType>;
  readonly expiresAtMs: number;
}

export class DnsCache {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;
  private readonly maxEntries: number;
  private readonly minTtlSeconds: number;
  private readonly maxTtlSeconds: number;
  private readonly maxNegativeTtlSeconds: number;

  constructor(clock: Clock, options: DnsCacheOptions = {}) {
    this.clock = clock;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.minTtlSeconds = options.minTtlSeconds ?? 0;
    this.maxTtlSeconds = options.maxTtlSeconds ?? 86_400;
    this.maxNegativeTtlSeconds = options.maxNegativeTtlSeconds ?? 3_600;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached result with its remaining TTL, or undefined when absent or expired. */
  get<T extends RecordType>(name: string, type: T): DnsResult<T> | undefined {
    const key = `${type} ${name}`;
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    const remainingMs = entry.expiresAtMs - this.clock.now();
    if (remainingMs <= 0) {
      this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    const result = entry.result as DnsResult<T>;
    const ttlSeconds = Math.ceil(remainingMs / 1000);
    if (result.kind === 'ok') return { ...result, ttlSeconds };
    if (result.kind === 'nxdomain' || result.kind === 'nodata') return { ...result, ttlSeconds };
    return result;
  }

  set<T extends RecordType>(name: string, type: T, result: DnsResult<T>): void {
    const ttlSeconds = this.effectiveTtl(result);
    if (ttlSeconds <= 0) return;
    const key = `${type} ${name}`;
    this.entries.delete(key);
    this.entries.set(key, { result, expiresAtMs: this.clock.now() + ttlSeconds * 1000 });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }

  private effectiveTtl(result: DnsResult<RecordType>): number {
    switch (result.kind) {
      case 'ok':
        return Math.min(Math.max(result.ttlSeconds, this.minTtlSeconds), this.maxTtlSeconds);
      case 'nxdomain':
      case 'nodata':
        // No SOA, no negative caching (RFC 2308 §5): ttlSeconds 0 stays 0.
        return result.ttlSeconds <= 0 ? 0 : Math.min(Math.max(result.ttlSeconds, this.minTtlSeconds), this.maxNegativeTtlSeconds);
      default:
        return 0;
    }
  }
}
