// The in-memory cache of probe answers: "valid" and "invalid" entries with
// their own lifetimes, bounded in size (least recently used dropped first).
// Unavailable answers are never stored: they say nothing about the address.

import type { Clock } from '../core/clock.js';

export type CachedResult = 'valid' | 'invalid';

export interface CachedAnswer {
  readonly result: CachedResult;
  readonly detail: string;
  readonly expiresAtMs: number;
}

/** Longest detail kept per entry (the cache may hold many entries). */
const MAX_DETAIL_CHARS = 200;

export class AnswerCache {
  readonly #entries = new Map<string, CachedAnswer>();
  readonly #clock: Clock;
  readonly #maxEntries: number;
  readonly #ttlMs: Readonly<Record<CachedResult, number>>;

  constructor(options: { readonly clock: Clock; readonly maxEntries: number; readonly positiveTtlMs: number; readonly negativeTtlMs: number }) {
    this.#clock = options.clock;
    this.#maxEntries = options.maxEntries;
    this.#ttlMs = { valid: options.positiveTtlMs, invalid: options.negativeTtlMs };
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The live answer for `key`, or undefined (an expired one is dropped). */
  get(key: string): CachedAnswer | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAtMs <= this.#clock.now()) return undefined;
    this.#entries.set(key, entry);
    return entry;
  }

  /** Stores an answer for its result's lifetime; a lifetime of 0 stores nothing. */
  set(key: string, result: CachedResult, detail: string): void {
    const ttlMs = this.#ttlMs[result];
    this.#entries.delete(key);
    if (ttlMs <= 0) return;
    this.#entries.set(key, { result, detail: detail.slice(0, MAX_DETAIL_CHARS), expiresAtMs: this.#clock.now() + ttlMs });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
  }
}
