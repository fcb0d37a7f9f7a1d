// Startup: rebuilds the in-memory index from the queue log segments that
// existed when the spool was opened, in order. Every record is decoded and
// validated, but the index keeps only where it lies and what the scheduler
// needs (records are read back on demand). A segment's torn tail (a crash
// during a batch that was never acknowledged) is logged and dropped. The
// replay yields to the event loop every few hundred records, so a server
// accepts mail into newer segments meanwhile, and stops when told to.

import { close, fstat, open, read } from 'node:fs';
import { readdir, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import { decodeRecordAt, type DecodedRecord } from './log-format.js';
import type { LegacyMessage } from './legacy.js';
import { decodeRecord } from './record.js';
import { segmentNumberOf, segmentFileName } from './segment-log.js';
import type { SegmentReader } from './segment-reader.js';
import { LEGACY_SEGMENT, type QueueIndex } from './store-index.js';
import type { EnvelopeRecord } from './types.js';

/** Records applied between two turns of the event loop. */
const RECORDS_PER_TURN = 500;

export interface ReplayResult {
  readonly segments: number;
  readonly tornSegments: number;
  readonly invalidRecords: number;
  /** `shouldStop` said so before the end: the index is incomplete. */
  readonly stopped: boolean;
}

export interface ReplayOptions {
  readonly logFolder: string;
  /** The segments to read, ascending (listSegments at open). */
  readonly segments: readonly number[];
  /** Filled in place; may already hold messages written since the open (in segments from `liveFrom` on). */
  readonly index: QueueIndex;
  /** The first segment this process writes: a replayed record never touches a message from there (a queue id collision, logged). */
  readonly liveFrom: number;
  readonly logger: Logger;
  /** Cut torn tails off (serve); false only reads (queue commands). */
  readonly repair: boolean;
  /** Keeps the descriptors of the segments read (up to its limit), for reading records back later. */
  readonly reader: SegmentReader;
  /** Asked between turns: true ends the replay early (the spool is closing). */
  readonly shouldStop?: () => boolean;
  /** Awaited before each segment is read (tests hold the replay at a point with it). */
  readonly beforeSegment?: (segment: number) => Promise<void>;
}

/** The queue log's segment numbers, ascending. */
export async function listSegments(logFolder: string): Promise<number[]> {
  return (await readdir(logFolder))
    .map(segmentNumberOf)
    .filter((segment): segment is number => segment !== undefined)
    .sort((a, b) => a - b);
}

/** Puts the old layout's messages into the index (their records stay in memory until migrated). */
export function indexLegacy(index: QueueIndex, legacy: readonly LegacyMessage[]): void {
  for (const message of legacy) {
    index.put({
      id: message.id,
      ...scheduleFacts(message.record),
      body: { kind: 'file', file: message.id, length: message.bodySize },
      recordSegment: LEGACY_SEGMENT,
      recordOffset: 0,
      recordLength: 0,
      json: message.json,
    });
  }
}

export async function replayLog(options: ReplayOptions): Promise<ReplayResult> {
  const { index, logger } = options;
  const shouldStop = options.shouldStop ?? ((): boolean => false);
  let tornSegments = 0;
  let invalidRecords = 0;
  let sinceTurn = 0;
  const stopped = (): ReplayResult => ({ segments: options.segments.length, tornSegments, invalidRecords, stopped: true });
  for (const segment of options.segments) {
    await options.beforeSegment?.(segment);
    if (shouldStop()) return stopped();
    const path = join(options.logFolder, segmentFileName(segment));
    const opened = await readWholeFile(path);
    if (opened === undefined) continue; // removed meanwhile by a running server
    const { data, fd } = opened;
    if (!options.reader.adopt(segment, fd)) close(fd, () => undefined);
    const info = index.info(segment);
    info.sealed = true;
    let offset = 0;
    let problem: string | undefined;
    while (offset < data.length) {
      const record = decodeRecordAt(data, offset);
      if (typeof record === 'string') {
        problem = record;
        break;
      }
      if (!applyRecord(index, segment, record, options.liveFrom, logger)) invalidRecords += 1;
      offset += record.length;
      sinceTurn += 1;
      if (sinceTurn >= RECORDS_PER_TURN) {
        sinceTurn = 0;
        await nextTurn();
        if (shouldStop()) return stopped();
      }
    }
    info.bytes = offset;
    if (problem !== undefined) {
      tornSegments += 1;
      const fields = { segment, validBytes: offset, droppedBytes: data.length - offset, problem };
      if (options.repair) {
        logger.warn(fields, 'torn queue log tail dropped');
        await truncate(path, offset);
      } else {
        logger.debug(fields, 'queue log tail incomplete (being written?)');
      }
    }
  }
  return { segments: options.segments.length, tornSegments, invalidRecords, stopped: false };
}

/** What the index keeps of a record besides its place. */
export function scheduleFacts(record: EnvelopeRecord): { readonly arrivalMs: number; readonly nextAttemptMs: number; readonly pending: boolean } {
  return {
    arrivalMs: Date.parse(record.arrival),
    nextAttemptMs: Date.parse(record.nextAttempt),
    pending: record.recipients.some((recipient) => recipient.state === 'pending'),
  };
}

/** Applies one record; false when it is invalid (logged and skipped). */
function applyRecord(index: QueueIndex, segment: number, record: DecodedRecord, liveFrom: number, logger: Logger): boolean {
  const { id } = record;
  const current = index.get(id);
  if (current !== undefined && current.recordSegment >= liveFrom) {
    logger.error({ qid: id, segment, offset: record.offset }, 'queue log record skipped: its id is taken by a message received since the start');
    return false;
  }
  if (record.type === 'remove') {
    const entry = index.detach(id);
    if (entry !== undefined) index.release(entry, segment);
    return true;
  }
  // An update of a message whose earlier records are gone (compacted away) is superseded by a later copy.
  if (record.type === 'update' && !index.has(id)) return true;
  const decoded = decodeRecord(record.recordJson, id);
  if (!decoded.ok) {
    logger.error({ qid: id, segment, offset: record.offset, problem: decoded.problem }, 'invalid queue log record skipped');
    return false;
  }
  const place = { recordSegment: segment, recordOffset: record.recordOffset, recordLength: record.recordLength };
  if (record.type === 'update') {
    index.update(id, { ...scheduleFacts(decoded.record), ...place });
    return true;
  }
  index.put({
    id,
    ...scheduleFacts(decoded.record),
    body:
      record.bodyFile === undefined
        ? { kind: 'inline', segment, offset: record.bodyOffset, length: record.bodyLength }
        : { kind: 'file', file: record.bodyFile, length: decoded.record.size },
    ...place,
  });
  return true;
}

/** The file's bytes and its still open descriptor; undefined when it is gone. */
async function readWholeFile(path: string): Promise<{ readonly data: Buffer; readonly fd: number } | undefined> {
  const fd = await new Promise<number | undefined>((resolve) => open(path, 'r', (error, opened) => resolve(error === null ? opened : undefined)));
  if (fd === undefined) return undefined;
  try {
    const size = await new Promise<number>((resolve, reject) => fstat(fd, (error, stats) => (error === null ? resolve(stats.size) : reject(error))));
    const data = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const count = await new Promise<number>((resolve, reject) => read(fd, data, filled, size - filled, filled, (error, bytes) => (error === null ? resolve(bytes) : reject(error))));
      if (count === 0) break;
      filled += count;
    }
    return { data: filled === size ? data : data.subarray(0, filled), fd };
  } catch (error) {
    close(fd, () => undefined);
    throw error;
  }
}
