// Which provider each destination belongs to, known before its sessions open:
// asked of the transport (its MX plan, from the resolver's cache) once per
// destination, remembered for a while on the injected clock, within bounds.

import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';

/** The provider of a destination; undefined: none (a route, an address literal, no plan). */
export type ProviderLookup = (destination: string, signal: AbortSignal) => Promise<string | undefined>;

export interface ProviderDirectoryOptions {
  readonly lookup: ProviderLookup;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** How long an answer is kept (MX sets change rarely; a failed lookup is asked again sooner). */
export const PROVIDER_TTL_MS = 15 * 60_000;
export const NO_PROVIDER_TTL_MS = 60_000;
const MAX_REMEMBERED = 10_000;

interface Entry {
  readonly provider: string | undefined;
  readonly untilMs: number;
}

export class ProviderDirectory {
  readonly #options: ProviderDirectoryOptions;
  readonly #known = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<void>>();
  readonly #controller = new AbortController();

  constructor(options: ProviderDirectoryOptions) {
    this.#options = options;
  }

  /** `{ provider }` when known (provider undefined: none), undefined while it has to be looked up. */
  get(destination: string, nowMs: number): { readonly provider: string | undefined } | undefined {
    const entry = this.#known.get(destination);
    if (entry === undefined) return undefined;
    if (entry.untilMs > nowMs) return entry;
    // Stale: used until the new answer is in, so a destination never stops for a refresh.
    void this.lookUp(destination);
    return entry;
  }

  /** Looks the destination's provider up (once at a time); resolves when it is known. */
  lookUp(destination: string): Promise<void> {
    const running = this.#pending.get(destination);
    if (running !== undefined) return running;
    const { lookup, clock, logger } = this.#options;
    const task = lookup(destination, this.#controller.signal)
      .catch((error: unknown) => {
        logger.warn({ destination, err: error }, 'provider lookup failed');
        return undefined;
      })
      .then((provider) => {
        if (this.#known.size >= MAX_REMEMBERED) this.#known.clear();
        this.#known.set(destination, { provider, untilMs: clock.now() + (provider === undefined ? NO_PROVIDER_TTL_MS : PROVIDER_TTL_MS) });
      })
      .finally(() => this.#pending.delete(destination));
    this.#pending.set(destination, task);
    return task;
  }

  /** Lookups under way. */
  get pending(): readonly Promise<void>[] {
    return [...this.#pending.values()];
  }

  /** Gives up the lookups under way. */
  stop(): void {
    this.#controller.abort();
  }
}
