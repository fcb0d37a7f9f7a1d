// Durations and sizes of the configuration (INTERFACE.md "Configuration"):
// seconds or "250ms"/"30s"/"5m"/"2h"/"5d"; bytes or "512KB"/"10MB"/"1GB".

import { describeValue, failure, success, type Outcome } from './values.js';

const MS_PER_UNIT: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Size units are 1024-based, as in Postfix and most MTAs: 1KB = 1K = 1KiB = 1024 bytes,
 * 1MB = 1048576 bytes. A bare number (or "B") is bytes; a lowercase "b" (10Mb, 512b) is refused.
 */
const BYTES_PER_UNIT: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

const DURATION_HINT = 'use seconds or 30s, 5m, 2h, 5d';
const SIZE_HINT = 'use bytes or 512KB, 10MB, 1GB';

/** A non-negative duration in whole milliseconds (numbers are seconds). */
export function parseDurationMs(raw: unknown): Outcome<number> {
  const notDuration = failure<number>(`${describeValue(raw)} is not a duration (${DURATION_HINT})`);
  if (typeof raw === 'number') {
    return Number.isFinite(raw) && raw >= 0 ? success(Math.round(raw * 1000)) : notDuration;
  }
  if (typeof raw !== 'string') return notDuration;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(raw.trim());
  if (match === null) return notDuration;
  const unitMs = MS_PER_UNIT[(match[2] ?? 's').toLowerCase()] ?? 1000;
  const ms = Math.round(Number(match[1]) * unitMs);
  return Number.isSafeInteger(ms) ? success(ms) : notDuration;
}

/** A non-negative size in whole bytes. */
export function parseSizeBytes(raw: unknown): Outcome<number> {
  const notSize = failure<number>(`${describeValue(raw)} is not a size (${SIZE_HINT})`);
  if (typeof raw === 'number') return Number.isSafeInteger(raw) && raw >= 0 ? success(raw) : notSize;
  if (typeof raw !== 'string') return notSize;
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw.trim());
  const unit = match?.[2] ?? '';
  // A lowercase b reads as bits (10Mb = megabits): refused rather than guessed.
  if (match !== null && unit.endsWith('b')) {
    const prefix = unit.slice(0, -1);
    const bytesUnit = `${prefix.charAt(0).toUpperCase()}${prefix.slice(1).toLowerCase()}B`;
    return failure(`${describeValue(raw)} is ambiguous: "b" means bits; write ${match[1]}${bytesUnit} for bytes`);
  }
  const bytesPerUnit = match === null ? undefined : BYTES_PER_UNIT[unit.toLowerCase()];
  if (match === null || bytesPerUnit === undefined) return notSize;
  const bytes = Math.round(Number(match[1]) * bytesPerUnit);
  return Number.isSafeInteger(bytes) ? success(bytes) : notSize;
}
