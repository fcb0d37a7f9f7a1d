// A Clock for tests: time moves only when the test calls advance(), which
// fires due timers in order; a test can also wait until the code under test
// has armed its timers. No sleeps, no wall-clock dependence.

import type { Clock, Timer } from '../../src/core/clock.js';

interface PendingTimer {
  readonly dueMs: number;
  readonly sequence: number;
  readonly callback: () => void;
}

interface TimerWaiter {
  readonly count: number;
  readonly resolve: () => void;
}

export class ManualClock implements Clock {
  private currentMs: number;
  private sequence = 0;
  private readonly pending = new Set<PendingTimer>();
  private waiters: TimerWaiter[] = [];

  constructor(startMs = Date.UTC(2026, 10, 26, 10, 0, 0)) {
    this.currentMs = startMs;
  }

  now(): number {
    return this.currentMs;
  }

  setTimer(delayMs: number, callback: () => void): Timer {
    const timer: PendingTimer = { dueMs: this.currentMs + Math.max(0, delayMs), sequence: this.sequence++, callback };
    this.pending.add(timer);
    this.notifyWaiters();
    return { cancel: () => void this.pending.delete(timer) };
  }

  /** Timers not yet fired nor cancelled. */
  get pendingTimers(): number {
    return this.pending.size;
  }

  /** Resolves once at least `count` timers are pending. */
  waitForTimers(count = 1): Promise<void> {
    if (this.pending.size >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due in due-time
   * order (ties in the order they were set), including timers that callbacks
   * set during the advance.
   */
  advance(ms: number): void {
    const targetMs = this.currentMs + ms;
    for (;;) {
      const due = this.nextDue(targetMs);
      if (due === undefined) break;
      this.pending.delete(due);
      this.currentMs = Math.max(this.currentMs, due.dueMs);
      due.callback();
    }
    this.currentMs = targetMs;
  }

  /** Sets the wall-clock time without firing timers, as when the system clock is stepped (even backwards). */
  setNow(ms: number): void {
    this.currentMs = ms;
  }

  private nextDue(targetMs: number): PendingTimer | undefined {
    let next: PendingTimer | undefined;
    for (const timer of this.pending) {
      if (timer.dueMs > targetMs) continue;
      if (next === undefined || timer.dueMs < next.dueMs || (timer.dueMs === next.dueMs && timer.sequence < next.sequence)) next = timer;
    }
    return next;
  }

  private notifyWaiters(): void {
    const ready = this.waiters.filter((waiter) => this.pending.size >= waiter.count);
    this.waiters = this.waiters.filter((waiter) => this.pending.size < waiter.count);
    for (const waiter of ready) waiter.resolve();
  }
}
