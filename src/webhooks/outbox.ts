// The durable outbox of delivery events under <spoolDir>/events/: an append-only
// JSON-lines file, group-committed (one write + fdatasync per batch of appends),
// holding each event with the receivers still owed it, and acknowledgements.
// Replayed at start (a torn last line is cut off); rewritten when mostly acknowledged;
// bounded: past `maxEvents` the oldest event is dropped (counted and logged).

import { close, fdatasync, ftruncate, open, write } from 'node:fs';
import { mkdir, readFile, rename, writeFile, open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { fsyncFolder } from '../spool/group-commit.js';
import type { DeliveryEvent } from './types.js';

export const OUTBOX_FILE = 'outbox.jsonl';
export const DEFAULT_MAX_OUTBOX_EVENTS = 100_000;
/** Rewrite the file once it holds this many lines more than live events. */
export const DEFAULT_COMPACT_AFTER_DEAD_LINES = 10_000;

interface EventLine {
  readonly t: 'e';
  readonly ev: DeliveryEvent;
  readonly to: readonly string[];
}
interface AckLine {
  readonly t: 'a';
  readonly id: string;
  /** Receiver URL; absent: every receiver (a dropped event). */
  readonly to?: string;
}
type Line = EventLine | AckLine;

interface LiveEvent {
  readonly event: DeliveryEvent;
  readonly owed: Set<string>;
}

export interface OutboxObserver {
  dropped(count: number): void;
}

export interface OutboxOptions {
  readonly folder: string;
  readonly logger: Logger;
  readonly maxEvents?: number;
  readonly observer?: OutboxObserver;
  /** Lines (events done, acknowledgements) the file may hold beyond the live events before it is rewritten. */
  readonly compactAfterDeadLines?: number;
  /** Tests inject one to count or fail syncs. */
  readonly fileSync?: (fd: number) => Promise<void>;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class EventOutbox {
  private readonly options: OutboxOptions;
  private readonly path: string;
  private readonly live = new Map<string, LiveEvent>();
  private fd: number;
  private lines = 0;
  private buffered: string[] = [];
  private waiters: Waiter[] = [];
  private running: Promise<void> | undefined;
  private readonly listeners = new Set<() => void>();

  private constructor(options: OutboxOptions, fd: number) {
    this.options = options;
    this.path = join(options.folder, OUTBOX_FILE);
    this.fd = fd;
  }

  /** Opens (creating) the outbox and replays it; events owed only to receivers no longer configured are forgotten. */
  static async open(options: OutboxOptions, receivers: readonly string[]): Promise<EventOutbox> {
    await mkdir(options.folder, { recursive: true, mode: 0o700 });
    const path = join(options.folder, OUTBOX_FILE);
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const fd = await openAppend(path);
    const outbox = new EventOutbox(options, fd);
    const goodBytes = outbox.replay(text, new Set(receivers));
    if (goodBytes < Buffer.byteLength(text)) await new Promise<void>((resolve, reject) => ftruncate(fd, goodBytes, (e) => (e === null ? resolve() : reject(e))));
    await fsyncFolder(options.folder);
    return outbox;
  }

  /** Live events (owed to at least one receiver). */
  get size(): number {
    return this.live.size;
  }

  /** Events owed to `receiver`, oldest first. */
  pendingFor(receiver: string, limit = Infinity): DeliveryEvent[] {
    const found: DeliveryEvent[] = [];
    for (const { event, owed } of this.live.values()) {
      if (found.length >= limit) break;
      if (owed.has(receiver)) found.push(event);
    }
    return found;
  }

  /** Called after each durable append (the senders wake up). */
  onAppended(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once the event is durable (fdatasync'd) for `receivers`. */
  append(event: DeliveryEvent, receivers: readonly string[]): Promise<void> {
    if (receivers.length === 0) return Promise.resolve();
    this.makeRoom();
    this.live.set(event.id, { event, owed: new Set(receivers) });
    return this.write({ t: 'e', ev: event, to: receivers }).then(() => {
      for (const listener of this.listeners) listener();
    });
  }

  /** The receiver accepted the event; durable with the next batch (a crash before resends it: at least once). */
  acknowledge(eventId: string, receiver: string): void {
    const entry = this.live.get(eventId);
    if (entry === undefined || !entry.owed.delete(receiver)) return;
    if (entry.owed.size === 0) this.live.delete(eventId);
    this.write({ t: 'a', id: eventId, to: receiver }).catch((error: unknown) => this.options.logger.warn({ err: error }, 'cannot record a webhook acknowledgement'));
  }

  async close(): Promise<void> {
    while (this.running !== undefined) await this.running;
    await new Promise<void>((resolve) => close(this.fd, () => resolve()));
  }

  private makeRoom(): void {
    const max = this.options.maxEvents ?? DEFAULT_MAX_OUTBOX_EVENTS;
    let dropped = 0;
    let oldest: string | undefined;
    for (const id of this.live.keys()) {
      if (this.live.size < max) break;
      oldest ??= id;
      this.live.delete(id);
      void this.write({ t: 'a', id }).catch(() => undefined);
      dropped += 1;
    }
    if (dropped === 0) return;
    this.options.observer?.dropped(dropped);
    this.options.logger.warn({ component: 'webhooks', dropped, oldestEventId: oldest, maxEvents: max }, 'webhook outbox full: oldest event dropped');
  }

  /** Builds the live set from the file's text; returns the length of its whole-line, parseable prefix. */
  private replay(text: string, receivers: ReadonlySet<string>): number {
    let offset = 0;
    let goodBytes = 0;
    let invalid = 0;
    while (offset < text.length) {
      const end = text.indexOf('\n', offset);
      if (end < 0) break;
      const raw = text.slice(offset, end);
      offset = end + 1;
      const line = parseLine(raw);
      goodBytes = Buffer.byteLength(text.slice(0, offset));
      this.lines += 1;
      if (line === undefined) {
        invalid += 1;
        continue;
      }
      if (line.t === 'e') {
        const owed = new Set(line.to.filter((url) => receivers.has(url)));
        if (owed.size > 0) this.live.set(line.ev.id, { event: line.ev, owed });
        continue;
      }
      const entry = this.live.get(line.id);
      if (entry === undefined) continue;
      if (line.to === undefined) entry.owed.clear();
      else entry.owed.delete(line.to);
      if (entry.owed.size === 0) this.live.delete(line.id);
    }
    if (invalid > 0) this.options.logger.warn({ component: 'webhooks', invalid }, 'webhook outbox: unreadable lines skipped');
    this.options.logger.info({ component: 'webhooks', pending: this.live.size }, 'webhook outbox opened');
    return goodBytes;
  }

  private write(line: Line): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.buffered.push(`${JSON.stringify(line)}\n`);
      this.waiters.push({ resolve, reject });
      this.running ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    while (this.waiters.length > 0) {
      const text = this.buffered.join('');
      const waiters = this.waiters;
      this.buffered = [];
      this.waiters = [];
      try {
        await writeAll(this.fd, Buffer.from(text, 'utf8'));
        await (this.options.fileSync ?? datasync)(this.fd);
        this.lines += waiters.length;
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        for (const waiter of waiters) waiter.reject(error);
      }
      if (this.waiters.length === 0 && this.lines - this.live.size > (this.options.compactAfterDeadLines ?? DEFAULT_COMPACT_AFTER_DEAD_LINES)) await this.compact();
    }
    this.running = undefined;
  }

  /** Rewrites the file with the live events only: temp file, fsync, rename, folder fsync. */
  private async compact(): Promise<void> {
    const temp = `${this.path}.tmp`;
    try {
      const text = [...this.live.values()].map(({ event, owed }) => `${JSON.stringify({ t: 'e', ev: event, to: [...owed] } satisfies EventLine)}\n`).join('');
      await writeFile(temp, text, { mode: 0o600 });
      const handle = await openFile(temp, 'r+');
      await handle.sync();
      await handle.close();
      await rename(temp, this.path);
      await fsyncFolder(this.options.folder);
      const next = await openAppend(this.path);
      const old = this.fd;
      this.fd = next;
      this.lines = this.live.size;
      close(old, () => undefined);
    } catch (error) {
      this.options.logger.warn({ component: 'webhooks', err: error }, 'webhook outbox compaction failed');
    }
  }
}

function parseLine(raw: string): Line | undefined {
  try {
    const value = JSON.parse(raw) as { t?: unknown; id?: unknown; ev?: { id?: unknown } | null; to?: unknown } | null;
    if (value === null || typeof value !== 'object') return undefined;
    if (value.t === 'e' && typeof value.ev?.id === 'string' && Array.isArray(value.to)) return value as unknown as EventLine;
    if (value.t === 'a' && typeof value.id === 'string') return value as unknown as AckLine;
    return undefined;
  } catch {
    return undefined;
  }
}

function writeAll(fd: number, buffer: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (offset: number): void => {
      if (offset >= buffer.length) return resolve();
      write(fd, buffer, offset, buffer.length - offset, null, (error, written) => (error === null ? step(offset + written) : reject(error)));
    };
    step(0);
  });
}

function openAppend(path: string): Promise<number> {
  return new Promise((resolve, reject) => open(path, 'a', 0o600, (error, fd) => (error === null ? resolve(fd) : reject(error))));
}

function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (error) => (error === null ? resolve() : reject(error))));
}
