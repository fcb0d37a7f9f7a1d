// Brute-force defence for AUTH (RFC 4954 §4 leaves it to the server): failed attempts per
// client address in a sliding window give a growing delay, then a lockout (421 4.7.0) for a while.

import { isIP } from 'node:net';
import type { Clock } from '../core/clock.js';
import { unmapIpv4 } from '../core/network.js';

export interface FailureLimiterOptions {
  readonly clock: Clock;
  /** Failures older than this no longer count. */
  readonly windowMs: number;
  /** This many failures within the window lock the client out. */
  readonly maxFailures: number;
  readonly lockoutMs: number;
  /** Delay after the second failure; it doubles with each further one. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Clients remembered at most; the least recently failing are forgotten first. */
  readonly maxClients: number;
}

export const DEFAULT_FAILURE_LIMITS: Omit<FailureLimiterOptions, 'clock'> = Object.freeze({
  windowMs: 15 * 60_000,
  maxFailures: 10,
  lockoutMs: 15 * 60_000,
  baseDelayMs: 1_000,
  maxDelayMs: 16_000,
  maxClients: 10_000,
});

export interface FailureVerdict {
  /** Failures of this client in the window, this one included. */
  readonly failures: number;
  /** How long to hold back the reply to this failed attempt. */
  readonly delayMs: number;
  /** True when this failure locked the client out. */
  readonly lockedOut: boolean;
}

interface ClientRecord {
  /** Times of failures within the window, oldest first. */
  failureTimesMs: number[];
  lockedUntilMs: number;
}

/**
 * The unit that is counted: an IPv4 address, or the /64 of an IPv6 address
 * (one end site usually holds a whole /64, RFC 6177).
 */
export function clientKey(address: string): string {
  const plain = unmapIpv4(address);
  if (isIP(plain) !== 6) return plain;
  const [head = '', tail] = (plain.toLowerCase().split('%')[0] ?? '').split('::');
  const headGroups = head === '' ? [] : head.split(':');
  // A trailing dotted IPv4 part ("64:ff9b::192.0.2.1") stands for two groups.
  const tailWidth = tail === undefined || tail === '' ? 0 : tail.split(':').reduce((sum, group) => sum + (group.includes('.') ? 2 : 1), 0);
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(Math.max(0, 8 - headGroups.length - tailWidth)).fill('0'), ...tail.split(':')];
  return `${groups.slice(0, 4).map((group) => Number.parseInt(group, 16).toString(16)).join(':')}::/64`;
}

export class FailureLimiter {
  private readonly options: FailureLimiterOptions;
  private readonly clients = new Map<string, ClientRecord>();

  constructor(options: Partial<Omit<FailureLimiterOptions, 'clock'>> & { readonly clock: Clock }) {
    this.options = { ...DEFAULT_FAILURE_LIMITS, ...options };
  }

  /** Clients currently remembered (bounded by maxClients). */
  get size(): number {
    return this.clients.size;
  }

  /** Counts a failed AUTH from `address` and says how to answer it. */
  recordFailure(address: string): FailureVerdict {
    const key = clientKey(address);
    const nowMs = this.options.clock.now();
    const record = this.current(key, nowMs) ?? { failureTimesMs: [], lockedUntilMs: 0 };
    record.failureTimesMs.push(nowMs);
    this.clients.delete(key);
    this.clients.set(key, record);
    this.evictBeyondCapacity(nowMs);
    const failures = record.failureTimesMs.length;
    const lockedOut = failures >= this.options.maxFailures;
    if (lockedOut) {
      record.lockedUntilMs = nowMs + this.options.lockoutMs;
      record.failureTimesMs = [];
    }
    return { failures, delayMs: this.delayForCount(failures), lockedOut };
  }

  /** The delay for the most recent failure of `address` (0 when it has none in the window). */
  delayMsFor(address: string): number {
    const record = this.current(clientKey(address), this.options.clock.now());
    return this.delayForCount(record?.failureTimesMs.length ?? 0);
  }

  /** True while `address` is locked out: refuse it with 421 4.7.0. */
  isLockedOut(address: string): boolean {
    return this.lockedUntilMs(address) !== undefined;
  }

  /** When the lockout of `address` ends, or undefined when it is not locked out. */
  lockedUntilMs(address: string): number | undefined {
    const nowMs = this.options.clock.now();
    const record = this.current(clientKey(address), nowMs);
    return record !== undefined && record.lockedUntilMs > nowMs ? record.lockedUntilMs : undefined;
  }

  /** 0 for the first failure, then baseDelayMs, doubling, capped at maxDelayMs. */
  private delayForCount(failures: number): number {
    if (failures <= 1) return 0;
    return Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(failures - 2, 30));
  }

  /** The record of `key` with old failures dropped; undefined (and forgotten) when nothing is left. */
  private current(key: string, nowMs: number): ClientRecord | undefined {
    const record = this.clients.get(key);
    if (record === undefined) return undefined;
    if (this.prune(record, nowMs)) return record;
    this.clients.delete(key);
    return undefined;
  }

  /** Drops failures outside the window; false when the record no longer says anything. */
  private prune(record: ClientRecord, nowMs: number): boolean {
    const oldestCountedMs = nowMs - this.options.windowMs;
    const firstKept = record.failureTimesMs.findIndex((timeMs) => timeMs > oldestCountedMs);
    record.failureTimesMs = firstKept < 0 ? [] : record.failureTimesMs.slice(firstKept);
    return record.failureTimesMs.length > 0 || record.lockedUntilMs > nowMs;
  }

  /** Forgets stale clients, then the least recently failing ones, until within maxClients. */
  private evictBeyondCapacity(nowMs: number): void {
    if (this.clients.size <= this.options.maxClients) return;
    for (const [key, record] of this.clients) if (!this.prune(record, nowMs)) this.clients.delete(key);
    for (const key of this.clients.keys()) {
      if (this.clients.size <= this.options.maxClients) break;
      this.clients.delete(key);
    }
  }
}
