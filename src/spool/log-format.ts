// The queue log's record format: every record is a 20-byte header (magic,
// type, field lengths, CRC-32 of everything after the magic but the CRC
// itself) followed by the queue id, an optional external body file name, the
// envelope record (JSON) and an inline body. A scan stops at the first record
// that is incomplete or fails its checksum: a torn write after a crash.

import { crc32 } from './crc32.js';

export const LOG_MAGIC = 0x4f505131; // "OPQ1"
export const HEADER_BYTES = 20;
const MAX_ID_BYTES = 255;
const MAX_FILE_BYTES = 0xffff;

export type LogRecordType = 'new' | 'update' | 'remove';

const TYPE_CODES: Readonly<Record<LogRecordType, number>> = { new: 1, update: 2, remove: 3 };
const TYPES_BY_CODE: ReadonlyMap<number, LogRecordType> = new Map([
  [1, 'new'],
  [2, 'update'],
  [3, 'remove'],
]);

/** What one record says. `new`: a message (or a copy moved forward); `update`: its record replaced; `remove`: it is gone. */
export interface LogRecordInput {
  readonly type: LogRecordType;
  readonly id: string;
  /** The envelope record's JSON (new and update). */
  readonly recordJson?: string;
  /** The body's file name in body/ when it is not inline (new only). */
  readonly bodyFile?: string;
  /** The inline body (new only). */
  readonly body?: readonly Buffer[];
}

export interface EncodedRecord {
  readonly buffers: Buffer[];
  readonly length: number;
  /** Where the envelope record's JSON starts, counted from the record's first byte, and its length in bytes. */
  readonly recordStart: number;
  readonly recordLength: number;
  /** Where the inline body starts, counted from the record's first byte. */
  readonly bodyStart: number;
  readonly bodyLength: number;
}

export function encodeLogRecord(input: LogRecordInput): EncodedRecord {
  const id = Buffer.from(input.id, 'latin1');
  const file = Buffer.from(input.bodyFile ?? '', 'latin1');
  const record = Buffer.from(input.recordJson ?? '', 'utf8');
  const body = input.body ?? [];
  const bodyLength = body.reduce((sum, chunk) => sum + chunk.length, 0);
  if (id.length === 0 || id.length > MAX_ID_BYTES || file.length > MAX_FILE_BYTES) throw new RangeError('queue log record field too long');
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32BE(LOG_MAGIC, 0);
  header.writeUInt8(TYPE_CODES[input.type], 4);
  header.writeUInt8(id.length, 5);
  header.writeUInt16LE(file.length, 6);
  header.writeUInt32LE(record.length, 8);
  header.writeUInt32LE(bodyLength, 12);
  let crc = crc32(header.subarray(4, 16));
  for (const part of [id, file, record, ...body]) crc = crc32(part, crc);
  header.writeUInt32LE(crc, 16);
  const bodyStart = HEADER_BYTES + id.length + file.length + record.length;
  const buffers = [header, id, file, record, ...body].filter((part) => part.length > 0);
  return { buffers, length: bodyStart + bodyLength, recordStart: HEADER_BYTES + id.length + file.length, recordLength: record.length, bodyStart, bodyLength };
}

export interface DecodedRecord {
  readonly type: LogRecordType;
  readonly id: string;
  readonly bodyFile: string | undefined;
  readonly recordJson: string;
  /** The envelope record's JSON: its first byte in the segment and its length in bytes. */
  readonly recordOffset: number;
  readonly recordLength: number;
  /** The record's position in the segment and its length. */
  readonly offset: number;
  readonly length: number;
  /** The inline body's position in the segment. */
  readonly bodyOffset: number;
  readonly bodyLength: number;
}

export interface SegmentScan {
  readonly records: DecodedRecord[];
  /** Bytes covered by valid records; anything after is a torn or corrupt tail. */
  readonly validBytes: number;
  /** Why the scan stopped before the end, if it did. */
  readonly problem: string | undefined;
}

/** Decodes a segment's records up to the first incomplete or corrupt one. */
export function scanSegment(data: Buffer): SegmentScan {
  const records: DecodedRecord[] = [];
  let offset = 0;
  while (offset < data.length) {
    const decoded = decodeRecordAt(data, offset);
    if (typeof decoded === 'string') return { records, validBytes: offset, problem: decoded };
    records.push(decoded);
    offset += decoded.length;
  }
  return { records, validBytes: offset, problem: undefined };
}

/** The record starting at `offset`, or why there is none (incomplete or corrupt: the segment's valid part ends there). */
export function decodeRecordAt(data: Buffer, offset: number): DecodedRecord | string {
  if (data.length - offset < HEADER_BYTES) return `incomplete header at ${offset}`;
  if (data.readUInt32BE(offset) !== LOG_MAGIC) return `no record at ${offset}`;
  const type = TYPES_BY_CODE.get(data.readUInt8(offset + 4));
  if (type === undefined) return `unknown record type at ${offset}`;
  const idLength = data.readUInt8(offset + 5);
  const fileLength = data.readUInt16LE(offset + 6);
  const recordLength = data.readUInt32LE(offset + 8);
  const bodyLength = data.readUInt32LE(offset + 12);
  const length = HEADER_BYTES + idLength + fileLength + recordLength + bodyLength;
  if (idLength === 0 || data.length - offset < length) return `incomplete record at ${offset}`;
  const expected = data.readUInt32LE(offset + 16);
  const crc = crc32(data.subarray(offset + HEADER_BYTES, offset + length), crc32(data.subarray(offset + 4, offset + 16)));
  if (crc !== expected) return `checksum mismatch at ${offset}`;
  const idStart = offset + HEADER_BYTES;
  const fileStart = idStart + idLength;
  const recordStart = fileStart + fileLength;
  const bodyOffset = recordStart + recordLength;
  return {
    type,
    id: data.toString('latin1', idStart, fileStart),
    bodyFile: fileLength === 0 ? undefined : data.toString('latin1', fileStart, recordStart),
    recordJson: data.toString('utf8', recordStart, bodyOffset),
    recordOffset: recordStart,
    recordLength,
    offset,
    length,
    bodyOffset,
    bodyLength,
  };
}
