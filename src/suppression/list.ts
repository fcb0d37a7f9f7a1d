// The suppression list's state, pure and in memory: addresses that failed
// permanently (RFC 3463 5.1.x mailbox statuses) `after` times within `ttl` are
// suppressed until `ttl` after the last counted failure; operators add and remove them.

import { parseRcptToArgument, type Mailbox } from '../smtp/address.js';

export interface SuppressionSettings {
  /** Permanent failures within `ttlMs` that suppress an address. */
  readonly after: number;
  /** How long a failure counts and how long a suppression lasts. */
  readonly ttlMs: number;
}

export type SuppressionSource = 'delivery' | 'operator';

/** One address on the list: suppressed (with `expiresAtMs`) or still counting failures. */
export interface SuppressionEntry {
  /** As the failed recipient or the operator wrote it (shown by `outpost suppress list`). */
  readonly address: string;
  /** Times of the counted permanent failures, oldest first (at most `after`, all within the ttl). */
  readonly failuresMs: readonly number[];
  /** When the address became suppressed; undefined while it is still counting. */
  readonly suppressedAtMs: number | undefined;
  readonly expiresAtMs: number | undefined;
  readonly source: SuppressionSource;
  /** The last failure's reply, bounded ("550 5.1.1 ..."); empty for an operator's entry. */
  readonly reply: string;
}

/** Longest reply text kept per entry. */
export const MAX_ENTRY_REPLY_CHARS = 200;

/**
 * Enhanced status codes that count (RFC 3463, RFC 7505): 5.1.1 bad destination mailbox,
 * 5.1.6 mailbox moved, 5.1.10 null MX. Not 5.1.2 (no such domain: often a passing DNS
 * mistake), 5.1.3 (syntax: never reaches a server twice alike), 5.1.7/5.1.8 (the sender's address).
 */
export const SUPPRESSING_STATUSES: ReadonlySet<string> = new Set(['5.1.1', '5.1.6', '5.1.10']);

/**
 * The key of an address: the local part and the domain lower-cased (hosted relays and
 * providers treat mailbox names case-insensitively; RFC 5321 §2.4 lets the host decide),
 * the domain as its canonical A-label form. Undefined for text that is not an address.
 */
export function suppressionKey(address: string): string | undefined {
  const parsed = parseRcptToArgument(`TO:<${address}>`);
  if (!parsed.ok || parsed.params.length > 0) return undefined;
  return mailboxSuppressionKey(parsed.path);
}

export function mailboxSuppressionKey(mailbox: Mailbox): string | undefined {
  if (mailbox.domain === '') return undefined;
  return `${mailbox.localPart}@${mailbox.canonicalDomain ?? mailbox.domain}`.toLowerCase();
}

export function isActive(entry: SuppressionEntry, nowMs: number): boolean {
  return entry.expiresAtMs !== undefined && entry.expiresAtMs > nowMs;
}

export class SuppressionList {
  private readonly entries = new Map<string, SuppressionEntry>();

  constructor(entries: Iterable<SuppressionEntry> = []) {
    for (const entry of entries) {
      const key = suppressionKey(entry.address);
      if (key !== undefined) this.entries.set(key, entry);
    }
  }

  /** The active suppression of this key, if any. */
  suppressed(key: string, nowMs: number): SuppressionEntry | undefined {
    const entry = this.entries.get(key);
    return entry !== undefined && isActive(entry, nowMs) ? entry : undefined;
  }

  /**
   * Counts one permanent failure of `address`; returns the entry when this failure
   * suppressed it (undefined when it is still counting, already suppressed, or not an address).
   */
  recordFailure(address: string, reply: string, nowMs: number, settings: SuppressionSettings): SuppressionEntry | undefined {
    const key = suppressionKey(address);
    if (key === undefined) return undefined;
    const previous = this.entries.get(key);
    if (previous !== undefined && isActive(previous, nowMs)) return undefined;
    const recent = (previous?.failuresMs ?? []).filter((atMs) => atMs > nowMs - settings.ttlMs);
    const failuresMs = [...recent, nowMs].slice(-settings.after);
    const suppressing = failuresMs.length >= settings.after;
    const entry: SuppressionEntry = {
      address,
      failuresMs,
      suppressedAtMs: suppressing ? nowMs : undefined,
      expiresAtMs: suppressing ? nowMs + settings.ttlMs : undefined,
      source: 'delivery',
      reply: boundedReply(reply),
    };
    this.entries.set(key, entry);
    return suppressing ? entry : undefined;
  }

  /** An operator's suppression for `ttlMs` from now; undefined when `address` is not an address. */
  add(address: string, nowMs: number, ttlMs: number): SuppressionEntry | undefined {
    const key = suppressionKey(address);
    if (key === undefined) return undefined;
    const entry: SuppressionEntry = { address, failuresMs: [], suppressedAtMs: nowMs, expiresAtMs: nowMs + ttlMs, source: 'operator', reply: '' };
    this.entries.set(key, entry);
    return entry;
  }

  /** Forgets the address (suppressed or counting); false when it was not on the list. */
  remove(address: string): boolean {
    const key = suppressionKey(address);
    return key !== undefined && this.entries.delete(key);
  }

  /** Drops expired suppressions and failures older than the ttl. */
  prune(nowMs: number, ttlMs: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.expiresAtMs !== undefined ? entry.expiresAtMs <= nowMs : entry.failuresMs.every((atMs) => atMs <= nowMs - ttlMs)) this.entries.delete(key);
    }
  }

  /** Every entry (counting ones too), by address. */
  all(): SuppressionEntry[] {
    return [...this.entries.values()].sort((a, b) => a.address.localeCompare(b.address));
  }

  /** Suppressed addresses now. */
  activeCount(nowMs: number): number {
    let count = 0;
    for (const entry of this.entries.values()) if (isActive(entry, nowMs)) count += 1;
    return count;
  }
}

/** One line of printable ASCII, at most MAX_ENTRY_REPLY_CHARS. */
export function boundedReply(reply: string): string {
  const clean = reply.replace(/[^\x20-\x7e]+/g, ' ').replace(/ {2,}/g, ' ').trim();
  return clean.length <= MAX_ENTRY_REPLY_CHARS ? clean : `${clean.slice(0, MAX_ENTRY_REPLY_CHARS - 3)}...`;
}
