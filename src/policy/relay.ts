// The relay rule (INTERFACE.md "Listener modes and the relay rule"): who may use which envelope
// sender and which recipients, per listener mode. Pure: no I/O, reply codes are the server's job.

import type { ListenerMode } from '../config/types.js';

export interface RelayClient {
  readonly mode: ListenerMode;
  /** The client address is in trustedNetworks. */
  readonly trusted: boolean;
  /** The user AUTH succeeded for, or null. */
  readonly authenticatedUser: string | null;
}

export type SenderVerdict =
  | { readonly accept: true }
  | { readonly accept: false; readonly reason: 'auth-required' | 'sender-not-owned' | 'spoofed-local-sender' };

export type RecipientVerdict =
  | { readonly accept: true }
  | { readonly accept: false; readonly reason: 'auth-required' | 'relay-denied' };

const ACCEPT = Object.freeze({ accept: true } as const);

/**
 * Domains passed in: the canonical (lowercase A-label) domain; an address literal as written
 * ("[192.0.2.1]"), which is never local; or null — the null sender `<>` for a sender, `<Postmaster>`
 * (this host's postmaster, RFC 5321 §4.5.1) for a recipient. `relayDomain` in smtp/address.ts
 * produces exactly this.
 */
function isLocal(domain: string, isLocalDomain: (canonicalDomain: string) => boolean): boolean {
  return !domain.startsWith('[') && isLocalDomain(domain);
}

/**
 * Judges MAIL FROM.
 * - submission/smtps: AUTH is required; a trusted network does not exempt (INTERFACE: "required").
 * - An authenticated client may only use a sender in a local domain, in every mode, even when it is
 *   also trusted: authentication binds the session to a user, and users do not send bounces, so
 *   `<>` is refused too (a `<>` from a user is a forged bounce — backscatter — and
 *   INTERFACE.md allows users "envelope senders in local domains" only). The null sender stays open
 *   to unauthenticated clients on mta (remote MTAs must be able to bounce to us, RFC 5321 §4.5.5),
 *   and to trusted-network clients on mta, which may relay DSNs they generated.
 * - mta without AUTH: a local-domain sender from an untrusted client is spoofing it.
 */
export function judgeSender(
  client: RelayClient,
  senderDomain: string | null,
  isLocalDomain: (canonicalDomain: string) => boolean,
): SenderVerdict {
  const authenticated = client.authenticatedUser !== null;
  if (client.mode !== 'mta' && !authenticated) return { accept: false, reason: 'auth-required' };
  const senderIsLocal = senderDomain !== null && isLocal(senderDomain, isLocalDomain);
  if (authenticated) return senderIsLocal ? ACCEPT : { accept: false, reason: 'sender-not-owned' };
  if (senderIsLocal && !client.trusted) return { accept: false, reason: 'spoofed-local-sender' };
  return ACCEPT;
}

/**
 * Judges RCPT TO. Repeats the sender check first (defense in depth: a recipient is never accepted
 * for a sender judgeSender refuses; such a sender yields 'auth-required' or 'relay-denied').
 * A local recipient (or `<Postmaster>`) is then accepted from anyone; a non-local one only from an
 * authorized (trusted or authenticated) client whose sender is local or `<>`.
 */
export function judgeRecipient(
  client: RelayClient,
  senderDomain: string | null,
  recipientDomain: string | null,
  isLocalDomain: (canonicalDomain: string) => boolean,
): RecipientVerdict {
  const sender = judgeSender(client, senderDomain, isLocalDomain);
  if (!sender.accept) return { accept: false, reason: sender.reason === 'auth-required' ? 'auth-required' : 'relay-denied' };
  if (recipientDomain === null || isLocal(recipientDomain, isLocalDomain)) return ACCEPT;
  const authorized = client.trusted || client.authenticatedUser !== null;
  const senderIsLocalOrNull = senderDomain === null || isLocal(senderDomain, isLocalDomain);
  return authorized && senderIsLocalOrNull ? ACCEPT : { accept: false, reason: 'relay-denied' };
}
