// The oldest arrival among the queued messages without a scan: a min-heap of
// (arrival, id) kept in two flat arrays, whose entries go stale when a message
// leaves or changes and are dropped lazily when they reach the top.

export class ArrivalHeap {
  private arrivalsMs: number[] = [];
  private ids: string[] = [];

  /** Entries held, stale ones included (rebuild when this outgrows the queue). */
  get size(): number {
    return this.ids.length;
  }

  push(id: string, arrivalMs: number): void {
    this.arrivalsMs.push(arrivalMs);
    this.ids.push(id);
    this.siftUp(this.ids.length - 1);
  }

  /** The earliest arrival whose entry `isCurrent` accepts, dropping stale ones on the way; undefined when none is left. */
  oldest(isCurrent: (id: string, arrivalMs: number) => boolean): number | undefined {
    while (this.ids.length > 0) {
      const id = this.ids[0] as string;
      const arrivalMs = this.arrivalsMs[0] as number;
      if (isCurrent(id, arrivalMs)) return arrivalMs;
      this.popTop();
    }
    return undefined;
  }

  /** Replaces the contents with exactly these entries (O(n) heapify). */
  rebuild(entries: Iterable<{ readonly id: string; readonly arrivalMs: number }>): void {
    this.arrivalsMs = [];
    this.ids = [];
    for (const { id, arrivalMs } of entries) {
      this.arrivalsMs.push(arrivalMs);
      this.ids.push(id);
    }
    for (let index = (this.ids.length >> 1) - 1; index >= 0; index -= 1) this.siftDown(index);
  }

  private popTop(): void {
    const lastMs = this.arrivalsMs.pop() as number;
    const lastId = this.ids.pop() as string;
    if (this.ids.length === 0) return;
    this.arrivalsMs[0] = lastMs;
    this.ids[0] = lastId;
    this.siftDown(0);
  }

  private siftUp(start: number): void {
    let index = start;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if ((this.arrivalsMs[parent] as number) <= (this.arrivalsMs[index] as number)) return;
      this.swap(index, parent);
      index = parent;
    }
  }

  private siftDown(start: number): void {
    const length = this.ids.length;
    let index = start;
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let smallest = index;
      if (left < length && (this.arrivalsMs[left] as number) < (this.arrivalsMs[smallest] as number)) smallest = left;
      if (right < length && (this.arrivalsMs[right] as number) < (this.arrivalsMs[smallest] as number)) smallest = right;
      if (smallest === index) return;
      this.swap(index, smallest);
      index = smallest;
    }
  }

  private swap(a: number, b: number): void {
    const ms = this.arrivalsMs[a] as number;
    this.arrivalsMs[a] = this.arrivalsMs[b] as number;
    this.arrivalsMs[b] = ms;
    const id = this.ids[a] as string;
    this.ids[a] = this.ids[b] as string;
    this.ids[b] = id;
  }
}
