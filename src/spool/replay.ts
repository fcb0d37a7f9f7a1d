// Startup: rebuilds the in-memory index from the old layout's state files
// (if any) and then every queue log segment in order. Every record is decoded
// and validated, but the index keeps only where it lies and what the scheduler
// needs (records are read back on demand). A segment's torn tail (a crash
// during a batch that was never acknowledged) is logged and dropped.

import { close, fstat, open, read } from 'node:fs';
import { readdir, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { scanSegment, type DecodedRecord } from './log-format.js';
import type { LegacyMessage } from './legacy.js';
import { decodeRecord } from './record.js';
import { segmentNumberOf, segmentFileName } from './segment-log.js';
import type { SegmentReader } from './segment-reader.js';
import { LEGACY_SEGMENT, QueueIndex } from './store-index.js';
import type { EnvelopeRecord } from './types.js';

export interface ReplayResult {
  readonly index: QueueIndex;
  /** The highest segment number found (0 when none). */
  readonly lastSegment: number;
  readonly segments: number;
  readonly tornSegments: number;
  readonly invalidRecords: number;
}

export interface ReplayOptions {
  readonly logFolder: string;
  readonly legacy: readonly LegacyMessage[];
  readonly logger: Logger;
  /** Cut torn tails off (serve); false only reads (queue commands). */
  readonly repair: boolean;
  /** Keeps the descriptors of the segments read (up to its limit), for reading records back later. */
  readonly reader: SegmentReader;
}

export async function replayLog(options: ReplayOptions): Promise<ReplayResult> {
  const index = new QueueIndex();
  for (const message of options.legacy) {
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
  const segments = (await readdir(options.logFolder))
    .map(segmentNumberOf)
    .filter((segment): segment is number => segment !== undefined)
    .sort((a, b) => a - b);
  let tornSegments = 0;
  let invalidRecords = 0;
  for (const segment of segments) {
    const path = join(options.logFolder, segmentFileName(segment));
    const opened = await readWholeFile(path);
    if (opened === undefined) continue; // removed meanwhile by a running server
    const { data, fd } = opened;
    if (!options.reader.adopt(segment, fd)) close(fd, () => undefined);
    const scan = scanSegment(data);
    const info = index.info(segment);
    info.sealed = true;
    info.bytes = scan.validBytes;
    for (const record of scan.records) {
      if (!applyRecord(index, segment, record, options.logger)) invalidRecords += 1;
    }
    if (scan.problem !== undefined) {
      tornSegments += 1;
      const fields = { segment, validBytes: scan.validBytes, droppedBytes: data.length - scan.validBytes, problem: scan.problem };
      if (options.repair) {
        options.logger.warn(fields, 'torn queue log tail dropped');
        await truncate(path, scan.validBytes);
      } else {
        options.logger.debug(fields, 'queue log tail incomplete (being written?)');
      }
    }
  }
  return { index, lastSegment: segments[segments.length - 1] ?? 0, segments: segments.length, tornSegments, invalidRecords };
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
function applyRecord(index: QueueIndex, segment: number, record: DecodedRecord, logger: Logger): boolean {
  const { id } = record;
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
