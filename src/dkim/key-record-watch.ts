// Keeps the signing keyring's view of DNS fresh: checks every key's record at
// start, then every few minutes while a record is not yet seen (a rotation in
// progress) and hourly otherwise. Never throws; stops on stop().

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
    this.#running = this.check();
  }

  /** One check now (also after a reload); schedules the next one. */
  async check(): Promise<void> {
    this.#timer?.cancel();
    const keyring = this.#options.keyring();
    try {
      if (keyring.size > 0) await keyring.checkPublished(this.#options.resolver, this.#options.logger);
    } catch (error: unknown) {
      this.#options.logger.warn({ err: error }, 'dkim key record check failed');
    }
    if (this.#stopped) return;
    const delayMs = keyring.awaitingRecords ? AWAITING_RECHECK_MS : SETTLED_RECHECK_MS;
    this.#timer = this.#options.clock.setTimer(delayMs, () => {
      this.#running = this.check();
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    await this.#running;
  }
}
