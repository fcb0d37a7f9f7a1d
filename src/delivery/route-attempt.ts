// Getting a route ready before any connection (its CA file, its credentials;
// AUTH never planned in clear), spotting throttling replies of a smarthost
// (RFC 3463 X.3.2, X.7.x) and waiting, briefly, for the route's next message slot.

import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Credentials } from './credentials.js';
import { localOutcome } from './outcomes.js';
import type { RouteLane } from './route-lane.js';
import { routeTls, type RouteRuntime } from './route-policy.js';
import type { SessionTls } from './session-setup.js';
import type { RecipientOutcome } from './types.js';

/** A session waits at most this long for the route's next slot before it ends (servers idle out after 5 min, RFC 5321 §4.5.3.2.7). */
export const MAX_LANE_WAIT_MS = 60_000;

export type PreparedRoute =
  | { readonly ok: true; readonly tls: SessionTls; readonly credentials: Credentials | undefined }
  | { readonly ok: false; readonly outcome: RecipientOutcome };

/** The TLS and credentials of a job's route, or why its messages are deferred without connecting. */
export async function prepareRoute(route: RouteRuntime | undefined, signal: AbortSignal, log: Logger): Promise<PreparedRoute> {
  const tls = await routeTls(route);
  if (!tls.ok) {
    log.error({ route: route?.key, reason: tls.reason }, 'route CA file unreadable');
    return { ok: false, outcome: localOutcome('transient', 451, '4.3.5', tls.reason) };
  }
  const source = route?.credentials;
  if (route === undefined || source === undefined) return { ok: true, tls: tls.tls, credentials: undefined };
  if (route.policy.tls === 'none') {
    log.warn({ route: route.key, username: source.username }, 'smarthost credentials not sent without verified TLS');
    return { ok: false, outcome: localOutcome('transient', 451, '4.7.5', `AUTH for route ${route.key} needs TLS and the route says tls: none; the credentials are never sent in clear`) };
  }
  const got = await source.get(signal);
  if (got.ok) return { ok: true, tls: tls.tls, credentials: got.credentials };
  log.error({ route: route.key, username: source.username, reason: got.reason }, 'smarthost credentials unavailable');
  // A token endpoint that fails is a security service's temporary failure (4.7.0); an unreadable file is our configuration (4.3.5).
  const outcome = source.fetchesTokens
    ? localOutcome('transient', 451, '4.7.0', `no OAuth2 token for route ${route.key}: ${got.reason}`)
    : localOutcome('transient', 451, '4.3.5', `no credentials for route ${route.key}: ${got.reason}`);
  return { ok: false, outcome };
}

/**
 * A smarthost's "slow down": 432/421/451 4.3.2 (Exchange Online's per-mailbox
 * caps) or a 4.7.x policy deferral (450 4.7.0 rate limited), from the remote itself.
 */
export function isThrottling(outcome: RecipientOutcome): boolean {
  return outcome.remote && outcome.kind === 'transient' && (outcome.status === '4.3.2' || outcome.status.startsWith('4.7.'));
}

/** Waits for the lane's next slot when it comes within MAX_LANE_WAIT_MS; resolves at once otherwise or on abort. */
export function waitForLane(lane: RouteLane, clock: Clock, signal: AbortSignal): Promise<void> {
  const readyAtMs = lane.readyAtMs(clock.now());
  if (readyAtMs === undefined || signal.aborted) return Promise.resolve();
  const waitMs = readyAtMs - clock.now();
  if (waitMs > MAX_LANE_WAIT_MS) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      timer.cancel();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimer(waitMs, done);
    signal.addEventListener('abort', done, { once: true });
  });
}
