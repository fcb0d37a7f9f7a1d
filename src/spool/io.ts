// Small durable-file primitives shared by commit, update and remove (callback
// fs under one promise each: cheaper than FileHandle on the hot path), and the
// mapping of I/O failures to SpoolError.

import { close, fsync, open, unlink, write, type WriteStream } from 'node:fs';
import { SpoolError, errnoCode, errorMessage } from '../core/errors.js';

/** Spool files hold mail: readable by the owner only. */
export const SPOOL_FILE_MODE = 0o600;

/** Opens a new file for writing; fails with EEXIST when it already exists. */
export function openNewFile(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    open(path, 'wx', SPOOL_FILE_MODE, (error, fd) => (error === null ? resolve(fd) : reject(error)));
  });
}

export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fsync(fd, (error) => (error === null ? resolve() : reject(error)));
  });
}

/** Destroys a file stream, which closes its fd once in-flight writes are done, and waits for the close. */
export function closeFileStream(stream: WriteStream): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('close', () => resolve());
    stream.destroy();
  });
}

/** Creates `path` (it must not exist), writes `text` and fsyncs it before closing. */
export function writeNewFileSynced(path: string, text: string): Promise<void> {
  const data = Buffer.from(text, 'utf8');
  return new Promise((resolve, reject) => {
    open(path, 'wx', SPOOL_FILE_MODE, (openError, fd) => {
      if (openError !== null) return reject(openError);
      const finish = (failure: Error | null): void => {
        close(fd, (closeError) => {
          const error = failure ?? closeError;
          if (error === null) resolve();
          else reject(error);
        });
      };
      const writeFrom = (offset: number): void => {
        write(fd, data, offset, data.length - offset, null, (writeError, bytesWritten) => {
          if (writeError !== null) return finish(writeError);
          if (offset + bytesWritten < data.length) return writeFrom(offset + bytesWritten);
          fsync(fd, finish);
        });
      };
      writeFrom(0);
    });
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
