// Records TLS session results for RFC 8460 reports: each call adds to counts in
// memory (per UTC day and policy domain); a flush merges them into the spool's
// files every few seconds and at shutdown. A crash loses at most the last interval.

import type { Logger } from 'pino';
import type { Clock, Timer } from '../core/clock.js';
import { DomainDay } from './aggregate.js';
import { mapLimited } from '../spool/map-limited.js';
import { FRESH_SENDING, utcDay, type ReportStore, type StoredDay } from './store.js';
import type { FailureDetails, ReportedPolicy, TlsReportRecorder } from './types.js';

/** How long counts may sit in memory: what a crash can lose. */
export const DEFAULT_FLUSH_INTERVAL_MS = 15_000;
/** Files read at once by a flush. */
const READ_CONCURRENCY = 32;
/** Domains held between flushes; more are dropped (logged) so memory stays bounded. */
const MAX_PENDING_DOMAINS = 20_000;

export interface RecorderObserver {
  sessionRecorded?(result: 'success' | 'failure'): void;
}

export interface SpoolRecorderOptions {
  readonly store: ReportStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly flushIntervalMs?: number;
  readonly observer?: RecorderObserver;
}

export class SpoolRecorder implements TlsReportRecorder {
  readonly #options: SpoolRecorderOptions;
  readonly #log: Logger;
  /** "day domain" -> counts not yet on disk. */
  #pending = new Map<string, { readonly day: string; readonly domain: string; readonly counts: DomainDay }>();
  #timer: Timer | undefined;
  #closed = false;
  #droppedWarned = false;

  constructor(options: SpoolRecorderOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'tlsrpt' });
  }

  succeeded(policy: ReportedPolicy): void {
    this.#add(policy, undefined);
  }

  failed(policy: ReportedPolicy, details: FailureDetails): void {
    this.#add(policy, details);
  }

  #add(policy: ReportedPolicy, details: FailureDetails | undefined): void {
    if (this.#closed) return;
    const day = utcDay(this.#options.clock.now());
    const domain = policy.domain.toLowerCase();
    const key = `${day} ${domain}`;
    let entry = this.#pending.get(key);
    if (entry === undefined) {
      if (this.#pending.size >= MAX_PENDING_DOMAINS) {
        if (!this.#droppedWarned) this.#log.warn({ maxDomains: MAX_PENDING_DOMAINS }, 'tls report counts dropped: too many domains before a flush');
        this.#droppedWarned = true;
        return;
      }
      entry = { day, domain, counts: new DomainDay() };
      this.#pending.set(key, entry);
    }
    entry.counts.add({ ...policy, domain }, details);
    this.#options.observer?.sessionRecorded?.(details === undefined ? 'success' : 'failure');
    this.#timer ??= this.#options.clock.setTimer(this.#options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS, () => {
      this.#timer = undefined;
      void this.flush();
    });
  }

  /** Merges the counts in memory into the files; resolves when they are durable (or the failure is logged). */
  flush(): Promise<void> {
    const batch = [...this.#pending.values()];
    this.#pending = new Map();
    this.#droppedWarned = false;
    if (batch.length === 0) return this.#options.store.exclusive(() => Promise.resolve());
    return this.#options.store.exclusive(async () => {
      const merged = await mapLimited(batch, READ_CONCURRENCY, async ({ day, domain, counts }): Promise<StoredDay> => {
        const read = await this.#options.store.read(day, domain);
        if (read.kind === 'broken') this.#log.warn({ day, domain, reason: read.reason }, 'tls report counts file unreadable, starting it anew');
        if (read.kind !== 'found') return { day, domain, counts, sending: FRESH_SENDING };
        read.stored.counts.merge(counts);
        return read.stored;
      });
      try {
        await this.#options.store.write(merged);
      } catch (error: unknown) {
        this.#log.error({ err: error, domains: batch.length }, 'tls report counts not written');
      }
    });
  }

  /** Shutdown: no more counting; the counts in memory are written. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    await this.flush();
  }
}
