// Keeps the signing keyring fresh: reads the keys folder again (a rotation
// needs no SIGHUP) and checks every key's record in DNS at start, then every
// few minutes while a record is not yet seen and hourly otherwise. Never throws.

import type { Logger } from 'pino';
import type { Clock, Timer } from '../core/clock.js';
import type { Resolver } from '../dns/resolver.js';
import type { SigningKeyring } from './signing-keyring.js';

export const AWAITING_RECHECK_MS = 5 * 60_000;
export const SETTLED_RECHECK_MS = 60 * 60_000;

export interface KeyRecordWatchOptions {
  /** The current keyring (SIGHUP may replace it). */
  readonly keyring: () => SigningKeyring;
  readonly resolver: Resolver;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Reads the keys folder again before a check (new key files from `outpost dkim rotate`). */
  readonly reloadKeys?: () => Promise<void>;
}

export class KeyRecordWatch {
  readonly #options: KeyRecordWatchOptions;
  #timer: Timer | undefined;
  #stopped = false;
  #running: Promise<void> | undefined;

  constructor(options: KeyRecordWatchOptions) {
    this.#options = options;
  }

  /** Runs the first check in the background and schedules the next ones. */
  start(): void {
    this.#stopped = false;
    this.#running = this.check({ reload: false });
  }

  /** One check now (also after a reload); schedules the next one. */
  async check(options: { reload?: boolean } = {}): Promise<void> {
    this.#timer?.cancel();
    const { logger } = this.#options;
    if (options.reload !== false && this.#options.reloadKeys !== undefined) {
      await this.#options.reloadKeys().catch((error: unknown) => logger.warn({ err: error }, 'dkim keys reload failed'));
    }
    const keyring = this.#options.keyring();
    if (keyring.size > 0) await keyring.checkPublished(this.#options.resolver, logger).catch((error: unknown) => logger.warn({ err: error }, 'dkim key record check failed'));
    if (this.#stopped) return;
    const delayMs = keyring.awaitingRecords ? AWAITING_RECHECK_MS : SETTLED_RECHECK_MS;
    this.#timer = this.#options.clock.setTimer(delayMs, () => {
      this.#running = this.check();
    });
  }

  /** A check now, without reading the keys folder again (the caller just did), tracked like the timed ones. */
  checkSoon(): void {
    const previous = this.#running ?? Promise.resolve();
    this.#running = previous.then(() => (this.#stopped ? undefined : this.check({ reload: false })));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    await this.#running;
  }
}
