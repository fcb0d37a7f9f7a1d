// Reading the files a configuration names, with failures turned into short
// human reasons ("no such file", "permission denied") instead of stack traces.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { errnoCode, errorMessage } from '../core/errors.js';
import { failure, success, type Outcome } from './values.js';

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  ELOOP: 'too many symbolic links',
  EROFS: 'read-only file system',
};

/** Longest value file read (`OUTPOST_..._FILE`): a secret or a key's value, never a document. */
export const MAX_VALUE_FILE_BYTES = 64 * 1024;

export function readFailureReason(error: unknown): string {
  const code = errnoCode(error);
  return (code === undefined ? undefined : REASONS[code]) ?? errorMessage(error);
}

/** The text of a file, or why it cannot be read. */
export async function readTextFile(path: string): Promise<Outcome<string>> {
  try {
    return success(await readFile(path, 'utf8'));
  } catch (error: unknown) {
    return failure(readFailureReason(error));
  }
}

/** Undefined when `path` is a regular file this process can open for reading; else why not. */
export async function unreadableReason(path: string): Promise<string | undefined> {
  try {
    const handle = await open(path, 'r');
    try {
      return (await handle.stat()).isFile() ? undefined : 'it is not a regular file';
    } finally {
      await handle.close();
    }
  } catch (error: unknown) {
    return readFailureReason(error);
  }
}

/** unreadableReason for validation steps that cannot wait (a leaf type judging a key that names a file). */
export function unreadableReasonSync(path: string): string | undefined {
  let descriptor: number | undefined;
  try {
    descriptor = openSync(path, 'r');
    return fstatSync(descriptor).isFile() ? undefined : 'it is not a regular file';
  } catch (error: unknown) {
    return readFailureReason(error);
  } finally {
    if (descriptor !== undefined) closeSync(descriptor);
  }
}

/**
 * The text of a small file holding one value (a Docker secret), trailing line ends removed;
 * read synchronously as configuration is. Missing, unreadable, empty or oversized files are
 * failures naming the file, never quoting its content.
 */
export function readValueFileSync(path: string): Outcome<string> {
  let descriptor: number | undefined;
  let length = 0;
  const buffer = Buffer.alloc(MAX_VALUE_FILE_BYTES + 1);
  try {
    descriptor = openSync(path, 'r');
    if (!fstatSync(descriptor).isFile()) return failure(`cannot read ${path}: it is not a regular file`);
    for (;;) {
      const read = readSync(descriptor, buffer, length, buffer.length - length, null);
      length += read;
      if (read === 0 || length === buffer.length) break;
    }
  } catch (error: unknown) {
    return failure(`cannot read ${path}: ${readFailureReason(error)}`);
  } finally {
    if (descriptor !== undefined) closeSync(descriptor);
  }
  if (length > MAX_VALUE_FILE_BYTES) return failure(`${path} is larger than ${MAX_VALUE_FILE_BYTES} bytes`);
  const text = buffer.subarray(0, length).toString('utf8').replace(/[\r\n]+$/, '');
  return text === '' ? failure(`${path} is empty`) : success(text);
}
