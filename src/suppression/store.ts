// The suppression list on disk: `suppression.json` in the spool folder,
// replaced whole (temp file, fsync, rename, fsync of the folder: core/safe-file.ts),
// and a lock file that makes each read-change-write by the CLI or a starting server exclusive.

import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { errnoCode, OutpostError } from '../core/errors.js';
import { syncFolder, writeSyncedTemp } from '../core/safe-file.js';
import type { SuppressionEntry, SuppressionSource } from './list.js';

export const SUPPRESSION_FILE = 'suppression.json';
const LOCK_FILE = 'suppression.lock';
/** How long to wait for another process's lock (a read-change-write takes milliseconds). */
const LOCK_WAIT_MS = 10_000;
const LOCK_RETRY_MS = 20;
/** A lock file without a pid (its writer died between create and write) is stale after this. */
const STALE_EMPTY_LOCK_MS = 5_000;

interface StoredEntry {
  readonly address: string;
  readonly failures: readonly string[];
  readonly suppressedAt: string | null;
  readonly expires: string | null;
  readonly source: SuppressionSource;
  readonly reply: string;
}

export function suppressionFile(spoolDir: string): string {
  return join(spoolDir, SUPPRESSION_FILE);
}

/** The entries in the file; none when it does not exist. A damaged file is an error naming it. */
export async function readSuppressionFile(spoolDir: string): Promise<SuppressionEntry[]> {
  const path = suppressionFile(spoolDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error: unknown) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error: unknown) {
    throw new OutpostError('ESUPPRESSION', `${path}: not valid JSON`, { cause: error });
  }
  const entries = (value as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(entries)) throw new OutpostError('ESUPPRESSION', `${path}: no "entries" list`);
  return entries.flatMap((raw: unknown) => {
    const entry = entryOf(raw);
    return entry === undefined ? [] : [entry];
  });
}

export async function writeSuppressionFile(spoolDir: string, entries: readonly SuppressionEntry[]): Promise<void> {
  const stored: StoredEntry[] = entries.map((entry) => ({
    address: entry.address,
    failures: entry.failuresMs.map((atMs) => new Date(atMs).toISOString()),
    suppressedAt: entry.suppressedAtMs === undefined ? null : new Date(entry.suppressedAtMs).toISOString(),
    expires: entry.expiresAtMs === undefined ? null : new Date(entry.expiresAtMs).toISOString(),
    source: entry.source,
    reply: entry.reply,
  }));
  const temporary = await writeSyncedTemp(spoolDir, SUPPRESSION_FILE, `${JSON.stringify({ version: 1, entries: stored }, null, 1)}\n`, 0o600);
  try {
    await rename(temporary, suppressionFile(spoolDir));
  } catch (error: unknown) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await syncFolder(spoolDir);
}

/**
 * Runs `work` holding the lock file (O_EXCL; it holds the holder's pid). A lock left
 * by a process that is gone is taken over; a live holder is waited for, at most LOCK_WAIT_MS.
 */
export async function withSuppressionLock<T>(spoolDir: string, work: () => Promise<T>): Promise<T> {
  const path = join(spoolDir, LOCK_FILE);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      break;
    } catch (error: unknown) {
      if (errnoCode(error) !== 'EEXIST') throw error;
      if (await staleLock(path)) {
        await unlink(path).catch(() => undefined);
        continue;
      }
      if (Date.now() > deadline) throw new OutpostError('ESUPPRESSIONLOCK', `${path} is held by another process; remove it if no outpost command is running`);
      await delay(LOCK_RETRY_MS);
    }
  }
  try {
    return await work();
  } finally {
    await unlink(path).catch(() => undefined);
  }
}

/** The holder's pid is gone (or the file has named none for a while: a crash between create and write). */
async function staleLock(path: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return false;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) {
    const modified = await stat(path).then((info) => info.mtimeMs, () => Date.now());
    return Date.now() - modified > STALE_EMPTY_LOCK_MS;
  }
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error: unknown) {
    return errnoCode(error) === 'ESRCH';
  }
}

function entryOf(raw: unknown): SuppressionEntry | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { address, failures, suppressedAt, expires, source, reply } = raw as Record<string, unknown>;
  if (typeof address !== 'string' || !Array.isArray(failures)) return undefined;
  const failuresMs = failures.map((at: unknown) => (typeof at === 'string' ? Date.parse(at) : NaN)).filter((atMs) => Number.isFinite(atMs));
  const timeOf = (value: unknown): number | undefined => (typeof value === 'string' && Number.isFinite(Date.parse(value)) ? Date.parse(value) : undefined);
  return {
    address,
    failuresMs,
    suppressedAtMs: timeOf(suppressedAt),
    expiresAtMs: timeOf(expires),
    source: source === 'operator' ? 'operator' : 'delivery',
    reply: typeof reply === 'string' ? reply : '',
  };
}
