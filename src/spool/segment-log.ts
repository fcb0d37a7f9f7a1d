// Group commit into the queue log: records from every session and the
// delivery side are appended to the active segment file, and each batch of
// concurrent appends is written with one writev and made durable with one
// fdatasync (plus a folder fsync when a batch opens a new segment).
// Appends arriving while a batch is in flight join the next batch.

import { close, fdatasync, ftruncate, open, writev } from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../core/errors.js';
import type { EncodedRecord } from './log-format.js';
import { SPOOL_FILE_MODE } from './io.js';

export type FileSync = (fd: number) => Promise<void>;
export type FolderSync = (folder: string) => Promise<void>;

export interface LogPosition {
  readonly segment: number;
  /** The record's first byte in the segment. */
  readonly offset: number;
}

export interface SegmentLogStats {
  /** Batches written, each one fdatasync per segment it touched. */
  readonly batches: number;
  readonly fileSyncs: number;
  /** Records made durable. */
  readonly appends: number;
  /** Records queued for the next batch. */
  readonly waiting: number;
}

export interface SegmentLogOptions {
  readonly folder: string;
  /** The number the first new segment gets (one above every segment that exists). */
  readonly nextSegment: number;
  readonly maxSegmentBytes: number;
  readonly fileSync?: FileSync;
  readonly folderSync: FolderSync;
  /** Told of a segment no more appends go to, once its last batch is durable. */
  readonly onSealed?: (segment: number, bytes: number) => void;
}

interface PendingAppend {
  readonly encoded: EncodedRecord;
  readonly resolve: (position: LogPosition) => void;
  readonly reject: (error: unknown) => void;
}

interface ActiveSegment {
  readonly segment: number;
  readonly fd: number;
  size: number;
}

export function segmentFileName(segment: number): string {
  return `${segment.toString().padStart(12, '0')}.log`;
}

/** The segment number of a log file name, or undefined for another name. */
export function segmentNumberOf(name: string): number | undefined {
  const match = /^(\d{12})\.log$/.exec(name);
  return match === null ? undefined : Number(match[1]);
}

export class SegmentLog {
  private readonly options: SegmentLogOptions;
  private readonly fileSync: FileSync;
  private pending: PendingAppend[] = [];
  private running: Promise<void> | undefined;
  private active: ActiveSegment | undefined;
  private nextSegment: number;
  private batchCount = 0;
  private fileSyncCount = 0;
  private appendCount = 0;

  constructor(options: SegmentLogOptions) {
    this.options = options;
    this.nextSegment = options.nextSegment;
    this.fileSync = options.fileSync ?? fdatasyncFd;
  }

  /** Resolves with the record's position once it is written and fdatasync'd; rejects with the batch's I/O error. */
  append(encoded: EncodedRecord): Promise<LogPosition> {
    return new Promise<LogPosition>((resolve, reject) => {
      this.pending.push({ encoded, resolve, reject });
      this.running ??= this.drain();
    });
  }

  /** The segment appends currently go to (undefined before the first append): it is never removed. */
  get activeSegment(): number | undefined {
    return this.active?.segment;
  }

  /** Resolves when no batch is pending or in flight. */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  /** Waits for pending batches and closes the active segment. */
  async close(): Promise<void> {
    await this.idle();
    const active = this.active;
    this.active = undefined;
    if (active !== undefined) {
      await closeFd(active.fd);
      this.options.onSealed?.(active.segment, active.size);
    }
  }

  get stats(): SegmentLogStats {
    return { batches: this.batchCount, fileSyncs: this.fileSyncCount, appends: this.appendCount, waiting: this.pending.length };
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      await this.writeBatch(batch);
    }
    this.running = undefined;
  }

  private async writeBatch(batch: readonly PendingAppend[]): Promise<void> {
    this.batchCount += 1;
    const sealed: ActiveSegment[] = [];
    const touched: Array<{ readonly target: ActiveSegment; readonly startSize: number; buffers: Buffer[] }> = [];
    const positions: LogPosition[] = [];
    let openedFolderEntry = false;
    try {
      for (const append of batch) {
        let target = this.active;
        if (target === undefined || (target.size > 0 && target.size + append.encoded.length > this.options.maxSegmentBytes)) {
          if (target !== undefined) sealed.push(target);
          target = await this.openNextSegment();
          this.active = target;
          openedFolderEntry = true;
        }
        let group = touched[touched.length - 1];
        if (group === undefined || group.target !== target) {
          group = { target, startSize: target.size, buffers: [] };
          touched.push(group);
        }
        positions.push({ segment: target.segment, offset: target.size });
        group.buffers.push(...append.encoded.buffers);
        target.size += append.encoded.length;
      }
      for (const group of touched) await writeAllAt(group.target.fd, group.buffers, group.startSize);
      this.fileSyncCount += touched.length;
      await Promise.all(touched.map((group) => this.fileSync(group.target.fd)));
      if (openedFolderEntry) await this.options.folderSync(this.options.folder);
    } catch (error) {
      // Nothing more goes to a segment whose tail may be torn: the next append opens a new one.
      for (const group of touched) {
        await truncateFd(group.target.fd, group.startSize);
        if (this.active === group.target) this.active = undefined;
        if (!sealed.includes(group.target)) sealed.push(group.target);
      }
      for (const append of batch) append.reject(error);
      await this.seal(sealed);
      return;
    }
    this.appendCount += batch.length;
    batch.forEach((append, index) => append.resolve(positions[index] as LogPosition));
    await this.seal(sealed);
  }

  private async seal(segments: readonly ActiveSegment[]): Promise<void> {
    for (const target of segments) {
      await closeFd(target.fd);
      this.options.onSealed?.(target.segment, target.size);
    }
  }

  private async openNextSegment(): Promise<ActiveSegment> {
    for (;;) {
      const segment = this.nextSegment;
      this.nextSegment += 1;
      try {
        const fd = await openExclusive(join(this.options.folder, segmentFileName(segment)));
        return { segment, fd, size: 0 };
      } catch (error) {
        // Another process (an offline queue command) took this number: take the next.
        if (errnoCode(error) !== 'EEXIST') throw error;
      }
    }
  }
}

function fdatasyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (error) => (error === null ? resolve() : reject(error))));
}

function openExclusive(path: string): Promise<number> {
  return new Promise((resolve, reject) => open(path, 'wx', SPOOL_FILE_MODE, (error, fd) => (error === null ? resolve(fd) : reject(error))));
}

function closeFd(fd: number): Promise<void> {
  return new Promise((resolve) => close(fd, () => resolve()));
}

/** Best effort: cuts a failed batch off the segment so a later scan sees a clean end. */
function truncateFd(fd: number, length: number): Promise<void> {
  return new Promise((resolve) => ftruncate(fd, length, () => resolve()));
}

/** Writes every buffer at `position` on, continuing after short writes. */
async function writeAllAt(fd: number, buffers: Buffer[], position: number): Promise<void> {
  let remaining = buffers;
  let at = position;
  while (remaining.length > 0) {
    const written = await new Promise<number>((resolve, reject) =>
      writev(fd, remaining, at, (error, bytesWritten) => (error === null ? resolve(bytesWritten) : reject(error))),
    );
    at += written;
    remaining = dropBytes(remaining, written);
  }
}

function dropBytes(buffers: Buffer[], count: number): Buffer[] {
  let left = count;
  const rest: Buffer[] = [];
  for (const buffer of buffers) {
    if (left >= buffer.length) {
      left -= buffer.length;
    } else {
      rest.push(left === 0 ? buffer : buffer.subarray(left));
      left = 0;
    }
  }
  return rest;
}
