// Session limits: at most `maxConcurrency` sessions in all and
// `concurrencyPerDomain` per destination, and a pause for a destination whose
// sessions keep failing at connection level, so queued mail to it waits.

export interface DestinationLimitsOptions {
  readonly maxConcurrency: number;
  readonly concurrencyPerDomain: number;
  /** Pause length after `consecutiveFailures` connection-level failures in a row (>= 1). */
  readonly pauseDelayMs: (consecutiveFailures: number) => number;
}

interface DestinationHealth {
  consecutiveFailures: number;
  pausedUntilMs: number;
}

export class DestinationLimits {
  private readonly options: DestinationLimitsOptions;
  private readonly runningByDestination = new Map<string, number>();
  private readonly health = new Map<string, DestinationHealth>();
  private runningTotal = 0;

  constructor(options: DestinationLimitsOptions) {
    this.options = options;
  }

  get running(): number {
    return this.runningTotal;
  }

  runningFor(destination: string): number {
    return this.runningByDestination.get(destination) ?? 0;
  }

  runningPerDestination(): Record<string, number> {
    return Object.fromEntries(this.runningByDestination);
  }

  /** True when a new session to `destination` fits the limits and the destination is not paused. */
  canStart(destination: string, nowMs: number): boolean {
    return (
      this.runningTotal < Math.max(1, this.options.maxConcurrency) &&
      this.runningFor(destination) < Math.max(1, this.options.concurrencyPerDomain) &&
      this.pausedUntilMs(destination, nowMs) === undefined
    );
  }

  /** True when the global limit is reached (no destination can start a session). */
  saturated(): boolean {
    return this.runningTotal >= Math.max(1, this.options.maxConcurrency);
  }

  acquire(destination: string): void {
    this.runningTotal += 1;
    this.runningByDestination.set(destination, this.runningFor(destination) + 1);
  }

  release(destination: string): void {
    this.runningTotal = Math.max(0, this.runningTotal - 1);
    const left = this.runningFor(destination) - 1;
    if (left > 0) this.runningByDestination.set(destination, left);
    else this.runningByDestination.delete(destination);
  }

  /** The end of the destination's pause, or undefined when it is not paused at `nowMs`. */
  pausedUntilMs(destination: string, nowMs: number): number | undefined {
    const health = this.health.get(destination);
    return health !== undefined && health.pausedUntilMs > nowMs ? health.pausedUntilMs : undefined;
  }

  /**
   * Records how a session ended: a connection-level failure (nothing but local
   * transient outcomes) pauses the destination for the next retry delay; any
   * answer from a remote server clears its failures and pause.
   */
  recordSession(destination: string, connectionFailure: boolean, nowMs: number): void {
    if (!connectionFailure) {
      this.health.delete(destination);
      return;
    }
    const health = this.health.get(destination) ?? { consecutiveFailures: 0, pausedUntilMs: 0 };
    health.consecutiveFailures += 1;
    health.pausedUntilMs = Math.max(health.pausedUntilMs, nowMs + this.options.pauseDelayMs(health.consecutiveFailures));
    this.health.set(destination, health);
  }

  /** Lifts the pause of one destination, or of all (an operator's flush). */
  resume(destination?: string): void {
    if (destination === undefined) this.health.clear();
    else this.health.delete(destination);
  }

  paused(nowMs: number): { destination: string; untilMs: number; consecutiveFailures: number }[] {
    return [...this.health]
      .filter(([, health]) => health.pausedUntilMs > nowMs)
      .map(([destination, health]) => ({ destination, untilMs: health.pausedUntilMs, consecutiveFailures: health.consecutiveFailures }));
  }
}
