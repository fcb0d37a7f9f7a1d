// One mail transaction on an open session: MAIL, RCPTs, DATA, the body and
// the final dot (RFC 5321 §3.3), pipelined when offered (RFC 2920 §3.1), with
// SIZE (RFC 1870), BODY=8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531) and REQUIRETLS (RFC 8689 §4.2.1) declared.

import type { Reply } from '../smtp/reply.js';
import type { Extensions } from './extensions.js';
import { allRecipients, describePeer, localOutcome, replyOutcome, requireTlsNotOfferedOutcome, sessionFailureOutcome, skippedHostOutcome, type Peer } from './outcomes.js';
import { SessionError } from './session-error.js';
import type { SmtpConnection } from './smtp-connection.js';
import type { OutboundMessage, RecipientOutcome } from './types.js';

export interface TransactionTimeouts {
  readonly commandTimeoutMs: number;
  readonly dataInitTimeoutMs: number;
  readonly dataBlockTimeoutMs: number;
  readonly dataDoneTimeoutMs: number;
}

export type TransactionResult =
  /** The host answered for these recipients: the outcomes stand for this attempt. */
  | { readonly kind: 'final'; readonly outcomes: ReadonlyMap<string, RecipientOutcome>; readonly summary: string; readonly sessionUsable: boolean }
  /** The host did not get as far as answering a RCPT: try the next one; `outcome` if none does better. */
  | { readonly kind: 'skip-host'; readonly outcome: RecipientOutcome; readonly sessionUsable: boolean }
  /** The RSET in front of it (a reused session) failed: nothing was attempted, the session is done. */
  | { readonly kind: 'reset-failed'; readonly sessionUsable: false };

export interface TransactionOptions {
  /** Send RSET first (a session that carried a message before), in the pipelined group when PIPELINING is offered. */
  readonly reset?: boolean;
}

/** What the server said, as far as the session got. */
export interface TransactionReplies {
  /** The leading RSET was refused or went unanswered. */
  resetFailed?: boolean;
  mail: Reply | undefined;
  readonly rcpt: Map<string, Reply>;
  data: Reply | undefined;
  dot: Reply | undefined;
  failure: SessionError | undefined;
}

const SERVICE_CLOSING = 421;
const START_MAIL_INPUT = 354;

const isPositive = (reply: Reply): boolean => reply.code >= 200 && reply.code < 300;

function path(address: string): string {
  return `<${address}>`;
}

function mailCommand(message: OutboundMessage, extensions: Extensions): string {
  const params: string[] = [];
  if (extensions.size) params.push(`SIZE=${message.sizeBytes}`);
  if (message.eightBit && extensions.eightBitMime) params.push('BODY=8BITMIME');
  if (message.smtputf8) params.push('SMTPUTF8');
  if (message.tlsRequirement === 'requiretls') params.push('REQUIRETLS');
  return [`MAIL FROM:${path(message.from)}`, ...params].join(' ');
}

/**
 * Refusals we know before sending anything: SIZE too small (RFC 1870 §6), SMTPUTF8 missing (RFC 6531 §3.2),
 * REQUIRETLS missing (RFC 8689 §4.2.1; the transport leaves such a host before any transaction).
 */
function precheck(message: OutboundMessage, extensions: Extensions, peer: Peer): RecipientOutcome | undefined {
  if (extensions.maxSizeBytes !== undefined && message.sizeBytes > extensions.maxSizeBytes) {
    return localOutcome('permanent', 552, '5.3.4', `message size ${message.sizeBytes} exceeds size limit ${extensions.maxSizeBytes} of ${describePeer(peer)}`, peer.host);
  }
  if (message.smtputf8 && !extensions.smtpUtf8) {
    return localOutcome('permanent', 553, '5.6.7', `SMTPUTF8 is required, but was not offered by ${describePeer(peer)}`, peer.host);
  }
  if (message.tlsRequirement === 'requiretls' && !extensions.requireTls) return requireTlsNotOfferedOutcome(peer);
  return undefined;
}

async function collectReplies(connection: SmtpConnection, message: OutboundMessage, extensions: Extensions, timeouts: TransactionTimeouts, reset: boolean): Promise<TransactionReplies> {
  const replies: TransactionReplies = { mail: undefined, rcpt: new Map(), data: undefined, dot: undefined, failure: undefined };
  const mail = mailCommand(message, extensions);
  /** False until the leading RSET (if any) is answered 2xx. */
  let resetDone = !reset;
  try {
    if (reset && !extensions.pipelining) {
      resetDone = isPositive(await connection.command('RSET', timeouts.commandTimeoutMs, 'RSET'));
      if (!resetDone) {
        replies.resetFailed = true;
        return replies;
      }
    }
    if (extensions.pipelining) {
      // RSET may lead a pipelined group (RFC 2920 §3.1): one round trip for the reset and the envelope.
      connection.send([...(reset ? ['RSET'] : []), mail, ...message.recipients.map((recipient) => `RCPT TO:${path(recipient)}`), 'DATA'], reset ? 'RSET' : 'MAIL');
      if (reset) {
        resetDone = isPositive(await connection.readReply(timeouts.commandTimeoutMs, 'RSET'));
        if (!resetDone) {
          // The envelope's replies are still due: the session cannot go on, and nothing was attempted.
          replies.resetFailed = true;
          return replies;
        }
      }
      replies.mail = await connection.readReply(timeouts.commandTimeoutMs, 'MAIL');
      for (const recipient of message.recipients) replies.rcpt.set(recipient, await connection.readReply(timeouts.commandTimeoutMs, 'RCPT'));
      replies.data = await connection.readReply(timeouts.dataInitTimeoutMs, 'DATA');
    } else {
      replies.mail = await connection.command(mail, timeouts.commandTimeoutMs, 'MAIL');
      if (!isPositive(replies.mail)) return replies;
      for (const recipient of message.recipients) {
        const reply = await connection.command(`RCPT TO:${path(recipient)}`, timeouts.commandTimeoutMs, 'RCPT');
        replies.rcpt.set(recipient, reply);
        if (reply.code === SERVICE_CLOSING) return replies;
      }
      if (![...replies.rcpt.values()].some(isPositive)) return replies;
      replies.data = await connection.command('DATA', timeouts.dataInitTimeoutMs, 'DATA');
    }
    if (replies.data.code !== START_MAIL_INPUT) return replies;
    if (isPositive(replies.mail) && [...replies.rcpt.values()].some(isPositive)) {
      await connection.sendBody(() => message.openBody(), timeouts.dataBlockTimeoutMs, message.headerPrefix);
      replies.dot = await connection.readReply(timeouts.dataDoneTimeoutMs, 'end of data');
    } else {
      // RFC 2920 §3.1: DATA accepted with no valid recipient; end it empty and ignore the reply.
      connection.send(['.'], 'end of data');
      await connection.readReply(timeouts.dataDoneTimeoutMs, 'end of data');
    }
  } catch (error) {
    if (!(error instanceof SessionError)) throw error;
    replies.failure = error;
    // A session that went away while it idled fails at its RSET: the message was not attempted.
    if (!resetDone) replies.resetFailed = true;
  }
  return replies;
}

/** Outcome of a recipient the server accepted at RCPT: decided by DATA and the final dot. */
function acceptedOutcome(replies: TransactionReplies, peer: Peer): RecipientOutcome {
  const { data, dot, failure } = replies;
  if (data !== undefined && data.code !== START_MAIL_INPUT) {
    return data.code >= 400 ? replyOutcome(data, peer) : localOutcome('transient', 451, '4.5.0', `unexpected reply to DATA from ${describePeer(peer)}: ${data.code}`, peer.host);
  }
  if (dot !== undefined) {
    return dot.code >= 400 || isPositive(dot) ? replyOutcome(dot, peer) : localOutcome('transient', 451, '4.5.0', `unexpected reply to end of data from ${describePeer(peer)}: ${dot.code}`, peer.host);
  }
  return failure === undefined ? localOutcome('transient', 451, '4.5.0', `no reply to DATA from ${describePeer(peer)}`, peer.host) : sessionFailureOutcome(failure, peer);
}

/** A recipient not sent because the server closed the session (421) before it. */
function notSent(peer: Peer): RecipientOutcome {
  return localOutcome('transient', 451, '4.4.2', `${describePeer(peer)} closed the session before this recipient`, peer.host);
}

/** Decides per-recipient outcomes from the replies; pure. */
export function decideTransaction(message: OutboundMessage, replies: TransactionReplies, peer: Peer): TransactionResult {
  if (replies.resetFailed === true) return { kind: 'reset-failed', sessionUsable: false };
  const { mail, failure } = replies;
  const closing = [mail, replies.data, replies.dot, ...replies.rcpt.values()].some((reply) => reply?.code === SERVICE_CLOSING);
  const sessionUsable = failure === undefined && !closing;
  if (mail === undefined) return { kind: 'skip-host', outcome: sessionFailureOutcome(failure ?? new SessionError('protocol', 'MAIL', 'no reply to MAIL'), peer), sessionUsable };
  if (mail.code >= 500) return { kind: 'final', outcomes: allRecipients(message.recipients, replyOutcome(mail, peer)), summary: replyOutcome(mail, peer).reply, sessionUsable };
  if (!isPositive(mail)) {
    const outcome = mail.code >= 400 ? skippedHostOutcome(mail, peer) : localOutcome('transient', 451, '4.5.0', `unexpected reply to MAIL from ${describePeer(peer)}: ${mail.code}`, peer.host);
    return { kind: 'skip-host', outcome, sessionUsable: sessionUsable && mail.code >= 400 };
  }
  const answered = [...replies.rcpt.values()].some((reply) => reply.code !== SERVICE_CLOSING);
  if (!answered) {
    const closingReply = [...replies.rcpt.values()][0];
    const outcome = closingReply !== undefined ? skippedHostOutcome(closingReply, peer) : sessionFailureOutcome(failure ?? new SessionError('protocol', 'RCPT', 'no reply to RCPT'), peer);
    return { kind: 'skip-host', outcome, sessionUsable };
  }
  const accepted = acceptedOutcome(replies, peer);
  const outcomes = new Map<string, RecipientOutcome>();
  for (const recipient of message.recipients) {
    const reply = replies.rcpt.get(recipient);
    if (reply === undefined) outcomes.set(recipient, failure === undefined ? notSent(peer) : sessionFailureOutcome(failure, peer));
    else if (reply.code >= 400) outcomes.set(recipient, replyOutcome(reply, peer));
    else if (isPositive(reply)) outcomes.set(recipient, accepted);
    else outcomes.set(recipient, localOutcome('transient', 451, '4.5.0', `unexpected reply to RCPT from ${describePeer(peer)}: ${reply.code}`, peer.host));
  }
  return { kind: 'final', outcomes, summary: accepted.reply, sessionUsable: sessionUsable && (replies.data?.code !== START_MAIL_INPUT || replies.dot !== undefined) };
}

/** Runs one message's transaction on `connection`; never rejects for remote or network failures. */
export async function runTransaction(connection: SmtpConnection, message: OutboundMessage, extensions: Extensions, peer: Peer, timeouts: TransactionTimeouts, options: TransactionOptions = {}): Promise<TransactionResult> {
  const refused = precheck(message, extensions, peer);
  if (refused !== undefined) return { kind: 'final', outcomes: allRecipients(message.recipients, refused), summary: refused.reply, sessionUsable: true };
  return decideTransaction(message, await collectReplies(connection, message, extensions, timeouts, options.reset === true), peer);
}
