// The durable session counts of RFC 8460 reports in the spool: one JSON file per
// UTC day and policy domain, <spool>/tlsrpt/<YYYY-MM-DD>/<domain>.json, written
// temp-fsync-rename (core/safe-file.ts), with the state of the report's sending.

import { mkdir, readdir, readFile, rename, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, errorMessage } from '../core/errors.js';
import { syncFolder, writeSyncedTemp } from '../core/safe-file.js';
import { mapLimited } from '../spool/map-limited.js';
import { DomainDay } from './aggregate.js';

/** The spool subfolder that holds the counts. */
export const REPORT_FOLDER = 'tlsrpt';

const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** Canonical domains only: nothing that could step out of the folder. */
const FILE_DOMAIN = /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/;
const SUFFIX = '.json';
/** Files written at once by a flush. */
const WRITE_CONCURRENCY = 32;

/** How far sending the day's report has come. */
export interface SendingState {
  /** Failed sending rounds so far. */
  readonly attempts: number;
  /** When the next round may run; undefined = at once. */
  readonly nextAttemptMs: number | undefined;
  /** The rua URIs the report already went to (a retry skips them). */
  readonly done: readonly string[];
}

export const FRESH_SENDING: SendingState = Object.freeze({ attempts: 0, nextAttemptMs: undefined, done: [] });

export interface StoredDay {
  readonly day: string;
  readonly domain: string;
  readonly counts: DomainDay;
  readonly sending: SendingState;
}

export type StoredRead = { readonly kind: 'found'; readonly stored: StoredDay } | { readonly kind: 'absent' } | { readonly kind: 'broken'; readonly reason: string };

/** "2026-11-26" for a time in that UTC day. */
export function utcDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** Midnight UTC at the start of `day`, in ms. */
export function dayStartMs(day: string): number {
  return Date.parse(`${day}T00:00:00Z`);
}

function sendingFromJson(value: unknown): SendingState | string {
  if (value === undefined) return FRESH_SENDING;
  if (typeof value !== 'object' || value === null) return 'sending is not an object';
  const { attempts, nextAttemptAt, done } = value as Record<string, unknown>;
  if (typeof attempts !== 'number' || !Number.isSafeInteger(attempts) || attempts < 0) return 'no valid attempts';
  const nextAttemptMs = typeof nextAttemptAt === 'string' ? Date.parse(nextAttemptAt) : undefined;
  if (nextAttemptAt !== null && nextAttemptAt !== undefined && (nextAttemptMs === undefined || Number.isNaN(nextAttemptMs))) return 'no valid nextAttemptAt';
  if (!Array.isArray(done) || !done.every((uri): uri is string => typeof uri === 'string')) return 'no valid done list';
  return { attempts, nextAttemptMs, done };
}

function fromJson(day: string, domain: string, value: unknown): StoredDay | string {
  if (typeof value !== 'object' || value === null) return 'not a JSON object';
  const record = value as Record<string, unknown>;
  if (record['version'] !== 1) return 'not version 1';
  if (record['day'] !== day || record['domain'] !== domain) return `it is for ${JSON.stringify(record['domain'])} on ${JSON.stringify(record['day'])}`;
  const counts = DomainDay.fromJson(record['policies']);
  if (typeof counts === 'string') return counts;
  const sending = sendingFromJson(record['sending']);
  if (typeof sending === 'string') return sending;
  return { day, domain, counts, sending };
}

function toJson(stored: StoredDay): string {
  const { day, domain, counts, sending } = stored;
  const nextAttemptAt = sending.nextAttemptMs === undefined ? null : new Date(sending.nextAttemptMs).toISOString();
  return `${JSON.stringify({ version: 1, day, domain, policies: counts.toJson(), sending: { attempts: sending.attempts, nextAttemptAt, done: sending.done } })}\n`;
}

/**
 * The files under one folder. Writers (the recorder's flushes, the sender's
 * state updates) run one at a time through `exclusive`, so a read-merge-write
 * never loses another's counts.
 */
export class ReportStore {
  readonly folder: string;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(folder: string) {
    this.folder = folder;
  }

  /** Runs `work` after every earlier exclusive work has ended. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #file(day: string, domain: string): string | undefined {
    return DAY.test(day) && FILE_DOMAIN.test(domain) ? join(this.folder, day, `${domain}${SUFFIX}`) : undefined;
  }

  async read(day: string, domain: string): Promise<StoredRead> {
    const file = this.#file(day, domain);
    if (file === undefined) return { kind: 'absent' };
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error: unknown) {
      if (errnoCode(error) === 'ENOENT') return { kind: 'absent' };
      return { kind: 'broken', reason: errorMessage(error) };
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error: unknown) {
      return { kind: 'broken', reason: `not JSON: ${errorMessage(error)}` };
    }
    const stored = fromJson(day, domain, value);
    return typeof stored === 'string' ? { kind: 'broken', reason: stored } : { kind: 'found', stored };
  }

  /**
   * Writes each file temp-fsync-rename, then fsyncs each day folder once: the
   * new names survive a crash. A domain that is not a plain name is skipped.
   */
  async write(days: readonly StoredDay[]): Promise<void> {
    const folders = new Set<string>();
    for (const { day } of days) {
      const folder = join(this.folder, day);
      if (!DAY.test(day) || folders.has(folder)) continue;
      await mkdir(folder, { recursive: true, mode: 0o700 });
      folders.add(folder);
    }
    // The fsyncs of many small files run side by side: the file system commits them together.
    await mapLimited(days, WRITE_CONCURRENCY, async (stored) => {
      const file = this.#file(stored.day, stored.domain);
      if (file === undefined) return;
      const temporary = await writeSyncedTemp(join(this.folder, stored.day), `${stored.domain}${SUFFIX}`, toJson(stored), 0o600);
      try {
        await rename(temporary, file);
      } catch (error: unknown) {
        await unlink(temporary).catch(() => undefined);
        throw error;
      }
    });
    for (const folder of folders) await syncFolder(folder);
  }

  async remove(day: string, domain: string): Promise<void> {
    const file = this.#file(day, domain);
    if (file === undefined) return;
    await unlink(file).catch((error: unknown) => {
      if (errnoCode(error) !== 'ENOENT') throw error;
    });
    await syncFolder(join(this.folder, day)).catch(() => undefined);
  }

  /** The day folders present, oldest first. */
  async days(): Promise<string[]> {
    return (await this.#names(this.folder)).filter((name) => DAY.test(name)).sort();
  }

  /** The domains with a file for `day`. */
  async domains(day: string): Promise<string[]> {
    if (!DAY.test(day)) return [];
    const names = await this.#names(join(this.folder, day));
    return names.filter((name) => name.endsWith(SUFFIX) && !name.startsWith('.')).map((name) => name.slice(0, -SUFFIX.length)).filter((domain) => FILE_DOMAIN.test(domain)).sort();
  }

  /** Removes the folder of `day` when nothing is left in it (leftover temp files go too). */
  async removeDayIfDone(day: string): Promise<void> {
    if (!DAY.test(day)) return;
    const folder = join(this.folder, day);
    const names = await this.#names(folder);
    if (names.some((name) => !(name.startsWith('.') && name.endsWith('.tmp')))) return;
    for (const name of names) await unlink(join(folder, name)).catch(() => undefined);
    await rmdir(folder).catch(() => undefined);
  }

  async #names(folder: string): Promise<string[]> {
    try {
      return await readdir(folder);
    } catch (error: unknown) {
      if (errnoCode(error) === 'ENOENT') return [];
      throw error;
    }
  }
}
