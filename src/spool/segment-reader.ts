// Reads byte ranges (records' JSON) back from queue log segments, since the
// index keeps only where each record lies: one pread per range, or one per run
// of neighbouring ranges for a bulk read (queue list), through a small cache of
// open segment files (reference-counted: a file is closed only when unused).

import { close, open, read } from 'node:fs';

export interface ByteRange {
  readonly segment: number;
  readonly offset: number;
  readonly length: number;
}

interface OpenSegment {
  readonly fd: number;
  users: number;
  /** Closed (or to be closed once unused): never handed out again. */
  retired: boolean;
}

/** Neighbouring ranges closer than this are read with one pread. */
const MAX_GAP_BYTES = 64 * 1024;
const MAX_RUN_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_OPEN_SEGMENTS = 64;

export class SegmentReader {
  private readonly pathOf: (segment: number) => string;
  private readonly maxOpen: number;
  /** Least recently used first. */
  private readonly openSegments = new Map<number, OpenSegment>();
  private readonly opening = new Map<number, Promise<OpenSegment>>();

  constructor(pathOf: (segment: number) => string, maxOpen = DEFAULT_MAX_OPEN_SEGMENTS) {
    this.pathOf = pathOf;
    this.maxOpen = maxOpen;
  }

  /** Keeps an already open descriptor of `segment` (replay's), so a read later works even if the file is deleted meanwhile. */
  adopt(segment: number, fd: number): boolean {
    if (this.openSegments.has(segment) || this.openSegments.size >= this.maxOpen) return false;
    this.openSegments.set(segment, { fd, users: 0, retired: false });
    return true;
  }

  async read(range: ByteRange): Promise<Buffer> {
    const handle = await this.acquire(range.segment);
    try {
      return await preadFully(handle.fd, range.length, range.offset);
    } finally {
      this.release(range.segment, handle);
    }
  }

  /** The ranges' bytes, in the order given; neighbours in one segment share a pread. */
  async readMany(ranges: readonly ByteRange[]): Promise<Buffer[]> {
    const order = ranges.map((_, index) => index).sort((a, b) => compareRanges(ranges[a] as ByteRange, ranges[b] as ByteRange));
    const results: Buffer[] = new Array<Buffer>(ranges.length);
    let start = 0;
    while (start < order.length) {
      const first = ranges[order[start] as number] as ByteRange;
      let end = start + 1;
      let runEnd = first.offset + first.length;
      for (; end < order.length; end += 1) {
        const next = ranges[order[end] as number] as ByteRange;
        if (next.segment !== first.segment || next.offset - runEnd > MAX_GAP_BYTES || next.offset + next.length - first.offset > MAX_RUN_BYTES) break;
        runEnd = Math.max(runEnd, next.offset + next.length);
      }
      const run = await this.read({ segment: first.segment, offset: first.offset, length: runEnd - first.offset });
      for (let position = start; position < end; position += 1) {
        const index = order[position] as number;
        const range = ranges[index] as ByteRange;
        results[index] = run.subarray(range.offset - first.offset, range.offset - first.offset + range.length);
      }
      start = end;
    }
    return results;
  }

  /** The segment is deleted: its descriptor closes once no read uses it. */
  forget(segment: number): void {
    const handle = this.openSegments.get(segment);
    if (handle === undefined) return;
    this.openSegments.delete(segment);
    handle.retired = true;
    if (handle.users === 0) closeQuietly(handle.fd);
  }

  /** Closes every descriptor not in use (those in use close when their read ends). */
  close(): void {
    for (const segment of [...this.openSegments.keys()]) this.forget(segment);
  }

  private async acquire(segment: number): Promise<OpenSegment> {
    for (;;) {
      const cached = this.openSegments.get(segment);
      if (cached !== undefined) {
        this.openSegments.delete(segment);
        this.openSegments.set(segment, cached);
        cached.users += 1;
        return cached;
      }
      let pending = this.opening.get(segment);
      if (pending === undefined) {
        pending = openReadOnly(this.pathOf(segment)).then(
          (fd) => {
            this.opening.delete(segment);
            const handle: OpenSegment = { fd, users: 0, retired: false };
            this.openSegments.set(segment, handle);
            this.trim();
            return handle;
          },
          (error: unknown) => {
            this.opening.delete(segment);
            throw error;
          },
        );
        this.opening.set(segment, pending);
      }
      const handle = await pending;
      if (!handle.retired) {
        handle.users += 1;
        return handle;
      }
    }
  }

  private release(segment: number, handle: OpenSegment): void {
    handle.users -= 1;
    if (handle.users === 0 && handle.retired) closeQuietly(handle.fd);
    else if (this.openSegments.get(segment) === handle) this.trim();
  }

  /** Closes the least recently used unused descriptors beyond the limit. */
  private trim(): void {
    if (this.openSegments.size <= this.maxOpen) return;
    for (const [segment, handle] of this.openSegments) {
      if (this.openSegments.size <= this.maxOpen) return;
      if (handle.users === 0) this.forget(segment);
    }
  }
}

function compareRanges(a: ByteRange, b: ByteRange): number {
  return a.segment - b.segment || a.offset - b.offset;
}

function openReadOnly(path: string): Promise<number> {
  return new Promise((resolve, reject) => open(path, 'r', (error, fd) => (error === null ? resolve(fd) : reject(error))));
}

function closeQuietly(fd: number): void {
  close(fd, () => undefined);
}

async function preadFully(fd: number, length: number, position: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const bytesRead = await new Promise<number>((resolve, reject) =>
      read(fd, buffer, filled, length - filled, position + filled, (error, count) => (error === null ? resolve(count) : reject(error))),
    );
    if (bytesRead === 0) throw new RangeError(`queue log segment ends at ${position + filled}, inside a record`);
    filled += bytesRead;
  }
  return buffer;
}
