// Startup: rebuilds the in-memory index from the old layout's state files
// (if any) and then every queue log segment in order. A segment's torn tail
// (a crash during a batch that was never acknowledged) is logged and dropped.

import { readdir, readFile, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { scanSegment, type DecodedRecord } from './log-format.js';
import type { LegacyMessage } from './legacy.js';
import { decodeRecord } from './record.js';
import { segmentNumberOf, segmentFileName } from './segment-log.js';
import { LEGACY_SEGMENT, QueueIndex } from './store-index.js';

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
}

export async function replayLog(options: ReplayOptions): Promise<ReplayResult> {
  const index = new QueueIndex();
  for (const message of options.legacy) {
    index.put(message.id, {
      json: message.json,
      arrivalMs: Date.parse(message.record.arrival),
      body: { kind: 'file', file: message.id, length: message.bodySize },
      recordSegment: LEGACY_SEGMENT,
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
    const data = await readFile(path).catch(() => undefined);
    if (data === undefined) continue; // removed meanwhile by a running server
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
  const arrivalMs = Date.parse(decoded.record.arrival);
  if (record.type === 'update') {
    index.update(id, record.recordJson, arrivalMs, segment);
    return true;
  }
  index.put(id, {
    json: record.recordJson,
    arrivalMs,
    body:
      record.bodyFile === undefined
        ? { kind: 'inline', segment, offset: record.bodyOffset, length: record.bodyLength }
        : { kind: 'file', file: record.bodyFile, length: decoded.record.size },
    recordSegment: segment,
  });
  return true;
}
