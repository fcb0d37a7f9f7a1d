// Durable file writes (as chasquid's safeio): a temp file beside the target,
// written and fsync'd, then put in place by the caller (rename or link), and
// the folder fsync'd so the new name survives a crash.

import { randomBytes } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes `text` to a new temp file in `folder` (named after `baseName`), mode `mode`, fsync'd;
 * returns its path. On failure nothing is left behind.
 */
export async function writeSyncedTemp(folder: string, baseName: string, text: string, mode: number): Promise<string> {
  const temporary = join(folder, `.${baseName}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', mode);
  try {
    try {
      await handle.writeFile(text, 'utf8');
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error: unknown) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  return temporary;
}

/** fsync of a folder: makes the names created or removed in it durable. */
export async function syncFolder(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
