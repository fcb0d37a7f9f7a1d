// The durable policy cache (RFC 8461 §5.1 "cached policy"): one JSON file per
// domain, <folder>/<domain>.json in the spool, written temp-fsync-rename, so
// policies outlive restarts; a broken file reads as no cached policy.

import { mkdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, errorMessage } from '../core/errors.js';
import { syncFolder, writeSyncedTemp } from '../core/safe-file.js';
import { MAX_POLICY_AGE_SECONDS, type StsMode, type StsPolicy } from './policy.js';

/** The spool subfolder that holds the cache. */
export const POLICY_CACHE_FOLDER = 'mta-sts';

export interface CachedPolicy {
  readonly domain: string;
  /** The TXT record's id the policy was fetched under. */
  readonly id: string;
  readonly policy: StsPolicy;
  readonly fetchedAtMs: number;
}

/** When the policy stops applying: its max_age after it was fetched. */
export function expiresAtMs(cached: CachedPolicy): number {
  return cached.fetchedAtMs + cached.policy.maxAgeSeconds * 1000;
}

export type CacheRead = { readonly kind: 'found'; readonly cached: CachedPolicy } | { readonly kind: 'absent' } | { readonly kind: 'broken'; readonly reason: string };

export interface PolicyCache {
  read(domain: string): Promise<CacheRead>;
  /** Durable when it resolves. */
  write(cached: CachedPolicy): Promise<void>;
}

const MODES: readonly string[] = ['enforce', 'testing', 'none'] satisfies readonly StsMode[];
/** Canonical domains only: nothing that could step out of the folder. */
const FILE_DOMAIN = /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/;

function fromJson(domain: string, value: unknown): CachedPolicy | string {
  if (typeof value !== 'object' || value === null) return 'not a JSON object';
  const record = value as Record<string, unknown>;
  const { id, fetchedAt, mode, mx, maxAge } = record;
  if (record['domain'] !== domain) return `it is for ${JSON.stringify(record['domain'])}`;
  if (typeof id !== 'string' || id === '') return 'no id';
  const fetchedAtMs = typeof fetchedAt === 'string' ? Date.parse(fetchedAt) : Number.NaN;
  if (Number.isNaN(fetchedAtMs)) return 'no fetchedAt time';
  if (typeof mode !== 'string' || !MODES.includes(mode)) return 'no valid mode';
  if (!Array.isArray(mx) || !mx.every((pattern): pattern is string => typeof pattern === 'string')) return 'no valid mx list';
  if (typeof maxAge !== 'number' || !Number.isInteger(maxAge) || maxAge < 0 || maxAge > MAX_POLICY_AGE_SECONDS) return 'no valid maxAge';
  return { domain, id, fetchedAtMs, policy: { mode: mode as StsMode, mx, maxAgeSeconds: maxAge } };
}

function toJson(cached: CachedPolicy): string {
  const { domain, id, policy } = cached;
  return `${JSON.stringify({ domain, id, fetchedAt: new Date(cached.fetchedAtMs).toISOString(), mode: policy.mode, mx: policy.mx, maxAge: policy.maxAgeSeconds }, null, 2)}\n`;
}

/** The cache in a folder; `readOnly` (the CLI) reads it and never writes. */
export class PolicyFolder implements PolicyCache {
  readonly #folder: string;
  readonly #readOnly: boolean;
  #created = false;

  constructor(folder: string, options: { readonly readOnly?: boolean } = {}) {
    this.#folder = folder;
    this.#readOnly = options.readOnly ?? false;
  }

  #file(domain: string): string | undefined {
    return FILE_DOMAIN.test(domain) ? join(this.#folder, `${domain}.json`) : undefined;
  }

  async read(domain: string): Promise<CacheRead> {
    const file = this.#file(domain);
    if (file === undefined) return { kind: 'absent' };
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error: unknown) {
      if (errnoCode(error) === 'ENOENT') return { kind: 'absent' };
      return { kind: 'broken', reason: `cannot read ${file}: ${errorMessage(error)}` };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { kind: 'broken', reason: `${file} is not JSON` };
    }
    const cached = fromJson(domain, parsed);
    return typeof cached === 'string' ? { kind: 'broken', reason: `${file}: ${cached}` } : { kind: 'found', cached };
  }

  async write(cached: CachedPolicy): Promise<void> {
    const file = this.#file(cached.domain);
    if (this.#readOnly || file === undefined) return;
    if (!this.#created) {
      await mkdir(this.#folder, { recursive: true, mode: 0o755 });
      this.#created = true;
    }
    const temporary = await writeSyncedTemp(this.#folder, `${cached.domain}.json`, toJson(cached), 0o644);
    try {
      await rename(temporary, file);
    } catch (error: unknown) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    await syncFolder(this.#folder);
  }
}
