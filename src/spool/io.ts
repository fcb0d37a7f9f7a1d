// Small file primitives of the spool (callback fs under one promise each:
// cheaper than FileHandle on the hot path), and the mapping of I/O failures
// to SpoolError.

import { fsync, unlink } from 'node:fs';
import { SpoolError, errnoCode, errorMessage } from '../core/errors.js';

/** Spool files hold mail: readable by the owner only. */
export const SPOOL_FILE_MODE = 0o600;

export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fsync(fd, (error) => (error === null ? resolve() : reject(error)));
  });
}

/** Unlinks `path`; true when it existed. Other errors propagate. */
export function unlinkIfPresent(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    unlink(path, (error) => {
      if (error === null) resolve(true);
      else if (errnoCode(error) === 'ENOENT') resolve(false);
      else reject(error);
    });
  });
}

const NO_SPACE_CODES: ReadonlySet<string | undefined> = new Set(['ENOSPC', 'EDQUOT']);

/** Wraps an I/O failure as a SpoolError (kept as is when it already is one), flagging a full disk. */
export function toSpoolError(error: unknown, what: string): SpoolError {
  if (error instanceof SpoolError) return error;
  return new SpoolError(`${what}: ${errorMessage(error)}`, {
    cause: error,
    noSpace: NO_SPACE_CODES.has(errnoCode(error)),
  });
}
