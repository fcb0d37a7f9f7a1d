// A Clock for tests: time moves only when the test calls advance(), which
// fires due timers in order. No sleeps, no wall-clock dependence.

import type { Clock, Timer } from '../../src/core/clock.js';

interface Pending {
  readonly dueMs: number;
  readonly sequence: number;
  readonly callback: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  private currentMs: number;
  private sequence = 0;
  private pending: Pending[] = [];

  constructor(startMs = Date.UTC(2026, 10, 26, 10, 0, 0)) {
    this.currentMs = startMs;
  }

  now(): number {
    return this.currentMs;
  }

  setTimer(delayMs: number, callback: () => void): Timer {
    const entry: Pending = { dueMs: this.currentMs + Math.max(0, delayMs), sequence: this.sequence++, callback, cancelled: false };
    this.pending.push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  /** Timers not yet fired nor cancelled. */
  get pendingTimers(): number {
    return this.pending.filter((entry) => !entry.cancelled).length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const targetMs = this.currentMs + ms;
    for (;;) {
      const due = this.pending
        .filter((entry) => !entry.cancelled && entry.dueMs <= targetMs)
        .sort((a, b) => a.dueMs - b.dueMs || a.sequence - b.sequence)[0];
      if (due === undefined) break;
      this.currentMs = Math.max(this.currentMs, due.dueMs);
      due.cancelled = true;
      due.callback();
    }
    this.pending = this.pending.filter((entry) => !entry.cancelled);
    this.currentMs = targetMs;
  }
}
