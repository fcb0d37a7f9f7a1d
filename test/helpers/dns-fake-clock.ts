// A manual Clock for DNS tests: time moves only when the test calls advance(),
// and a test can wait until the code under test has armed its timers.

import type { Clock, Timer } from '../../src/core/clock.js';

interface PendingTimer {
  readonly dueAtMs: number;
  readonly callback: () => void;
}

export class FakeClock implements Clock {
  private nowMs: number;
  private readonly timers = new Set<PendingTimer>();
  private waiters: { count: number; resolve: () => void }[] = [];

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimer(delayMs: number, callback: () => void): Timer {
    const timer: PendingTimer = { dueAtMs: this.nowMs + Math.max(0, delayMs), callback };
    this.timers.add(timer);
    this.notify();
    return { cancel: () => void this.timers.delete(timer) };
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Resolves once at least `count` timers are pending. */
  waitForTimers(count = 1): Promise<void> {
    if (this.timers.size >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const target = this.nowMs + ms;
    for (;;) {
      const due = [...this.timers].filter((timer) => timer.dueAtMs <= target).sort((a, b) => a.dueAtMs - b.dueAtMs)[0];
      if (due === undefined) break;
      this.timers.delete(due);
      this.nowMs = Math.max(this.nowMs, due.dueAtMs);
      due.callback();
    }
    this.nowMs = target;
  }

  private notify(): void {
    const ready = this.waiters.filter((waiter) => this.timers.size >= waiter.count);
    this.waiters = this.waiters.filter((waiter) => this.timers.size < waiter.count);
    for (const waiter of ready) waiter.resolve();
  }
}
