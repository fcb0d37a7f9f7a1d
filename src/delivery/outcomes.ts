// Turns what happened into per-recipient outcomes: remote replies by class
// (RFC 5321 §4.2.1), local conditions with enhanced status codes (RFC 3463:
// 4.4.1 no answer, 4.4.2 bad connection, 4.5.0 protocol, 4.7.5 TLS, 5.3.4 size, 5.6.7 UTF-8;
// RFC 8689 §4.2.1 / RFC 5248: 5.7.10 encryption needed, 5.7.30 REQUIRETLS support required).

import type { PlanFailure } from '../dns/next-hop.js';
import { replyText, type Reply } from '../smtp/reply.js';
import type { ConnectError } from './connector.js';
import { cleanRemoteText } from './reply-reader.js';
import type { SessionError } from './session-error.js';
import type { OutcomeKind, RecipientOutcome } from './types.js';

/** Longest reply text kept in an outcome (logs, spool, DSN Diagnostic-Code). */
export const MAX_OUTCOME_REPLY_CHARS = 512;

/** The host we talk to: its name (MX or route host) and the address connected to. */
export interface Peer {
  readonly host: string;
  readonly address: string;
  readonly port: number;
}

export function describePeer(peer: Peer): string {
  return `${peer.host}[${peer.address}]`;
}

function capped(text: string): string {
  const clean = cleanRemoteText(text);
  return clean.length <= MAX_OUTCOME_REPLY_CHARS ? clean : `${clean.slice(0, MAX_OUTCOME_REPLY_CHARS - 3)}...`;
}

export function replyKind(reply: Reply): OutcomeKind {
  if (reply.code >= 500) return 'permanent';
  if (reply.code >= 400) return 'transient';
  return 'delivered';
}

/** The reply's enhanced status code, or one derived from its class ("5.0.0"). */
export function replyStatus(reply: Reply): string {
  return reply.status ?? `${Math.floor(reply.code / 100)}.0.0`;
}

/** The outcome a remote reply gives: 2xx delivered, 4xx transient, 5xx permanent. */
export function replyOutcome(reply: Reply, peer: Peer): RecipientOutcome {
  return { kind: replyKind(reply), reply: capped(replyText(reply)), status: replyStatus(reply), remote: true, remoteMta: peer.host };
}

/**
 * A remote refusal that only made us skip a host (greeting, HELO, 421): the
 * message is retried later, so a 5xx becomes transient with a 4.x.x status.
 */
export function skippedHostOutcome(reply: Reply, peer: Peer): RecipientOutcome {
  const outcome = replyOutcome(reply, peer);
  if (outcome.kind !== 'permanent') return outcome.kind === 'delivered' ? { ...outcome, kind: 'transient', status: '4.5.0' } : outcome;
  return { ...outcome, kind: 'transient', status: `4${outcome.status.slice(1)}` };
}

/** An outcome we decide ourselves; `reply` reads like an SMTP reply: "451 4.4.1 text". */
export function localOutcome(kind: Exclude<OutcomeKind, 'delivered'>, code: number, status: string, text: string, remoteMta?: string): RecipientOutcome {
  return { kind, reply: capped(`${code} ${status} ${text}`), status, remote: false, remoteMta };
}

/** DNS said no (RFC 7505 null MX answers 556 5.1.10). */
export function planFailureOutcome(plan: PlanFailure): RecipientOutcome {
  if (!plan.permanent) return localOutcome('transient', 451, plan.status, `${plan.domain}: ${plan.reason}`);
  return localOutcome('permanent', plan.status === '5.1.10' ? 556 : 550, plan.status, `${plan.domain}: ${plan.reason}`);
}

export function connectFailureOutcome(error: ConnectError, peer: Peer): RecipientOutcome {
  const what = error.failure === 'refused' ? 'connection refused by' : error.failure === 'timeout' ? 'connection timed out to' : `cannot connect (${error.message}) to`;
  return localOutcome('transient', 451, '4.4.1', `${what} ${describePeer(peer)}`);
}

export function sessionFailureOutcome(error: SessionError, peer: Peer): RecipientOutcome {
  const where = describePeer(peer);
  switch (error.failure) {
    case 'timeout':
      return localOutcome('transient', 451, '4.4.2', `timeout at ${error.stage} with ${where}: ${error.message}`, peer.host);
    case 'closed':
      return localOutcome('transient', 451, '4.4.2', `lost connection with ${where} at ${error.stage}`, peer.host);
    case 'protocol':
      return localOutcome('transient', 451, '4.5.0', `protocol error with ${where}: ${error.message}`, peer.host);
    case 'tls':
      return localOutcome('transient', 451, '4.7.5', `TLS with ${where} failed: ${error.message}`, peer.host);
    case 'local':
      return localOutcome('transient', 451, '4.3.0', `local error while sending to ${where}: ${error.message}`, peer.host);
    case 'aborted':
      return abortedOutcome();
  }
}

/** TLS is required with this host and could not be had (RFC 3207 §4, RFC 8314 §5): deferred, never sent in clear. */
export function tlsRequiredOutcome(peer: Peer, text: string): RecipientOutcome {
  return localOutcome('transient', 451, '4.7.5', text, peer.host);
}

/** A REQUIRETLS message cannot be sent with the TLS it needs (RFC 8689 §4.2.1): it bounces with 5.7.10, never goes in clear. */
export function requireTlsRefusedOutcome(text: string, remoteMta?: string): RecipientOutcome {
  return localOutcome('permanent', 550, '5.7.10', `REQUIRETLS: ${text}; not sent`, remoteMta);
}

/** The host did not offer REQUIRETLS after STARTTLS (RFC 8689 §4.2.1 step 4): 5.7.30 REQUIRETLS support required. */
export function requireTlsNotOfferedOutcome(peer: Peer): RecipientOutcome {
  return localOutcome('permanent', 550, '5.7.30', `REQUIRETLS: ${describePeer(peer)} does not offer REQUIRETLS after STARTTLS; not sent`, peer.host);
}

export function abortedOutcome(): RecipientOutcome {
  return localOutcome('transient', 451, '4.3.2', 'delivery interrupted: shutting down');
}

/** Every recipient gets the same outcome. */
export function allRecipients(recipients: readonly string[], outcome: RecipientOutcome): Map<string, RecipientOutcome> {
  return new Map(recipients.map((recipient) => [recipient, outcome]));
}
