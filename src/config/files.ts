// Reading the files a configuration names, with failures turned into short
// human reasons ("no such file", "permission denied") instead of stack traces.

import { closeSync, fstatSync, openSync } from 'node:fs';
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
};

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
