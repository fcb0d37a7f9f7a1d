// A sliding-window cap: at most `limit` message starts in any `windowMs`
// (delivery.providers.<name>.ratePerMinute / ratePerHour), on the injected clock's times.

export class SlidingWindowCap {
  readonly #limit: number;
  readonly #windowMs: number;
  /** Start times within the window, oldest first (at most `limit`). */
  #starts: number[] = [];

  constructor(limit: number, windowMs: number) {
    this.#limit = Math.max(1, Math.floor(limit));
    this.#windowMs = windowMs;
  }

  /** Takes up to `wanted` starts at `nowMs`; returns how many fit. */
  take(wanted: number, nowMs: number): number {
    this.#expire(nowMs);
    const granted = Math.max(0, Math.min(Math.floor(wanted), this.#limit - this.#starts.length));
    for (let index = 0; index < granted; index += 1) this.#starts.push(nowMs);
    return granted;
  }

  /** When the next start fits; undefined when one does now. */
  readyAtMs(nowMs: number): number | undefined {
    this.#expire(nowMs);
    const oldest = this.#starts[0];
    return this.#starts.length < this.#limit || oldest === undefined ? undefined : oldest + this.#windowMs;
  }

  /** How many more starts fit at `nowMs`. */
  room(nowMs: number): number {
    this.#expire(nowMs);
    return this.#limit - this.#starts.length;
  }

  #expire(nowMs: number): void {
    let drop = 0;
    while (drop < this.#starts.length && (this.#starts[drop] as number) + this.#windowMs <= nowMs) drop += 1;
    if (drop > 0) this.#starts = this.#starts.slice(drop);
  }
}
