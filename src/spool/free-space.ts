// Free space on the spool's file system, for the disk reserve (`limits.minFreeSpace`):
// the statfs reading (bytes available to an unprivileged writer) and a short cache so
// a busy server does not call statfs for every MAIL and DATA.

import { statfs } from 'node:fs/promises';
import type { Clock } from '../core/clock.js';

/** Bytes free for new files, read when asked; rejects when the file system cannot be read. */
export type FreeSpaceReader = () => Promise<number>;

/** How long one reading is reused. */
export const FREE_SPACE_CACHE_MS = 1_000;

/** `statfs(dir)`: blocks available to non-root writers times the block size. */
export async function statfsFreeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}

/**
 * Reuses a reading for `maxAgeMs` of the injected clock (a clock stepped backwards
 * reads again); callers asking while a reading is under way share it. A failed
 * reading is not kept.
 */
export function cachedFreeSpace(read: FreeSpaceReader, clock: Clock, maxAgeMs = FREE_SPACE_CACHE_MS): FreeSpaceReader {
  let last: { readonly atMs: number; readonly bytes: number } | undefined;
  let pending: Promise<number> | undefined;
  return async () => {
    const nowMs = clock.now();
    if (last !== undefined && nowMs >= last.atMs && nowMs - last.atMs < maxAgeMs) return last.bytes;
    if (pending === undefined) {
      pending = read()
        .then((bytes) => {
          last = { atMs: nowMs, bytes };
          return bytes;
        })
        .finally(() => {
          pending = undefined;
        });
    }
    return pending;
  };
}

/** For /healthz: at least `minFreeBytes` free, with both figures to show in the body. */
export async function diskReserveCheck(read: FreeSpaceReader, minFreeBytes: number): Promise<{ readonly ok: boolean; readonly detail: { readonly freeBytes: number; readonly minFreeBytes: number } }> {
  const freeBytes = await read();
  return { ok: freeBytes >= minFreeBytes, detail: { freeBytes, minFreeBytes } };
}
