// Bounds a local wait (a health check, a metrics collector) by a timer on the
// injected clock, so a hung callback turns into a value instead of a hung request.

import type { Clock } from '../core/clock.js';

export type Bounded<T> = { readonly state: 'done'; readonly value: T } | { readonly state: 'timeout' } | { readonly state: 'error'; readonly error: unknown };

/** Runs `work` and settles with its value, its error, or `timeout` after `timeoutMs` on `clock`. */
export async function withDeadline<T>(work: () => T | Promise<T>, clock: Clock, timeoutMs: number): Promise<Bounded<T>> {
  let timer: ReturnType<Clock['setTimer']> | undefined;
  const expired = new Promise<Bounded<T>>((resolve) => {
    timer = clock.setTimer(timeoutMs, () => resolve({ state: 'timeout' }));
  });
  const finished = (async (): Promise<Bounded<T>> => {
    try {
      return { state: 'done', value: await work() };
    } catch (error: unknown) {
      return { state: 'error', error };
    }
  })();
  try {
    return await Promise.race([finished, expired]);
  } finally {
    timer?.cancel();
  }
}
