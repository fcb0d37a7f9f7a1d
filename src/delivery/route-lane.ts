// Pacing of one route for smarthosts that cap relays: messages per minute as a
// token bucket on the injected clock (evenly spaced, no bursts) and a growing
// pause after throttling replies (432/421 4.3.2, 450 4.7.x: RFC 3463 §3.4, §3.8).

import type { DeliveryLane } from './types.js';

/** First pause after a throttling reply; it doubles with each one in a row, up to the maximum. */
export const THROTTLE_PAUSE_MS = 60_000;
export const MAX_THROTTLE_PAUSE_MS = 15 * 60_000;

const MS_PER_MINUTE = 60_000;

/**
 * A token bucket counted in integers: credit grows by `ratePerMinute` per
 * millisecond and a token costs 60,000, so nothing drifts with rounding.
 */
export class TokenBucket {
  readonly #ratePerMinute: number;
  readonly #capacityCredit: number;
  #credit: number;
  #updatedMs: number | undefined;

  constructor(ratePerMinute: number, capacity = 1) {
    this.#ratePerMinute = Math.max(1, Math.floor(ratePerMinute));
    this.#capacityCredit = Math.max(1, Math.floor(capacity)) * MS_PER_MINUTE;
    this.#credit = this.#capacityCredit;
  }

  /** Takes up to `wanted` tokens; returns how many there were. */
  take(wanted: number, nowMs: number): number {
    this.#refill(nowMs);
    const granted = Math.max(0, Math.min(Math.floor(wanted), Math.floor(this.#credit / MS_PER_MINUTE)));
    this.#credit -= granted * MS_PER_MINUTE;
    return granted;
  }

  /** When the next token is there; undefined when one is there now. */
  readyAtMs(nowMs: number): number | undefined {
    this.#refill(nowMs);
    if (this.#credit >= MS_PER_MINUTE) return undefined;
    return nowMs + Math.ceil((MS_PER_MINUTE - this.#credit) / this.#ratePerMinute);
  }

  #refill(nowMs: number): void {
    // A clock stepped backwards adds nothing (and takes nothing away).
    if (this.#updatedMs !== undefined && nowMs > this.#updatedMs) {
      this.#credit = Math.min(this.#capacityCredit, this.#credit + (nowMs - this.#updatedMs) * this.#ratePerMinute);
    }
    this.#updatedMs = nowMs;
  }
}

export interface RouteLaneOptions {
  /** The route key ("*" or a domain). */
  readonly route: string;
  readonly maxSessions: number | undefined;
  readonly ratePerMinute: number | undefined;
}

export class RouteLane implements DeliveryLane {
  readonly key: string;
  readonly maxSessions: number | undefined;
  readonly #bucket: TokenBucket | undefined;
  #pausedUntilMs = 0;
  #throttledInARow = 0;

  constructor(options: RouteLaneOptions) {
    this.key = `route:${options.route}`;
    this.maxSessions = options.maxSessions;
    this.#bucket = options.ratePerMinute === undefined ? undefined : new TokenBucket(options.ratePerMinute);
  }

  take(wanted: number, nowMs: number): number {
    if (nowMs < this.#pausedUntilMs) return 0;
    return this.#bucket === undefined ? Math.max(0, Math.floor(wanted)) : this.#bucket.take(wanted, nowMs);
  }

  readyAtMs(nowMs: number): number | undefined {
    const pausedUntilMs = nowMs < this.#pausedUntilMs ? this.#pausedUntilMs : undefined;
    const tokenAtMs = this.#bucket?.readyAtMs(nowMs);
    if (pausedUntilMs === undefined) return tokenAtMs;
    return Math.max(pausedUntilMs, tokenAtMs ?? pausedUntilMs);
  }

  /** The smarthost throttled us: pause the lane (1 min, doubling while it goes on, at most 15 min); returns the pause. */
  recordThrottle(nowMs: number): number {
    this.#throttledInARow += 1;
    const pauseMs = Math.min(MAX_THROTTLE_PAUSE_MS, THROTTLE_PAUSE_MS * 2 ** Math.min(this.#throttledInARow - 1, 10));
    this.#pausedUntilMs = Math.max(this.#pausedUntilMs, nowMs + pauseMs);
    return pauseMs;
  }

  /** A message went through: the next throttling starts over at the shortest pause. */
  recordDelivered(): void {
    this.#throttledInARow = 0;
  }
}
