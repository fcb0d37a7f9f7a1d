// Says in an operator's words why a recipient's attempt did not deliver, from
// the reply and enhanced status kept in the spool (RFC 3463 classes: 4.4.x
// network/routing, 4.7.x security/policy, X.2.2 mailbox full; RFC 6647 greylisting).

import { throttleOf } from './throttle-reply.js';

/** A fixed short name for scripts (`outpost queue why --json`); never renamed. */
export type ReasonCode =
  | 'delivered'
  | 'greylisting'
  | 'provider-throttling'
  | 'quota'
  | 'tls-policy'
  | 'dns-temporary'
  | 'unreachable'
  | 'connection-lost'
  | 'local-error'
  | 'shutdown'
  | 'expired'
  | 'cancelled'
  | 'remote-temporary'
  | 'remote-permanent'
  | 'permanent';

export interface ReplyReason {
  readonly reason: ReasonCode;
  /** One sentence for the operator. */
  readonly explanation: string;
}

/** What the spool keeps of one attempt (RecipientAttempt): the reply line, its status and the MX that gave it (remote replies only). */
export interface StoredReply {
  readonly reply: string;
  readonly status?: string | undefined;
  readonly mx?: string | undefined;
}

const GREYLIST_TEXT = /grey ?list|gray ?list|greylisted|try again in \d+|please retry later|temporarily rejected|deferred by policy/i;
const QUOTA_TEXT = /quota|mailbox (?:is )?full|over (?:the )?(?:storage|limit)|insufficient storage/i;
const TLS_TEXT = /\bTLS\b|MTA-STS|DANE|STARTTLS|certificate/i;

function replyCode(reply: string): number | undefined {
  const match = /^([2-5]\d\d)(?:[ -]|$)/.exec(reply);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

function statusOf(stored: StoredReply): string {
  if (stored.status !== undefined) return stored.status;
  const match = /^[2-5]\d\d[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(stored.reply);
  return match?.[1] ?? '';
}

/** The reason one stored attempt gives; pure, table-tested (test/delivery/reply-reason.test.ts). */
export function reasonOfReply(stored: StoredReply): ReplyReason {
  const code = replyCode(stored.reply);
  const status = statusOf(stored);
  const remote = stored.mx !== undefined;
  const host = stored.mx ?? 'the remote server';
  if ((code !== undefined && code < 400) || status.startsWith('2.')) return { reason: 'delivered', explanation: 'delivered' };
  if (status === '4.4.7') return { reason: 'expired', explanation: 'the message stayed queued for delivery.maxQueueLifetime and was given up (4.4.7)' };
  if (status === '5.0.0' && /cancelled by the operator/.test(stored.reply)) return { reason: 'cancelled', explanation: 'an operator bounced the message (outpost queue bounce)' };
  const transient = code === undefined ? status.startsWith('4.') : code < 500;
  if (!transient) {
    if (status === '5.2.2' || QUOTA_TEXT.test(stored.reply)) return { reason: 'quota', explanation: `${host} refused for good: the mailbox is full (${status || code})` };
    if (remote) return { reason: 'remote-permanent', explanation: `${host} refused the recipient for good (${status || code}); a DSN reports it to the sender` };
    return { reason: 'permanent', explanation: `outpost gave up on the recipient (${status || code}); a DSN reports it to the sender` };
  }
  if (remote) return remoteTransient(stored, code ?? 451, status, host);
  return localTransient(stored, status);
}

function remoteTransient(stored: StoredReply, code: number, status: string, host: string): ReplyReason {
  const throttle = throttleOf({ kind: 'transient', reply: stored.reply, status, remote: true, remoteMta: stored.mx });
  if (throttle !== undefined) {
    return { reason: 'provider-throttling', explanation: `${host} asked outpost to slow down (${throttle.reason}, ${status}); outpost backs off that provider and retries` };
  }
  if ((status === '4.7.1' || status === '4.7.0' || status === '') && (code === 450 || code === 451) && GREYLIST_TEXT.test(stored.reply)) {
    return greylisting(host, status);
  }
  if (status === '4.7.1' && (code === 450 || code === 451) && !QUOTA_TEXT.test(stored.reply)) return greylisting(host, status);
  if (status === '4.2.2' || code === 452 || QUOTA_TEXT.test(stored.reply)) {
    return { reason: 'quota', explanation: `${host} is over a quota or out of storage (${status || code}); outpost retries on the schedule` };
  }
  if (status === '4.7.5' || (status.startsWith('4.7.') && TLS_TEXT.test(stored.reply))) return tlsPolicy(status);
  if (status === '4.4.2') return { reason: 'connection-lost', explanation: `the connection to ${host} was lost or timed out mid-session (4.4.2); outpost retries` };
  return { reason: 'remote-temporary', explanation: `${host} deferred the recipient (${status || code}); outpost retries on the schedule` };
}

function greylisting(host: string, status: string): ReplyReason {
  return {
    reason: 'greylisting',
    explanation: `${host} greylists new senders (${status || '4xx'}): it accepts the same message when it comes back after a few minutes; the next attempt normally delivers`,
  };
}

function tlsPolicy(status: string): ReplyReason {
  return {
    reason: 'tls-policy',
    explanation: `no TLS connection meeting the destination's policy (MTA-STS, DANE or delivery.tlsPolicy) could be made (${status}); outpost never falls back to plaintext and retries`,
  };
}

function localTransient(stored: StoredReply, status: string): ReplyReason {
  if (status === '4.7.5') return tlsPolicy(status);
  if (status === '4.4.3') return { reason: 'dns-temporary', explanation: 'DNS lookup of the destination failed for now or gave no usable server address (4.4.3); outpost retries' };
  if (status === '4.4.1') return { reason: 'unreachable', explanation: 'no mail server of the destination answered: connection refused or timed out (4.4.1); outpost retries' };
  if (status === '4.4.2') return { reason: 'connection-lost', explanation: 'the connection was lost or timed out mid-session (4.4.2); outpost retries' };
  if (status === '4.3.2') return { reason: 'shutdown', explanation: 'outpost was shutting down during the attempt (4.3.2); it retries after restart' };
  if (status.startsWith('4.3.') || status === '4.5.0') return { reason: 'local-error', explanation: `outpost hit an error during the attempt (${status}): ${stored.reply.slice(4)}` };
  return { reason: 'remote-temporary', explanation: `the attempt failed for now (${status || 'temporary'}); outpost retries on the schedule` };
}
