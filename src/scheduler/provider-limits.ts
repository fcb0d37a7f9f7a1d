// Limits per mail provider (the MX hosts' registrable domain, src/delivery/provider-key.ts):
// sessions at once (configured or `concurrencyPerProvider`), optional messages per
// minute/hour, and adaptive backoff when the provider throttles us: half the sessions,
// a pause doubling on repeats (1 min .. 1 h), then one session more per few successes.

import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { SlidingWindowCap } from './provider-window.js';

export interface ProviderSettings {
  /** Sessions at once to the provider; undefined = `concurrencyPerProvider`. */
  readonly maxConnections?: number | undefined;
  /** Message starts per minute / per hour; undefined or 0 = no cap. */
  readonly ratePerMinute?: number | undefined;
  readonly ratePerHour?: number | undefined;
}

/** Told of every throttling reply a provider gives (for `outpost_provider_throttled_total`). */
export interface ProviderObserver {
  throttled(provider: string): void;
}

export interface ProviderLimitsOptions {
  /** delivery.concurrencyPerProvider: the cap of providers without maxConnections. */
  readonly defaultMaxConnections: number;
  readonly providers?: ReadonlyMap<string, ProviderSettings>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly observer?: ProviderObserver;
  /** First pause after throttling (default 1 min); it doubles with each throttling episode in a row. */
  readonly basePauseMs?: number;
  /** Longest pause (default 1 h). */
  readonly maxPauseMs?: number;
  /** Successful sessions that earn one session back (default 5); a success a minute after the last change earns one too. */
  readonly recoverySessions?: number;
}

export const DEFAULT_PROVIDER_PAUSE_MS = 60_000;
export const MAX_PROVIDER_PAUSE_MS = 60 * 60_000;
export const DEFAULT_RECOVERY_SESSIONS = 5;
const RECOVERY_INTERVAL_MS = 60_000;
/** States of idle, healthy providers are forgotten beyond this many. */
const MAX_REMEMBERED_PROVIDERS = 10_000;

/** What `outpost queue why` may tell about a provider. */
export interface ProviderState {
  readonly provider: string;
  /** The configured (or default) cap of sessions at once. */
  readonly maxSessions: number;
  /** Sessions allowed now: the cap, or less after throttling. */
  readonly allowedSessions: number;
  readonly running: number;
  /** End of the throttling pause; undefined when not paused. */
  readonly pausedUntilMs: number | undefined;
  /** Throttling episodes in a row (the pause doubles with each). */
  readonly throttledInARow: number;
  readonly throttledTotal: number;
  readonly lastThrottle: { readonly atMs: number; readonly reason: string; readonly reply: string } | undefined;
  /** When the rate caps allow the next message; undefined when they do now (or there are none). */
  readonly rateReadyAtMs: number | undefined;
}

interface State {
  readonly provider: string;
  readonly maxSessions: number;
  readonly minute: SlidingWindowCap | undefined;
  readonly hour: SlidingWindowCap | undefined;
  allowed: number;
  running: number;
  pausedUntilMs: number;
  throttledInARow: number;
  throttledTotal: number;
  successes: number;
  changedAtMs: number;
  lastThrottle: ProviderState['lastThrottle'];
}

export class ProviderLimits {
  readonly #options: ProviderLimitsOptions;
  readonly #log: Logger;
  readonly #states = new Map<string, State>();

  constructor(options: ProviderLimitsOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'providers' });
  }

  /** True when a new session to the provider fits its allowed sessions and it is not paused. */
  canStart(provider: string, nowMs: number): boolean {
    const state = this.#state(provider, nowMs);
    return state.running < state.allowed && state.pausedUntilMs <= nowMs;
  }

  /** How many of `wanted` message starts the provider's rate caps (and pause) grant now. */
  take(provider: string, wanted: number, nowMs: number): number {
    const state = this.#state(provider, nowMs);
    if (state.pausedUntilMs > nowMs) return 0;
    const fit = Math.min(Math.floor(wanted), state.minute?.room(nowMs) ?? wanted, state.hour?.room(nowMs) ?? wanted);
    if (fit <= 0) return 0;
    state.minute?.take(fit, nowMs);
    state.hour?.take(fit, nowMs);
    return fit;
  }

  /** The end of the provider's pause or rate wait; undefined when it may start a message at `nowMs`. */
  readyAtMs(provider: string, nowMs: number): number | undefined {
    const state = this.#state(provider, nowMs);
    const waits = [state.pausedUntilMs > nowMs ? state.pausedUntilMs : undefined, state.minute?.readyAtMs(nowMs), state.hour?.readyAtMs(nowMs)];
    const defined = waits.filter((wait): wait is number => wait !== undefined);
    return defined.length === 0 ? undefined : Math.max(...defined);
  }

  acquire(provider: string, nowMs: number): void {
    this.#state(provider, nowMs).running += 1;
  }

  release(provider: string, nowMs: number): void {
    const state = this.#state(provider, nowMs);
    state.running = Math.max(0, state.running - 1);
  }

  /**
   * The provider throttled a session: half as many sessions (at least one) and a
   * pause, doubling with each episode in a row. Sessions that started before the
   * pause and end during it belong to the same episode: counted, not escalated.
   */
  recordThrottle(provider: string, reason: string, reply: string, nowMs: number): void {
    const state = this.#state(provider, nowMs);
    state.throttledTotal += 1;
    state.lastThrottle = { atMs: nowMs, reason, reply };
    this.#options.observer?.throttled(provider);
    if (state.pausedUntilMs > nowMs) return;
    state.throttledInARow += 1;
    state.allowed = Math.max(1, Math.floor(state.allowed / 2));
    const baseMs = this.#options.basePauseMs ?? DEFAULT_PROVIDER_PAUSE_MS;
    const pauseMs = Math.min(this.#options.maxPauseMs ?? MAX_PROVIDER_PAUSE_MS, baseMs * 2 ** Math.min(state.throttledInARow - 1, 20));
    state.pausedUntilMs = nowMs + pauseMs;
    state.successes = 0;
    state.changedAtMs = nowMs;
    this.#log.warn(
      { provider, reason, reply, allowedSessions: state.allowed, pauseMs, pausedUntil: new Date(state.pausedUntilMs).toISOString(), throttledInARow: state.throttledInARow },
      'provider throttled, paused',
    );
  }

  /** A session delivered without throttling: after enough of them, one more session; at the cap, the provider has recovered. */
  recordSuccess(provider: string, nowMs: number): void {
    const state = this.#state(provider, nowMs);
    if (state.allowed >= state.maxSessions) return;
    state.successes += 1;
    const earned = state.successes >= (this.#options.recoverySessions ?? DEFAULT_RECOVERY_SESSIONS) || nowMs - state.changedAtMs >= RECOVERY_INTERVAL_MS;
    if (!earned) return;
    state.allowed += 1;
    state.successes = 0;
    state.changedAtMs = nowMs;
    if (state.allowed < state.maxSessions) {
      this.#log.info({ provider, allowedSessions: state.allowed, maxSessions: state.maxSessions }, 'provider recovering');
      return;
    }
    state.throttledInARow = 0;
    this.#log.info({ provider, allowedSessions: state.allowed }, 'provider recovered');
  }

  /** The provider's state, or undefined when outpost has not sent to it (or forgot it, idle and healthy). */
  providerState(provider: string, nowMs = this.#options.clock.now()): ProviderState | undefined {
    const state = this.#states.get(provider);
    if (state === undefined) return undefined;
    this.#refresh(state, nowMs);
    const rateWaits = [state.minute?.readyAtMs(nowMs), state.hour?.readyAtMs(nowMs)].filter((wait): wait is number => wait !== undefined);
    return {
      provider,
      maxSessions: state.maxSessions,
      allowedSessions: state.allowed,
      running: state.running,
      pausedUntilMs: state.pausedUntilMs > nowMs ? state.pausedUntilMs : undefined,
      throttledInARow: state.throttledInARow,
      throttledTotal: state.throttledTotal,
      lastThrottle: state.lastThrottle,
      rateReadyAtMs: rateWaits.length === 0 ? undefined : Math.max(...rateWaits),
    };
  }

  /** Every known provider's state (the metrics gauges read this at each scrape). */
  states(nowMs = this.#options.clock.now()): ProviderState[] {
    return [...this.#states.keys()].map((provider) => this.providerState(provider, nowMs) as ProviderState);
  }

  #state(provider: string, nowMs: number): State {
    let state = this.#states.get(provider);
    if (state === undefined) {
      if (this.#states.size >= MAX_REMEMBERED_PROVIDERS) this.#forgetIdle(nowMs);
      const settings = this.#options.providers?.get(provider);
      const maxSessions = Math.max(1, settings?.maxConnections ?? this.#options.defaultMaxConnections);
      const cap = (limit: number | undefined, windowMs: number): SlidingWindowCap | undefined => (limit === undefined || limit <= 0 ? undefined : new SlidingWindowCap(limit, windowMs));
      state = {
        provider,
        maxSessions,
        minute: cap(settings?.ratePerMinute, 60_000),
        hour: cap(settings?.ratePerHour, 60 * 60_000),
        allowed: maxSessions,
        running: 0,
        pausedUntilMs: 0,
        throttledInARow: 0,
        throttledTotal: 0,
        successes: 0,
        changedAtMs: nowMs,
        lastThrottle: undefined,
      };
      this.#states.set(provider, state);
    }
    this.#refresh(state, nowMs);
    return state;
  }

  /** A pause that has ended is logged once and cleared. */
  #refresh(state: State, nowMs: number): void {
    if (state.pausedUntilMs === 0 || state.pausedUntilMs > nowMs) return;
    state.pausedUntilMs = 0;
    this.#log.info({ provider: state.provider, allowedSessions: state.allowed }, 'provider pause ended');
  }

  #forgetIdle(nowMs: number): void {
    for (const [provider, state] of this.#states) {
      if (state.running === 0 && state.pausedUntilMs <= nowMs && state.allowed >= state.maxSessions && state.minute === undefined && state.hour === undefined) this.#states.delete(provider);
    }
  }
}
