// Which DKIM keys sign (RFC 6376 §3.1 selectors, RFC 8463 dual signing): per
// domain and algorithm, the newest key whose record is seen in DNS with the
// same p= (a rotated key signs only once receivers can verify it), else the
// oldest key (the one in use before a rotation began).

import type { Logger } from 'pino';
import type { Resolver } from '../dns/resolver.js';
import type { DkimAlgorithm, DkimKey } from './keys.js';
import { publishedKey } from './published-key.js';

/** What DNS said about a key's record the last time it was asked. */
export type KeyRecordState = 'published' | 'missing' | 'mismatch' | 'unknown';

export interface KeyStatus {
  readonly key: DkimKey;
  readonly record: KeyRecordState;
  /** Used for signing now. */
  readonly signing: boolean;
}

const keyId = (key: DkimKey): string => `${key.domain}/${key.selector}`;

export class SigningKeyring {
  #keys: readonly DkimKey[];
  readonly #records = new Map<string, KeyRecordState>();
  #byDomain = new Map<string, readonly DkimKey[]>();

  constructor(keys: readonly DkimKey[]) {
    this.#keys = keys;
    this.#select();
  }

  /** After a reload of the keys folder: keeps what DNS said of keys still present. */
  replaceKeys(keys: readonly DkimKey[]): void {
    this.#keys = keys;
    const present = new Set(keys.map(keyId));
    for (const id of [...this.#records.keys()]) if (!present.has(id)) this.#records.delete(id);
    this.#select();
  }

  get size(): number {
    return this.#keys.length;
  }

  /** Asks DNS for every key's record; a failed lookup keeps the previous state. */
  async checkPublished(resolver: Resolver, logger?: Logger): Promise<void> {
    await Promise.all(
      this.#keys.map(async (key) => {
        const state = await recordState(resolver, key);
        const before = this.#records.get(keyId(key));
        if (state !== 'unknown' || before === undefined) this.#records.set(keyId(key), state === 'unknown' ? before ?? 'unknown' : state);
        const after = this.#records.get(keyId(key));
        if (after !== before) logger?.info({ domain: key.domain, selector: key.selector, record: after }, 'dkim key record checked');
      }),
    );
    this.#select();
  }

  /** True while some key's record has not been seen published (worth checking DNS again soon). */
  get awaitingRecords(): boolean {
    return this.#keys.some((key) => this.#records.get(keyId(key)) !== 'published');
  }

  /** The keys that sign for `domain` now: at most one per algorithm. */
  keysFor(domain: string): readonly DkimKey[] {
    return this.#byDomain.get(domain) ?? [];
  }

  /** The domain whose keys sign for an author domain: itself, else the nearest parent with keys. */
  signingDomain(authorDomain: string): string | undefined {
    for (let domain = authorDomain; domain.includes('.'); domain = domain.slice(domain.indexOf('.') + 1)) {
      if (this.#byDomain.has(domain)) return domain;
    }
    return undefined;
  }

  status(): KeyStatus[] {
    return this.#keys.map((key) => ({
      key,
      record: this.#records.get(keyId(key)) ?? 'unknown',
      signing: this.keysFor(key.domain).includes(key),
    }));
  }

  #select(): void {
    const groups = new Map<string, DkimKey[]>();
    for (const key of this.#keys) {
      const group = `${key.domain} ${key.algorithm}`;
      groups.set(group, [...(groups.get(group) ?? []), key]);
    }
    const byDomain = new Map<string, DkimKey[]>();
    for (const keys of groups.values()) {
      const chosen = this.#choose(keys);
      byDomain.set(chosen.domain, [...(byDomain.get(chosen.domain) ?? []), chosen]);
    }
    for (const keys of byDomain.values()) keys.sort((a, b) => ALGORITHM_ORDER[a.algorithm] - ALGORITHM_ORDER[b.algorithm]);
    this.#byDomain = byDomain;
  }

  /** Newest published key, else the oldest key. `keys` is non-empty. */
  #choose(keys: readonly DkimKey[]): DkimKey {
    const byAge = [...keys].sort((a, b) => a.createdMs - b.createdMs || a.selector.localeCompare(b.selector));
    const published = byAge.filter((key) => this.#records.get(keyId(key)) === 'published');
    return published.at(-1) ?? (byAge[0] as DkimKey);
  }
}

/** RSA first, then Ed25519: receivers that do not know Ed25519 meet the RSA signature first. */
const ALGORITHM_ORDER: Readonly<Record<DkimAlgorithm, number>> = { 'rsa-sha256': 0, 'ed25519-sha256': 1 };

async function recordState(resolver: Resolver, key: DkimKey): Promise<KeyRecordState> {
  const found = await publishedKey(resolver, key);
  switch (found.kind) {
    case 'published':
    case 'missing':
      return found.kind;
    case 'mismatch':
    case 'malformed':
      return 'mismatch';
    case 'error':
      return 'unknown';
  }
}
