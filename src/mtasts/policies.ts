// Which MTA-STS policy applies to a destination now (RFC 8461 §5.1): the TXT
// id from DNS against the cached policy; a fetch when none is cached, a refresh
// in the background when the id changed or the policy ages; a valid cached
// policy outlives failed fetches and missing records until its max_age.

import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Resolver } from '../dns/resolver.js';
import type { PolicyFetcher } from './fetcher.js';
import { parseStsPolicy, type StsPolicy } from './policy.js';
import { discoverMtaSts } from './record.js';
import { expiresAtMs, type CachedPolicy, type PolicyCache } from './store.js';

/** §3.3: after a failed fetch, the same id is not fetched again for this long. */
export const FETCH_RETRY_DELAY_MS = 5 * 60_000;
/** A cached policy is refreshed after half its max_age, and at least daily. */
export const MAX_REFRESH_INTERVAL_MS = 24 * 60 * 60_000;
/** Domains whose cache state is kept in memory (the files hold the rest). */
const MAX_REMEMBERED_DOMAINS = 10_000;

export type StsLookup =
  | {
      readonly kind: 'policy';
      readonly domain: string;
      readonly id: string;
      readonly policy: StsPolicy;
      /** cached: from the cache (memory or spool file); fetched: fetched for this lookup. */
      readonly source: 'cached' | 'fetched';
      readonly fetchedAtMs: number;
      readonly expiresAtMs: number;
    }
  | { readonly kind: 'none'; readonly domain: string; readonly reason: string };

/** Why a policy fetch failed, for TLS reporting (RFC 8460 §4.3.2). */
export interface StsFetchFailure {
  /** fetch: network, TLS, HTTP, size or type; invalid: the policy text is malformed. */
  readonly kind: 'fetch' | 'invalid';
  readonly reason: string;
  /** The Node error code of a failed fetch, when there is one (e.g. CERT_HAS_EXPIRED). */
  readonly code: string | undefined;
  /** The cached policy that stays in force, if any. */
  readonly kept: StsPolicy | undefined;
}

export interface MtaStsObserver {
  /** A policy fetch failed (network, TLS, HTTP, size, type or syntax). */
  policyFetchFailed?(domain: string, failure: StsFetchFailure): void;
}

export interface MtaStsPoliciesOptions {
  readonly resolver: Resolver;
  readonly fetcher: PolicyFetcher;
  readonly cache: PolicyCache;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly observer?: MtaStsObserver;
  /** Refresh superseded or ageing cached policies in the background; default true (the CLI turns it off). */
  readonly refreshInBackground?: boolean;
}

type FetchOutcome = { readonly ok: true; readonly cached: CachedPolicy } | { readonly ok: false; readonly reason: string };

interface FetchFailure {
  readonly id: string;
  readonly retryAtMs: number;
  readonly reason: string;
}

function refreshAtMs(cached: CachedPolicy): number {
  return cached.fetchedAtMs + Math.min((cached.policy.maxAgeSeconds * 1000) / 2, MAX_REFRESH_INTERVAL_MS);
}

function found(cached: CachedPolicy, source: 'cached' | 'fetched'): StsLookup {
  const { domain, id, policy, fetchedAtMs } = cached;
  return { kind: 'policy', domain, id, policy, source, fetchedAtMs, expiresAtMs: expiresAtMs(cached) };
}

function raceAbort<T>(work: Promise<T>, signal: AbortSignal, aborted: T): Promise<T> {
  if (signal.aborted) return Promise.resolve(aborted);
  return new Promise((resolve) => {
    const onAbort = (): void => resolve(aborted);
    signal.addEventListener('abort', onAbort, { once: true });
    void work.then((value) => {
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    });
  });
}

export class MtaStsPolicies {
  readonly #options: MtaStsPoliciesOptions;
  readonly #log: Logger;
  /** Domain -> its cached policy, or null when the cache holds none. */
  readonly #memory = new Map<string, CachedPolicy | null>();
  readonly #fetching = new Map<string, Promise<FetchOutcome>>();
  readonly #failures = new Map<string, FetchFailure>();
  readonly #background = new Set<Promise<unknown>>();
  readonly #closing = new AbortController();

  constructor(options: MtaStsPoliciesOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'mta-sts' });
  }

  /** The policy that applies to `domain` now, or why none does. Never rejects for DNS or HTTP failures. */
  async lookup(domain: string, signal: AbortSignal): Promise<StsLookup> {
    const [cached, record] = await Promise.all([this.#cached(domain), discoverMtaSts(this.#options.resolver, domain)]);
    const nowMs = this.#options.clock.now();
    const valid = cached !== undefined && nowMs < expiresAtMs(cached) ? cached : undefined;
    if (record.kind !== 'record') {
      // §5.1: a policy cached and not expired applies even when DNS shows none now.
      if (valid !== undefined) return found(valid, 'cached');
      if (record.kind === 'error') this.#log.info({ domain, reason: record.reason }, 'mta-sts record lookup failed');
      return { kind: 'none', domain, reason: record.reason };
    }
    if (valid !== undefined) {
      if (valid.id !== record.id || nowMs >= refreshAtMs(valid)) this.#refresh(domain, record.id);
      return found(valid, 'cached');
    }
    const fetched = await raceAbort(this.#fetch(domain, record.id), signal, { ok: false, reason: 'policy lookup aborted' } as const);
    return fetched.ok ? found(fetched.cached, 'fetched') : { kind: 'none', domain, reason: fetched.reason };
  }

  /** Resolves when the background refreshes started so far have ended. */
  async idle(): Promise<void> {
    while (this.#background.size > 0) await Promise.all([...this.#background]);
  }

  /** Aborts fetches under way (shutdown) and waits for them to end. */
  async close(): Promise<void> {
    this.#closing.abort();
    await this.idle();
  }

  async #cached(domain: string): Promise<CachedPolicy | undefined> {
    const remembered = this.#memory.get(domain);
    if (remembered !== undefined) return remembered ?? undefined;
    const read = await this.#options.cache.read(domain);
    if (read.kind === 'broken') this.#log.warn({ domain, reason: read.reason }, 'mta-sts cached policy unreadable');
    const cached = read.kind === 'found' ? read.cached : undefined;
    this.#remember(domain, cached);
    return cached;
  }

  #remember(domain: string, cached: CachedPolicy | undefined): void {
    this.#memory.delete(domain);
    this.#memory.set(domain, cached ?? null);
    if (this.#memory.size > MAX_REMEMBERED_DOMAINS) this.#memory.delete(this.#memory.keys().next().value as string);
  }

  #refresh(domain: string, id: string): void {
    if (this.#options.refreshInBackground === false || this.#fetching.has(domain) || this.#closing.signal.aborted) return;
    const failure = this.#failures.get(domain);
    if (failure !== undefined && failure.id === id && this.#options.clock.now() < failure.retryAtMs) return;
    const task = this.#fetch(domain, id);
    this.#background.add(task);
    void task.finally(() => this.#background.delete(task));
  }

  /** One fetch per domain at a time; a failed id is not fetched again for FETCH_RETRY_DELAY_MS. */
  #fetch(domain: string, id: string): Promise<FetchOutcome> {
    const running = this.#fetching.get(domain);
    if (running !== undefined) return running;
    const failure = this.#failures.get(domain);
    if (failure !== undefined && failure.id === id && this.#options.clock.now() < failure.retryAtMs) {
      return Promise.resolve({ ok: false, reason: `${failure.reason} (fetched again from ${new Date(failure.retryAtMs).toISOString()})` });
    }
    const fetching = this.#fetchNow(domain, id).finally(() => this.#fetching.delete(domain));
    this.#fetching.set(domain, fetching);
    return fetching;
  }

  async #fetchNow(domain: string, id: string): Promise<FetchOutcome> {
    const { fetcher, clock, cache } = this.#options;
    const fetched = await fetcher.fetch(domain, this.#closing.signal);
    const parsed = fetched.ok ? parseStsPolicy(fetched.text) : undefined;
    if (!fetched.ok || parsed === undefined || !parsed.ok) {
      const reason = fetched.ok ? `malformed policy at https://mta-sts.${domain}/.well-known/mta-sts.txt: ${parsed?.ok === false ? parsed.problem : 'unparsed'}` : fetched.reason;
      this.#failures.set(domain, { id, retryAtMs: clock.now() + FETCH_RETRY_DELAY_MS, reason });
      const kept = this.#memory.get(domain);
      const keeping = kept !== undefined && kept !== null && clock.now() < expiresAtMs(kept);
      const failure: StsFetchFailure = { kind: fetched.ok ? 'invalid' : 'fetch', reason, code: fetched.ok ? undefined : fetched.code, kept: keeping ? kept.policy : undefined };
      this.#options.observer?.policyFetchFailed?.(domain, failure);
      this.#log.warn({ domain, id, reason, keptCachedPolicy: keeping ? kept.id : null }, keeping ? 'mta-sts policy refresh failed, keeping the cached policy' : 'mta-sts policy fetch failed');
      return { ok: false, reason };
    }
    const cached: CachedPolicy = { domain, id, policy: parsed.policy, fetchedAtMs: clock.now() };
    this.#failures.delete(domain);
    this.#remember(domain, cached);
    try {
      await cache.write(cached);
    } catch (error: unknown) {
      this.#log.error({ domain, err: error }, 'mta-sts policy cache write failed');
    }
    const { mode, mx, maxAgeSeconds } = parsed.policy;
    this.#log.info({ domain, id, mode, mx, maxAgeSeconds }, 'mta-sts policy fetched');
    return { ok: true, cached };
  }
}
