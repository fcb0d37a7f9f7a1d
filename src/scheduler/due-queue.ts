// The due-time queue: message ids with the time of their next attempt, and one
// timer on the injected Clock that calls `onDue` when the earliest falls due.
// A consumer that takes only part of what is due (it is full) is not called
// again until it next takes: it comes back itself when it has room.

import type { Clock, Timer } from '../core/clock.js';

/** Long timers are re-armed in steps of at most this, so a far-off time never overflows a platform timer. */
const MAX_TIMER_DELAY_MS = 6 * 60 * 60 * 1000;

interface HeapEntry {
  readonly id: string;
  readonly dueMs: number;
}

export class DueQueue {
  private readonly clock: Clock;
  private readonly onDue: () => void;
  /** The current due time of each queued id; heap entries that disagree with it are stale. */
  private readonly dueById = new Map<string, number>();
  private readonly heap: HeapEntry[] = [];
  private timer: Timer | undefined;
  private armedForMs: number | undefined;
  private closed = false;
  /** The last takeDue left due entries behind (its limit): no timer until the next takeDue. */
  private held = false;

  constructor(clock: Clock, onDue: () => void) {
    this.clock = clock;
    this.onDue = onDue;
  }

  get size(): number {
    return this.dueById.size;
  }

  has(id: string): boolean {
    return this.dueById.has(id);
  }

  dueMs(id: string): number | undefined {
    return this.dueById.get(id);
  }

  /** Queues `id` for `dueMs`, replacing any earlier entry for it. */
  schedule(id: string, dueMs: number): void {
    this.dueById.set(id, dueMs);
    this.push({ id, dueMs });
    this.arm();
  }

  remove(id: string): boolean {
    const removed = this.dueById.delete(id);
    if (removed) this.arm();
    return removed;
  }

  /** Every queued id, with its due time. */
  entries(): IterableIterator<[string, number]> {
    return this.dueById.entries();
  }

  /** Makes every queued id due at `dueMs` (one O(n) rebuild, not n pushes: a flush of a large queue). */
  rescheduleAll(dueMs: number): void {
    this.heap.length = 0;
    for (const id of this.dueById.keys()) {
      this.dueById.set(id, dueMs);
      this.heap.push({ id, dueMs });
    }
    this.arm();
  }

  /** Removes and returns at most `limit` ids due at `nowMs`, earliest first. */
  takeDue(nowMs: number, limit = Infinity): string[] {
    const due: string[] = [];
    this.held = false;
    for (;;) {
      const top = this.peekCurrent();
      if (top === undefined || top.dueMs > nowMs) break;
      if (due.length >= limit) {
        this.held = true;
        break;
      }
      this.pop();
      this.dueById.delete(top.id);
      due.push(top.id);
    }
    this.arm();
    return due;
  }

  /** Cancels the timer; the queue keeps its entries but never fires again. */
  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.armedForMs = undefined;
  }

  private arm(): void {
    if (this.closed) return;
    if (this.held) {
      this.timer?.cancel();
      this.timer = undefined;
      this.armedForMs = undefined;
      return;
    }
    const top = this.peekCurrent();
    if (top?.dueMs === this.armedForMs && this.timer !== undefined) return;
    this.timer?.cancel();
    this.timer = undefined;
    this.armedForMs = top?.dueMs;
    if (top === undefined) return;
    const delayMs = Math.min(Math.max(top.dueMs - this.clock.now(), 0), MAX_TIMER_DELAY_MS);
    this.timer = this.clock.setTimer(delayMs, () => {
      this.timer = undefined;
      this.armedForMs = undefined;
      if (this.closed) return;
      this.arm();
      const next = this.peekCurrent();
      if (next !== undefined && next.dueMs <= this.clock.now()) this.onDue();
    });
  }

  /** The earliest entry that is not stale, dropping stale ones from the top. */
  private peekCurrent(): HeapEntry | undefined {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined) return undefined;
      if (this.dueById.get(top.id) === top.dueMs) return top;
      this.pop();
    }
  }

  private push(entry: HeapEntry): void {
    const heap = this.heap;
    heap.push(entry);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!isBefore(heap[index], heap[parent])) break;
      swap(heap, index, parent);
      index = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    heap[0] = last;
    let index = 0;
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && isBefore(heap[left], heap[smallest])) smallest = left;
      if (right < heap.length && isBefore(heap[right], heap[smallest])) smallest = right;
      if (smallest === index) return;
      swap(heap, index, smallest);
      index = smallest;
    }
  }
}

function isBefore(a: HeapEntry | undefined, b: HeapEntry | undefined): boolean {
  return a !== undefined && b !== undefined && a.dueMs < b.dueMs;
}

function swap(heap: HeapEntry[], i: number, j: number): void {
  const a = heap[i];
  const b = heap[j];
  if (a === undefined || b === undefined) return;
  heap[i] = b;
  heap[j] = a;
}
