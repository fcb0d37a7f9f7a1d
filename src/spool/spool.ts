// The durable message store: new messages, record updates and removals are
// appended to a queue log shared by every session (segment-log.ts: one
// fdatasync per batch of concurrent writes); an in-memory index (rebuilt at
// open) says where each record lies and answers counts; records are read back
// on demand (the latest ones from memory) and lists are streamed. Segments whose
// messages are all done are deleted; the few survivors of an old segment are
// copied forward first. With `loadInBackground` (serve) new messages are
// accepted into new segments while the old ones are replayed; reads and changes
// of other messages wait for the replay (`loaded`).

import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { SpoolError } from '../core/errors.js';
import { fsyncFolder, GroupCommitter } from './group-commit.js';
import { readHeaderSection } from './headers.js';
import { fsyncFd, toSpoolError, unlinkIfPresent } from './io.js';
import { readLegacySpool, removeLegacyState, type LegacyScan } from './legacy.js';
import { encodeLogRecord, type EncodedRecord } from './log-format.js';
import { mapLimited } from './map-limited.js';
import { openMessageWriter, type WriterContext } from './message-writer.js';
import { bodyPath, legacyStateFile, spoolPaths, type SpoolPaths } from './paths.js';
import { QueueIdGenerator, validateId, type RandomSource } from './queue-id.js';
import { RecentRecords } from './recent-records.js';
import { recordProblem } from './record.js';
import { RecentBodies } from './recent-bodies.js';
import { indexLegacy, listSegments, replayLog, scheduleFacts } from './replay.js';
import { SegmentReader, type ByteRange } from './segment-reader.js';
import { SegmentLog, segmentFileName, type FileSync, type FolderSync, type LogPosition, type SegmentLogStats } from './segment-log.js';
import type { StagedContent } from './staged-body.js';
import { LEGACY_SEGMENT, QueueIndex, type IndexEntry } from './store-index.js';
import type { EnvelopeRecord, MessageSink, MessageWriter } from './types.js';


export interface RemoveOptions {
  /**
   * false: resolve once the message is out of the index, without waiting for
   * its removal record to be durable (it is, with the next batch). For a
   * message delivered in full: a crash may then bring it back and deliver it
   * once more (at least once, as Postfix does), but never loses it. Default true.
   */
  readonly durable?: boolean;
}

export { validateId } from './queue-id.js';

export const DEFAULT_MAX_SEGMENT_BYTES = 64 * 1024 * 1024;
export const DEFAULT_INLINE_MAX_BYTES = 256 * 1024;
/** A sealed segment whose live bodies are at most this share of it is compacted. */
export const DEFAULT_COMPACT_RATIO = 0.25;
const COMPACTION_CONCURRENCY = 32;
/** Records read (and held) at a time while a list streams. */
const LIST_CHUNK = 1024;
const MAX_ID_COLLISION_RETRIES = 5;

export interface SpoolOptions {
  readonly dir: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** true for `serve`: repair torn tails, migrate the old layout, remove leftovers, compact; false for queue commands. */
  readonly recover: boolean;
  /** Folder fsync; tests inject one to count or fail syncs. */
  readonly folderSync?: FolderSync;
  /** fdatasync of a log segment; tests inject one to count or fail syncs. */
  readonly fileSync?: FileSync;
  /** Random bytes for queue ids. */
  readonly random?: RandomSource;
  readonly maxSegmentBytes?: number;
  readonly inlineMaxBytes?: number;
  readonly compactRatio?: number;
  /** Bytes of recently written records kept in memory (default DEFAULT_RECENT_RECORD_BYTES). */
  readonly recentRecordBytes?: number;
  /**
   * true (serve): `open` resolves once new messages can be stored, and the
   * segments already on disk are replayed in the background (see `loaded`).
   * Default false: `open` resolves with the whole queue loaded.
   */
  readonly loadInBackground?: boolean;
  /** Awaited before each segment on disk is replayed (tests hold the replay at a point with it). */
  readonly beforeReplaySegment?: (segment: number) => Promise<void>;
}

/** What the scheduler needs of a queued message at startup, from memory. */
export interface ScheduleEntry {
  readonly id: string;
  /** The record's nextAttempt in ms since the epoch (NaN when unreadable). */
  readonly nextAttemptMs: number;
  /** Some recipient is still pending. */
  readonly pending: boolean;
}

export interface QueueSummary {
  readonly messages: number;
  /** Arrival of the oldest queued message (ms since the epoch), undefined when the queue is empty. */
  readonly oldestArrivalMs: number | undefined;
}

export class Spool implements MessageSink {
  private readonly paths: SpoolPaths;
  private readonly logger: Logger;
  private readonly ids: QueueIdGenerator;
  private readonly options: SpoolOptions;
  private readonly folderSync: FolderSync;
  private readonly bodyFolderCommitter: GroupCommitter;
  private readonly writerContext: WriterContext;
  private readonly writing = new Set<string>();
  /** Small bodies just committed, so their first delivery need not read the log (serve only). */
  private readonly recentBodies = new RecentBodies();
  private index = new QueueIndex();
  private log: SegmentLog;
  private readonly reader: SegmentReader;
  private readonly recent: RecentRecords;
  /** Per-id tail of the update/remove chain; settles, never rejects. */
  private readonly chains = new Map<string, Promise<void>>();
  private maintenance: Promise<void> | undefined;
  private maintenanceAgain = false;
  private closed = false;
  /** The replay is to end early (shutdown during startup). */
  private replayStopped = false;
  /** The first segment this process writes (messages there are known without the replay). */
  private liveFrom = 1;
  /** The index holds every message on disk (the replay is over). */
  private complete = false;
  private loading: Promise<boolean> = Promise.resolve(true);

  private constructor(options: SpoolOptions) {
    this.options = options;
    this.paths = spoolPaths(options.dir);
    this.logger = options.logger.child({ component: 'spool' });
    this.ids = new QueueIdGenerator(options.clock, options.random);
    this.folderSync = options.folderSync ?? fsyncFolder;
    this.bodyFolderCommitter = new GroupCommitter(this.folderSync);
    this.log = this.newLog(1);
    this.reader = new SegmentReader((segment) => this.segmentPath(segment));
    this.recent = new RecentRecords(options.recentRecordBytes);
    this.writerContext = {
      bodyFolder: this.paths.bodyFolder,
      inlineMaxBytes: options.inlineMaxBytes ?? DEFAULT_INLINE_MAX_BYTES,
      clock: options.clock,
      logger: this.logger,
      store: (record, body) => this.storeNew(record, body),
      settled: (id) => this.writing.delete(id),
    };
  }

  static async open(options: SpoolOptions): Promise<Spool> {
    const spool = new Spool(options);
    try {
      const start = await spool.prepare();
      spool.loading = spool.load(start).catch((error: unknown) => {
        throw toSpoolError(error, `cannot open spool ${options.dir}`);
      });
      // Handled here so a failure nobody awaits yet is not an unhandled rejection; `loaded` still rejects.
      spool.loading.catch(() => undefined);
      if (options.loadInBackground !== true) await spool.loading;
    } catch (error) {
      await spool.log.close();
      spool.reader.close();
      throw toSpoolError(error, `cannot open spool ${options.dir}`);
    }
    return spool;
  }

  /**
   * Resolves true once every message on disk is in the index (and, for serve,
   * the old layout is migrated and leftovers removed); false when the spool was
   * closed first; rejects when the replay failed (an I/O error).
   */
  get loaded(): Promise<boolean> {
    return this.loading;
  }

  /** Ends a replay under way (shutdown during startup); `loaded` then resolves false. Close still has to be called. */
  async stopLoading(): Promise<void> {
    this.replayStopped = true;
    await this.loading.catch(() => undefined);
  }

  async begin(): Promise<MessageWriter> {
    this.assertOpen();
    for (let attempt = 0; ; attempt += 1) {
      const id = this.ids.next();
      if (this.index.has(id) || this.writing.has(id)) {
        if (attempt < MAX_ID_COLLISION_RETRIES) continue;
        throw new SpoolError('cannot create message: queue id collision');
      }
      this.writing.add(id);
      return openMessageWriter(this.writerContext, id);
    }
  }

  /** Every queued message, oldest arrival first, in one array (small queues and tests; `records()` streams). */
  async list(): Promise<EnvelopeRecord[]> {
    const records: EnvelopeRecord[] = [];
    for await (const record of this.records()) records.push(record);
    return records;
  }

  /**
   * Every message queued when called (and still queued when its turn comes), oldest
   * arrival first, read LIST_CHUNK records at a time: memory stays bounded by the
   * index, not by the records.
   */
  async *records(): AsyncGenerator<EnvelopeRecord> {
    await this.whenLoaded();
    const order = [...this.index.values()];
    if (!isInArrivalOrder(order)) order.sort(byArrival);
    for (let start = 0; start < order.length; start += LIST_CHUNK) {
      const chunk: IndexEntry[] = [];
      for (let position = start; position < Math.min(order.length, start + LIST_CHUNK); position += 1) {
        const current = this.index.get((order[position] as IndexEntry).id);
        if (current !== undefined) chunk.push(current);
      }
      const texts = await this.recordTexts(chunk);
      for (const text of texts) if (text !== undefined) yield JSON.parse(text) as EnvelopeRecord;
    }
  }

  /** Id, next attempt and pending state of every queued message, from memory (the scheduler's start: call it once `loaded`). */
  *scheduleEntries(): Generator<ScheduleEntry> {
    for (const entry of this.index.values()) yield { id: entry.id, nextAttemptMs: entry.nextAttemptMs, pending: entry.pending };
  }

  /** Count and oldest arrival from memory (for gauges; partial until `loaded`). */
  summary(): QueueSummary {
    return this.index.summary();
  }

  /** The record, or undefined when there is none. */
  async read(id: string): Promise<EnvelopeRecord | undefined> {
    assertValidId(id);
    await this.known(id);
    const entry = this.index.get(id);
    return entry === undefined ? undefined : (JSON.parse(await this.recordText(entry)) as EnvelopeRecord);
  }

  /** The stored body (CRLF line ends); a missing body surfaces as the stream's 'error'. */
  openBody(id: string): Readable {
    assertValidId(id);
    if (!this.isKnown(id)) return Readable.from(this.bodyOnceLoaded(id), { objectMode: false });
    const entry = this.index.get(id);
    if (entry === undefined) {
      const missing = new Readable({ read() {} });
      process.nextTick(() => missing.destroy(new SpoolError(`no such message ${id}`)));
      return missing;
    }
    const { body } = entry;
    if (body.kind === 'file') return createReadStream(bodyPath(this.paths, body.file));
    if (body.length === 0) return Readable.from([]);
    const recent = this.recentBodies.get(id);
    if (recent !== undefined) return Readable.from([recent], { objectMode: false });
    const info = this.index.info(body.segment);
    info.readers += 1;
    const stream = createReadStream(this.segmentPath(body.segment), { start: body.offset, end: body.offset + body.length - 1 });
    stream.once('close', () => {
      info.readers -= 1;
      this.scheduleMaintenance();
    });
    return stream;
  }

  async readHeaders(id: string, maxBytes?: number): Promise<string> {
    assertValidId(id);
    await this.known(id);
    const entry = this.index.get(id);
    try {
      if (entry === undefined) throw new SpoolError(`no such message ${id}`);
      const { body } = entry;
      if (body.kind === 'file') return await readHeaderSection(bodyPath(this.paths, body.file), maxBytes);
      return await readHeaderSection(this.segmentPath(body.segment), maxBytes, { start: body.offset, length: body.length });
    } catch (error) {
      throw toSpoolError(error, `cannot read headers of message ${id}`);
    }
  }

  /** Durably replaces the record with `change(current)`; calls for one id run one after another. */
  async update(id: string, change: (record: EnvelopeRecord) => EnvelopeRecord): Promise<EnvelopeRecord> {
    assertValidId(id);
    return this.serialize(id, async () => {
      await this.known(id);
      const entry = this.index.get(id);
      if (entry === undefined) throw new SpoolError(`no such message ${id}`);
      const next = change(JSON.parse(await this.recordText(entry)) as EnvelopeRecord);
      const problem = recordProblem(next, id);
      if (problem !== undefined) throw new SpoolError(`update of message ${id} made an invalid record: ${problem}`);
      const json = JSON.stringify(next);
      try {
        const encoded = encodeLogRecord({ type: 'update', id, recordJson: json });
        const position = await this.log.append(encoded);
        const place = { recordSegment: position.segment, recordOffset: position.offset + encoded.recordStart, recordLength: encoded.recordLength };
        if (this.index.update(id, { ...scheduleFacts(next), ...place })) this.recent.set(id, json);
      } catch (error) {
        throw toSpoolError(error, `cannot update message ${id}`);
      }
      this.scheduleMaintenance();
      return next;
    });
  }

  /** Removes the message (durably unless told otherwise); a message already gone is not an error. */
  async remove(id: string, options: RemoveOptions = {}): Promise<void> {
    assertValidId(id);
    let detached = (): void => undefined;
    const gone = new Promise<void>((resolve) => (detached = resolve));
    const whole = this.serialize(id, async () => {
      await this.known(id);
      const entry = this.index.detach(id);
      this.recentBodies.delete(id);
      detached();
      if (entry === undefined) return;
      this.recent.delete(id);
      let segment: number;
      try {
        segment = (await this.log.append(encodeLogRecord({ type: 'remove', id }))).segment;
      } catch (error) {
        this.index.reattach(id, entry);
        throw toSpoolError(error, `cannot remove message ${id}`);
      }
      this.index.release(entry, segment);
      await this.removeOwnFiles(id, entry);
      this.scheduleMaintenance();
    });
    if (options.durable !== false) return whole;
    whole.catch((error: unknown) => this.logger.warn({ qid: id, err: error }, 'removal of a delivered message failed'));
    await Promise.race([gone, whole]);
  }

  /** Stops new messages and waits for pending updates, removals, compaction and syncs. */
  async close(): Promise<void> {
    this.closed = true;
    await this.stopLoading();
    await Promise.all(this.chains.values());
    while (this.maintenance !== undefined) await this.maintenance;
    await this.bodyFolderCommitter.idle();
    await this.log.close();
    this.reader.close();
  }

  get commitStats(): SegmentLogStats {
    return this.log.stats;
  }

  /** Segment numbers currently on disk (for tests and diagnostics). */
  get segments(): number[] {
    return this.index.segmentNumbers();
  }

  private newLog(nextSegment: number): SegmentLog {
    return new SegmentLog({
      folder: this.paths.logFolder,
      nextSegment,
      maxSegmentBytes: this.options.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES,
      ...(this.options.fileSync === undefined ? {} : { fileSync: this.options.fileSync }),
      folderSync: this.folderSync,
      onSealed: (segment, bytes) => {
        const info = this.index.info(segment);
        info.sealed = true;
        info.bytes = bytes;
        this.scheduleMaintenance();
      },
    });
  }

  /** What must precede accepting: folders, the old layout read, the segments and body files that exist now, the log opened after them. */
  private async prepare(): Promise<ReplayStart> {
    const { paths, options } = this;
    await mkdir(paths.root, { recursive: true });
    for (const folder of [paths.logFolder, paths.bodyFolder]) await mkdir(folder, { recursive: true });
    const legacy = await readLegacySpool(paths, this.logger, options.recover);
    indexLegacy(this.index, legacy.messages);
    const segments = await listSegments(paths.logFolder);
    // Body files of messages received from now on are not in this list: never taken for orphans.
    const bodyFiles = options.recover ? await readdir(paths.bodyFolder) : [];
    this.liveFrom = (segments[segments.length - 1] ?? 0) + 1;
    this.log = this.newLog(this.liveFrom);
    return { legacy, segments, bodyFiles };
  }

  /** Replays the segments found by `prepare`, then (serve) migrates the old layout and removes leftovers; false when closed first. */
  private async load(start: ReplayStart): Promise<boolean> {
    const { paths, options } = this;
    const replay = await replayLog({
      logFolder: paths.logFolder,
      segments: start.segments,
      index: this.index,
      liveFrom: this.liveFrom,
      logger: this.logger,
      repair: options.recover,
      reader: this.reader,
      shouldStop: () => this.replayStopped,
      ...(options.beforeReplaySegment === undefined ? {} : { beforeSegment: options.beforeReplaySegment }),
    });
    if (replay.stopped) return false;
    this.complete = true;
    if (!options.recover) return true;
    const { legacy } = start;
    const migrated = await this.migrateLegacy();
    if (legacy.stateIds.length > 0) {
      await removeLegacyState(paths, legacy.stateIds);
      await this.folderSync(paths.root);
    }
    const orphanBodiesRemoved = await this.removeOrphanBodies(start.bodyFiles);
    this.logger.info(
      {
        queued: this.index.size,
        segments: replay.segments,
        tornSegments: replay.tornSegments,
        invalidRecords: replay.invalidRecords,
        migrated,
        tempFilesRemoved: legacy.tempFilesRemoved,
        bodilessStatesRemoved: legacy.bodilessStatesRemoved,
        orphanBodiesRemoved,
      },
      'spool recovered',
    );
    this.scheduleMaintenance();
    return true;
  }

  /** Whether the index says all there is about `id` now: the replay is over, or the message was written by this process. */
  private isKnown(id: string): boolean {
    if (this.complete) return true;
    const entry = this.index.get(id);
    return entry !== undefined && entry.recordSegment >= this.liveFrom;
  }

  /** Waits for the replay unless `id` is known already. */
  private async known(id: string): Promise<void> {
    if (!this.isKnown(id)) await this.whenLoaded();
  }

  private async whenLoaded(): Promise<void> {
    if (this.complete) return;
    if (!(await this.loading)) throw new SpoolError('spool is closed');
  }

  private async *bodyOnceLoaded(id: string): AsyncGenerator<Buffer> {
    await this.whenLoaded();
    for await (const chunk of this.openBody(id)) yield chunk as Buffer;
  }

  /** Moves messages still described by old-layout state files into the log (their bodies stay files). */
  private async migrateLegacy(): Promise<number> {
    const legacyIds: string[] = [];
    for (const entry of this.index.values()) if (entry.recordSegment === LEGACY_SEGMENT) legacyIds.push(entry.id);
    await Promise.all(legacyIds.map((id) => this.serialize(id, () => this.copyForward(id, LEGACY_SEGMENT))));
    return legacyIds.length;
  }

  /** Removes files in body/ that no message uses (a crash while receiving or removing). */
  private async removeOrphanBodies(names: readonly string[]): Promise<number> {
    const used = new Set<string>();
    for (const entry of this.index.values()) if (entry.body.kind === 'file') used.add(entry.body.file);
    let removed = 0;
    for (const name of names) {
      if (used.has(name)) continue;
      if (await unlinkIfPresent(bodyPath(this.paths, name))) removed += 1;
    }
    return removed;
  }

  private async storeNew(record: EnvelopeRecord, body: StagedContent): Promise<void> {
    this.assertOpen();
    const { id } = record;
    const json = JSON.stringify(record);
    const facts = scheduleFacts(record);
    if (body.kind === 'file') {
      // The body file and its name must be durable before the record that points at it.
      await fsyncFd(body.fd);
      await this.bodyFolderCommitter.syncFolders([this.paths.bodyFolder]);
      const file = basename(body.path);
      const encoded = encodeLogRecord({ type: 'new', id, recordJson: json, bodyFile: file });
      const position = await this.log.append(encoded);
      this.index.put({ id, ...facts, body: { kind: 'file', file, length: body.size }, ...recordPlace(position, encoded) });
      this.recent.set(id, json);
      return;
    }
    const encoded = encodeLogRecord({ type: 'new', id, recordJson: json, body: body.chunks });
    const position = await this.log.append(encoded);
    const location = { kind: 'inline', segment: position.segment, offset: position.offset + encoded.bodyStart, length: body.size } as const;
    this.index.put({ id, ...facts, body: location, ...recordPlace(position, encoded) });
    this.recent.set(id, json);
    if (this.options.recover) this.recentBodies.put(id, body.chunks, body.size);
  }

  /** The record's JSON: kept in memory (old layout, recently written) or read from its segment. */
  private async recordText(entry: IndexEntry): Promise<string> {
    const [text] = await this.recordTexts([entry], true);
    return text as string;
  }

  /**
   * The records' JSON, in order; the segments read are held meanwhile (never
   * deleted under a read). A queue command (no recovery) skips a record whose
   * segment a running server deleted since (undefined); `strict` throws instead.
   */
  private async recordTexts(entries: readonly IndexEntry[], strict = false): Promise<Array<string | undefined>> {
    const texts: Array<string | undefined> = entries.map((entry) => entry.json ?? this.recent.get(entry.id));
    const wanted: number[] = [];
    for (const [position, text] of texts.entries()) if (text === undefined) wanted.push(position);
    if (wanted.length === 0) return texts;
    const ranges: ByteRange[] = wanted.map((position) => {
      const entry = entries[position] as IndexEntry;
      return { segment: entry.recordSegment, offset: entry.recordOffset, length: entry.recordLength };
    });
    const held = [...new Set(ranges.map((range) => range.segment))].map((segment) => this.index.info(segment));
    for (const info of held) info.readers += 1;
    try {
      const buffers = await this.reader.readMany(ranges).catch(async (error: unknown) => {
        if (strict || this.options.recover) throw error;
        return Promise.all(ranges.map((range) => this.reader.read(range).catch(() => undefined)));
      });
      buffers.forEach((buffer, index) => (texts[wanted[index] as number] = buffer?.toString('utf8')));
    } catch (error) {
      throw toSpoolError(error, `cannot read the record of message ${(entries[wanted[0] as number] as IndexEntry).id}`);
    } finally {
      for (const info of held) info.readers -= 1;
      if (held.some((info) => info.refs === 0 && info.readers === 0)) this.scheduleMaintenance();
    }
    return texts;
  }

  /** Files outside the log that belonged to a removed message: its own body file, an old-layout state file. */
  private async removeOwnFiles(id: string, entry: IndexEntry): Promise<void> {
    try {
      if (entry.recordSegment === LEGACY_SEGMENT) await unlinkIfPresent(legacyStateFile(this.paths, id));
      if (entry.body.kind === 'file') await unlinkIfPresent(bodyPath(this.paths, entry.body.file));
    } catch (error) {
      this.logger.warn({ qid: id, err: error }, 'cannot remove the files of a removed message');
    }
  }

  /** Deletes segments nothing needs any more and compacts old ones that are mostly done; serve only. */
  private scheduleMaintenance(): void {
    // Not before the replay is over: until then the segments' counts are incomplete.
    if (!this.options.recover || !this.complete) return;
    if (this.maintenance !== undefined) {
      this.maintenanceAgain = true;
      return;
    }
    this.maintenance = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.maintain())
      .catch((error: unknown) => this.logger.error({ err: error }, 'queue log maintenance failed'))
      .finally(() => {
        this.maintenance = undefined;
        if (this.maintenanceAgain && !this.closed) {
          this.maintenanceAgain = false;
          this.scheduleMaintenance();
        }
      });
  }

  private async maintain(): Promise<void> {
    for (let round = 0; round < 100; round += 1) {
      for (const segment of this.index.deletableSegments()) {
        this.reader.forget(segment);
        await unlink(this.segmentPath(segment));
        // One at a time and durable: a removal record must never outlive the records it cancels.
        await this.folderSync(this.paths.logFolder);
        this.index.forget(segment);
        this.logger.debug({ segment }, 'queue log segment deleted');
      }
      const candidate = this.compactionCandidate();
      if (candidate === undefined || this.closed) return;
      const ids = this.index.idsIn(candidate);
      await mapLimited(ids, COMPACTION_CONCURRENCY, (id) => this.serialize(id, () => this.copyForward(id, candidate)));
      this.logger.debug({ segment: candidate, moved: ids.length }, 'queue log segment compacted');
    }
  }

  private compactionCandidate(): number | undefined {
    const ratio = this.options.compactRatio ?? DEFAULT_COMPACT_RATIO;
    for (const segment of this.index.segmentNumbers()) {
      const info = this.index.info(segment);
      if (!info.sealed || info.refs === 0 || segment === this.log.activeSegment) continue;
      if (info.liveBytes <= ratio * info.bytes) return segment;
    }
    return undefined;
  }

  /** Appends the message's current record (and inline body) anew, so `from` no longer holds anything of it. */
  private async copyForward(id: string, from: number): Promise<void> {
    const entry = this.index.get(id);
    if (entry === undefined) return;
    const { body } = entry;
    const bodyHere = body.kind === 'inline' && body.segment === from;
    if (!bodyHere && entry.recordSegment !== from) return;
    const json = await this.recordText(entry);
    const facts = { id, arrivalMs: entry.arrivalMs, nextAttemptMs: entry.nextAttemptMs, pending: entry.pending };
    if (body.kind === 'file') {
      const encoded = encodeLogRecord({ type: 'new', id, recordJson: json, bodyFile: body.file });
      const position = await this.log.append(encoded);
      this.index.put({ ...facts, body, ...recordPlace(position, encoded) });
      return;
    }
    const bytes = await this.readRange(body.segment, body.offset, body.length);
    const encoded = encodeLogRecord({ type: 'new', id, recordJson: json, body: [bytes] });
    const position = await this.log.append(encoded);
    const location = { kind: 'inline', segment: position.segment, offset: position.offset + encoded.bodyStart, length: body.length } as const;
    this.index.put({ ...facts, body: location, ...recordPlace(position, encoded) });
  }

  private async readRange(segment: number, offset: number, length: number): Promise<Buffer> {
    const handle = await open(this.segmentPath(segment), 'r');
    try {
      const buffer = Buffer.alloc(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
        if (bytesRead === 0) throw new SpoolError(`queue log segment ${segment} ends inside a body`);
        filled += bytesRead;
      }
      return buffer;
    } finally {
      await handle.close();
    }
  }

  private segmentPath(segment: number): string {
    return join(this.paths.logFolder, segmentFileName(segment));
  }

  private assertOpen(): void {
    if (this.closed) throw new SpoolError('spool is closed');
  }

  private serialize<T>(id: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(id) ?? Promise.resolve();
    const result = previous.then(operation);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(id, tail);
    void tail.then(() => {
      if (this.chains.get(id) === tail) this.chains.delete(id);
    });
    return result;
  }
}

/** What `prepare` found, for the replay. */
interface ReplayStart {
  readonly legacy: LegacyScan;
  readonly segments: readonly number[];
  readonly bodyFiles: readonly string[];
}

function recordPlace(position: LogPosition, encoded: EncodedRecord): { recordSegment: number; recordOffset: number; recordLength: number } {
  return { recordSegment: position.segment, recordOffset: position.offset + encoded.recordStart, recordLength: encoded.recordLength };
}

function byArrival(a: IndexEntry, b: IndexEntry): number {
  return a.arrivalMs - b.arrivalMs || compare(a.id, b.id);
}

function isInArrivalOrder(entries: readonly IndexEntry[]): boolean {
  for (let index = 1; index < entries.length; index += 1) if (byArrival(entries[index - 1] as IndexEntry, entries[index] as IndexEntry) > 0) return false;
  return true;
}

function assertValidId(id: string): void {
  if (!validateId(id)) throw new SpoolError(`invalid queue id ${JSON.stringify(id)}`);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
