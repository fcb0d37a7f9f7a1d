// Session limits: at most `maxConcurrency` sessions in all and
// `concurrencyPerDomain` per destination — or per lane, when destinations
// share a route (its own maxConnections) — the route's pacing, and a pause for a
// destination whose sessions keep failing at connection level, so queued mail to it waits.
// Destinations without a route also count under their provider (src/scheduler/provider-limits.ts).

import type { DeliveryLane } from '../delivery/types.js';
import type { ProviderDirectory } from './provider-directory.js';
import type { ProviderLimits } from './provider-limits.js';

export interface DestinationLimitsOptions {
  readonly maxConcurrency: number;
  readonly concurrencyPerDomain: number;
  /** Pause length after `consecutiveFailures` connection-level failures in a row (>= 1). */
  readonly pauseDelayMs: (consecutiveFailures: number) => number;
  /** Limits per provider (the MX hosts' registrable domain); none without. */
  readonly providers?: ProviderLimits | undefined;
}

interface DestinationHealth {
  consecutiveFailures: number;
  pausedUntilMs: number;
}

/** How many destinations' lanes are remembered before the memory starts over. */
const MAX_REMEMBERED_LANES = 10_000;

/** Which lane a destination's sessions take; undefined: its own. */
export type LaneOf = (destination: string) => DeliveryLane | undefined;

export class DestinationLimits {
  private readonly options: DestinationLimitsOptions;
  /** Running sessions by lane key (the destination itself when it has no lane). */
  private readonly runningByLane = new Map<string, number>();
  private readonly health = new Map<string, DestinationHealth>();
  private runningTotal = 0;
  private laneOf: LaneOf = () => undefined;
  private directory: ProviderDirectory | undefined;

  constructor(options: DestinationLimitsOptions) {
    this.options = options;
  }

  /** Lets destinations share lanes (the transport's routes); before, each destination is its own. */
  useLanes(laneOf: LaneOf): void {
    // A destination's lane never changes (routes are fixed at start), and it is asked several
    // times per dispatch and per message carried: remember the answers, within bounds.
    const known = new Map<string, DeliveryLane | undefined>();
    this.laneOf = (destination) => {
      if (known.has(destination)) return known.get(destination);
      if (known.size >= MAX_REMEMBERED_LANES) known.clear();
      const lane = laneOf(destination);
      known.set(destination, lane);
      return lane;
    };
  }

  /** Lets destinations without a lane count under their provider, as the directory knows it. */
  useProviders(directory: ProviderDirectory): void {
    if (this.options.providers !== undefined) this.directory = directory;
  }

  /** The provider limits, if any. */
  get providers(): ProviderLimits | undefined {
    return this.directory === undefined ? undefined : this.options.providers;
  }

  /** True when the destination's provider must be looked up before a session to it may start. */
  needsProvider(destination: string, nowMs: number): boolean {
    return this.directory !== undefined && this.laneOf(destination) === undefined && this.directory.get(destination, nowMs) === undefined;
  }

  /** The provider sessions of `destination` also count under; undefined for route lanes and unknown or no provider. */
  providerOf(destination: string, nowMs: number): string | undefined {
    if (this.directory === undefined || this.laneOf(destination) !== undefined) return undefined;
    return this.directory.get(destination, nowMs)?.provider;
  }

  /** The key sessions of `destination` are counted, paused and reported under: "route:*", or the destination. */
  laneKey(destination: string): string {
    return this.laneOf(destination)?.key ?? destination;
  }

  get running(): number {
    return this.runningTotal;
  }

  runningFor(destination: string): number {
    return this.runningByLane.get(this.laneKey(destination)) ?? 0;
  }

  /** Running sessions by lane key (a destination, or a route shared by several). */
  runningPerDestination(): Record<string, number> {
    return Object.fromEntries(this.runningByLane);
  }

  /** True when a new session to `destination` fits the limits (its provider's too) and neither it, its lane nor its provider is paused. */
  canStart(destination: string, nowMs: number): boolean {
    const provider = this.providerOf(destination, nowMs);
    return (
      this.runningTotal < Math.max(1, this.options.maxConcurrency) &&
      !this.laneFull(destination) &&
      (provider === undefined || this.options.providers?.canStart(provider, nowMs) !== false) &&
      this.pausedUntilMs(destination, nowMs) === undefined
    );
  }

  /** True when the destination's own lane (or the destination) runs all the sessions it may. */
  laneFull(destination: string): boolean {
    return this.runningFor(destination) >= Math.max(1, this.laneOf(destination)?.maxSessions ?? this.options.concurrencyPerDomain);
  }

  /** How many of `wanted` messages may start now through the destination's lane or provider (all of them without either). */
  grant(destination: string, wanted: number, nowMs: number): number {
    const lane = this.laneOf(destination);
    if (lane !== undefined) return lane.take(wanted, nowMs);
    const provider = this.providerOf(destination, nowMs);
    return provider === undefined || this.options.providers === undefined ? wanted : this.options.providers.take(provider, wanted, nowMs);
  }

  /** True when the global limit is reached (no destination can start a session). */
  saturated(): boolean {
    return this.runningTotal >= Math.max(1, this.options.maxConcurrency);
  }

  /** Counts a session; returns the provider it counts under, to be handed back to `release`. */
  acquire(destination: string, nowMs = 0): string | undefined {
    this.runningTotal += 1;
    const key = this.laneKey(destination);
    this.runningByLane.set(key, (this.runningByLane.get(key) ?? 0) + 1);
    const provider = this.providerOf(destination, nowMs);
    if (provider !== undefined) this.options.providers?.acquire(provider, nowMs);
    return provider;
  }

  release(destination: string, provider?: string, nowMs = 0): void {
    if (provider !== undefined) this.options.providers?.release(provider, nowMs);
    this.runningTotal = Math.max(0, this.runningTotal - 1);
    const key = this.laneKey(destination);
    const left = (this.runningByLane.get(key) ?? 0) - 1;
    if (left > 0) this.runningByLane.set(key, left);
    else this.runningByLane.delete(key);
  }

  /** The end of the destination's (or its lane's) pause or pacing wait, or undefined when it may start at `nowMs`. */
  pausedUntilMs(destination: string, nowMs: number): number | undefined {
    const health = this.health.get(this.laneKey(destination));
    const failingUntilMs = health !== undefined && health.pausedUntilMs > nowMs ? health.pausedUntilMs : undefined;
    const provider = this.providerOf(destination, nowMs);
    const laneReadyAtMs = this.laneOf(destination)?.readyAtMs(nowMs) ?? (provider === undefined ? undefined : this.options.providers?.readyAtMs(provider, nowMs));
    if (failingUntilMs === undefined || laneReadyAtMs === undefined) return failingUntilMs ?? laneReadyAtMs;
    return Math.max(failingUntilMs, laneReadyAtMs);
  }

  /**
   * Records how a session ended: a connection-level failure (nothing but local
   * transient outcomes) pauses the destination's lane for the next retry delay; any
   * answer from a remote server clears its failures and pause.
   */
  recordSession(destination: string, connectionFailure: boolean, nowMs: number): void {
    const key = this.laneKey(destination);
    if (!connectionFailure) {
      this.health.delete(key);
      return;
    }
    const health = this.health.get(key) ?? { consecutiveFailures: 0, pausedUntilMs: 0 };
    health.consecutiveFailures += 1;
    health.pausedUntilMs = Math.max(health.pausedUntilMs, nowMs + this.options.pauseDelayMs(health.consecutiveFailures));
    this.health.set(key, health);
  }

  /** Lifts the failure pause of one destination's lane, or of all (an operator's flush); route pacing stays. */
  resume(destination?: string): void {
    if (destination === undefined) this.health.clear();
    else this.health.delete(this.laneKey(destination));
  }

  paused(nowMs: number): { destination: string; untilMs: number; consecutiveFailures: number }[] {
    return [...this.health]
      .filter(([, health]) => health.pausedUntilMs > nowMs)
      .map(([destination, health]) => ({ destination, untilMs: health.pausedUntilMs, consecutiveFailures: health.consecutiveFailures }));
  }
}
