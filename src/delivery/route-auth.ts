// AUTH on a route's open session (RFC 4954), turned into what delivery does
// next: go on, try another address, or defer every message (4.7.5 without TLS,
// 4.7.8 for refused credentials, keeping the smarthost's words), with a log line and a metric.

import type { Logger } from 'pino';
import { replyText } from '../smtp/reply.js';
import type { Credentials } from './credentials.js';
import { describePeer, localOutcome, sessionFailureOutcome, skippedHostOutcome, tlsRequiredOutcome, type Peer } from './outcomes.js';
import type { RouteRuntime } from './route-policy.js';
import type { OpenSession } from './session-setup.js';
import { authenticate } from './smtp-auth.js';
import type { RecipientOutcome } from './types.js';

/** Counts what an operator must act on. */
export interface TransportObserver {
  /** The smarthost of `route` refused its credentials (535 or another 5xx to AUTH). */
  smarthostAuthFailed?(route: string): void;
}

export type RouteAuthStep =
  | { readonly ok: true }
  /** `final`: do not try the route's other addresses (wrong credentials would only lock the account). */
  | { readonly ok: false; readonly outcome: RecipientOutcome; readonly final: boolean };

export interface RouteAuthContext {
  readonly route: RouteRuntime;
  readonly credentials: Credentials;
  readonly commandTimeoutMs: number;
  readonly log: Logger;
  readonly observer: TransportObserver | undefined;
}

/** Authenticates on `session` for its route; the caller closes the session when this fails. */
export async function authenticateRoute(session: OpenSession, peer: Peer, context: RouteAuthContext): Promise<RouteAuthStep> {
  const { route, credentials, log } = context;
  const where = describePeer(peer);
  const fields = { route: route.key, mx: peer.host, address: peer.address, username: credentials.username };
  if (session.tls === undefined || (route.policy.verify && !session.tls.verified)) {
    // Config allows credentials only with required TLS; this is the last line of defence.
    log.warn(fields, 'smarthost credentials not sent without verified TLS');
    const why = session.tls === undefined ? `${where} does not offer STARTTLS; the credentials are never sent in clear` : `the certificate of ${where} did not verify; the credentials are never sent to an unverified server`;
    return { ok: false, outcome: tlsRequiredOutcome(peer, `AUTH for route ${route.key} needs verified TLS and ${why}`), final: false };
  }
  const result = await authenticate(session.connection, session.extensions.authMechanisms, credentials, context.commandTimeoutMs);
  switch (result.kind) {
    case 'authenticated':
      log.info({ ...fields, mechanism: result.mechanism }, 'smarthost authenticated');
      return { ok: true };
    case 'not-offered': {
      const offered = result.offered.length === 0 ? 'no AUTH' : `AUTH ${result.offered.join(' ')}`;
      log.warn({ ...fields, offered: result.offered }, 'smarthost offers no usable AUTH mechanism');
      return { ok: false, outcome: localOutcome('transient', 451, '4.7.0', `${where} offers ${offered}, not ${result.wanted.join(' or ')}`, peer.host), final: false };
    }
    case 'rejected': {
      const remote = replyText(result.reply);
      log.warn({ ...fields, mechanism: result.mechanism, reply: remote, detail: result.detail }, 'smarthost rejected the credentials');
      context.observer?.smarthostAuthFailed?.(route.key);
      route.credentials?.rejected();
      const detail = result.detail === undefined ? '' : ` (${result.detail})`;
      const text = `${where} rejected the credentials of ${credentials.username} (AUTH ${result.mechanism}): ${remote}${detail}`;
      return { ok: false, outcome: localOutcome('transient', 451, '4.7.8', text, peer.host), final: true };
    }
    case 'temporary':
      log.warn({ ...fields, mechanism: result.mechanism, reply: replyText(result.reply) }, 'smarthost AUTH failed temporarily');
      return { ok: false, outcome: skippedHostOutcome(result.reply, peer), final: false };
    case 'failed':
      return { ok: false, outcome: sessionFailureOutcome(result.error, peer), final: false };
  }
}
