// CRC-32 (IEEE 802.3, as zlib and gzip compute it) for the queue log's
// record checksums: node:zlib's native crc32 where Node has it (≥ 20.15),
// else the same function from a 256-entry table.

import * as zlib from 'node:zlib';

export type Crc32 = (data: Uint8Array, initial?: number) => number;

let table: Uint32Array | undefined;

function crcTable(): Uint32Array {
  if (table !== undefined) return table;
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** The table implementation (exported so a test can check it against zlib's). */
export function tableCrc32(data: Uint8Array, initial = 0): number {
  const entries = crcTable();
  let crc = (initial ^ 0xffffffff) >>> 0;
  for (let index = 0; index < data.length; index += 1) {
    crc = (entries[(crc ^ (data[index] as number)) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

export const crc32: Crc32 = typeof native === 'function' ? (data, initial = 0) => native(data, initial) : tableCrc32;
