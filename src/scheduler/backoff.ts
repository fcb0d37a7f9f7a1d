// Retry delays: the delay before attempt n+1 after n failed attempts, from the
// configured `delivery.retry` list (the last one repeats), with small jitter.

/** Jitter adds up to this fraction of the delay, so messages deferred together do not retry in lockstep. */
export const RETRY_JITTER_FRACTION = 0.05;

/** The configured delay after `failedAttempts` (>= 1) failed attempts, without jitter. */
export function baseRetryDelayMs(failedAttempts: number, retryDelaysMs: readonly number[]): number {
  if (retryDelaysMs.length === 0) throw new RangeError('retryDelaysMs is empty');
  const index = Math.min(Math.max(failedAttempts, 1), retryDelaysMs.length) - 1;
  return retryDelaysMs[index] ?? 0;
}

/** The delay after `failedAttempts` failed attempts, plus jitter in [0, RETRY_JITTER_FRACTION) of it from `random`. */
export function retryDelayMs(failedAttempts: number, retryDelaysMs: readonly number[], random: () => number): number {
  const baseMs = baseRetryDelayMs(failedAttempts, retryDelaysMs);
  const fraction = Math.min(Math.max(random(), 0), 1);
  return Math.round(baseMs * (1 + RETRY_JITTER_FRACTION * fraction));
}
