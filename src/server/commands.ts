// The SMTP command handlers of one session (RFC 5321 §4.1.1, §4.1.4 sequencing,
// RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 6531 SMTPUTF8, RFC 2920 PIPELINING,
// RFC 3030 CHUNKING: BDAT is planned in chunking.ts; RFC 8689 REQUIRETLS: offered and accepted only inside TLS).
// Each handler takes the session state and returns a Reply; no I/O happens here.

import type { ListenerMode } from '../config/types.js';
import { judgeRecipient, judgeSender, type RecipientVerdict, type SenderVerdict } from '../policy/relay.js';
import { needsRecipientVerification } from '../policy/recipient-verification.js';
import { mailboxKey, parseMailFromArgument, parseRcptToArgument, relayDomain, type Mailbox, type PathError } from '../smtp/address.js';
import { interpretMailParams, interpretRcptParams } from '../smtp/esmtp-params.js';
import { reply, withText, type Reply } from '../smtp/reply.js';
import { Replies } from '../smtp/replies.js';
import { planChunk, type ChunkingProgress, type ChunkPlan } from './chunking.js';

/** What a handler needs to know about the server and the client. */
export interface CommandContext {
  readonly hostname: string;
  readonly mode: ListenerMode;
  readonly clientAddress: string;
  readonly clientTrusted: boolean;
  readonly maxMessageBytes: number;
  readonly maxRecipients: number;
  /** Spool disk reserve (`limits.minFreeSpace`). */
  readonly minFreeBytes: number;
  /** Free bytes on the spool's disk, read by the session just before MAIL and DATA; undefined when unknown (no check). */
  freeSpaceBytes(): number | undefined;
  isLocalDomain(canonicalDomain: string): boolean;
  /** STARTTLS may be offered now: a certificate is configured and TLS is not active yet. */
  tlsOffered(): boolean;
  tlsActive(): boolean;
  /** A users file is configured (AUTH exists on this server). */
  authConfigured(): boolean;
  /** A recipient verifier is configured: RCPT for a local recipient from an unauthorized `mta` client waits for it. */
  readonly verifiesRecipients: boolean;
  /** Told each verdict of the relay rule at MAIL and RCPT, accepted or refused (for the log). */
  relayDecision?(decision: RelayDecision): void;
  /** Sending policy at MAIL once the relay rule accepted (sender quotas): a refusal or undefined. */
  senderRefusal?(authenticatedUser: string | null): Reply | undefined;
  /** Sending policy at RCPT for an accepted recipient outside the local domains (suppression list): a refusal or undefined. */
  recipientRefusal?(recipient: Mailbox, authenticatedUser: string | null): Reply | undefined;
}

/** One verdict of the relay rule (policy/relay.ts): the envelope it judged and why it refused. */
export interface RelayDecision {
  readonly command: 'MAIL' | 'RCPT';
  readonly sender: Mailbox | null;
  readonly recipient: Mailbox | undefined;
  readonly verdict: SenderVerdict | RecipientVerdict;
}

export interface Transaction {
  readonly sender: Mailbox | null;
  readonly declaredSizeBytes: number | undefined;
  readonly smtputf8: boolean;
  /** MAIL FROM carried REQUIRETLS (RFC 8689 §4.1): the message is tagged so and relayed only over verified TLS. */
  readonly requireTls: boolean;
  readonly recipients: Mailbox[];
  /** `mailboxKey` of each accepted recipient: a repeated RCPT is answered 250 but stored and counted once. */
  readonly recipientKeys: Set<string>;
  /** Set by the first BDAT (RFC 3030): from then on the data comes only in chunks. */
  chunking?: ChunkingProgress;
}

export interface SessionState {
  helo: string | undefined;
  esmtp: boolean;
  authenticatedUser: string | null;
  transaction: Transaction | undefined;
}

export type CommandOutcome =
  | { readonly kind: 'reply'; readonly reply: Reply }
  | { readonly kind: 'close'; readonly reply: Reply }
  | { readonly kind: 'start-data'; readonly transaction: Transaction }
  | { readonly kind: 'chunk'; readonly plan: ChunkPlan }
  | { readonly kind: 'starttls' }
  | { readonly kind: 'auth'; readonly argument: string }
  /** The recipient passed the relay rule and must be verified; the session adds it with `addRecipient` if it passes. */
  | { readonly kind: 'verify-recipient'; readonly recipient: Mailbox };

const replyWith = (r: Reply): CommandOutcome => ({ kind: 'reply', reply: r });

/** Commands we know but do not offer; anything else (XCLIENT, XFORWARD, PROXY, ...) is unrecognized. */
const KNOWN_NOT_OFFERED = new Set(['EXPN', 'TURN', 'ETRN', 'ATRN', 'SEND', 'SOML', 'SAML']);
/** An HTTP client talking to the SMTP port (cross-protocol attack): hang up, as Postfix does. */
const FORBIDDEN = new Set(['GET', 'POST', 'CONNECT', 'HEAD', 'PUT']);

export function ehloReply(context: CommandContext, helo: string): Reply {
  const extensions = ['PIPELINING', `SIZE ${context.maxMessageBytes}`, '8BITMIME', 'ENHANCEDSTATUSCODES', 'SMTPUTF8', 'CHUNKING'];
  if (context.tlsOffered()) extensions.push('STARTTLS');
  // RFC 4954 §4 / RFC 8314: AUTH only inside TLS, never in clear.
  if (context.authConfigured() && context.tlsActive()) extensions.push('AUTH PLAIN LOGIN');
  // RFC 8689 §2: the MAIL option is only valid in a TLS session, where the server advertises it.
  if (context.tlsActive()) extensions.push('REQUIRETLS');
  return reply(250, undefined, `${context.hostname} Hello ${helo}`, ...extensions);
}

export function handleCommand(line: string, state: SessionState, context: CommandContext): CommandOutcome {
  const space = line.indexOf(' ');
  const verb = (space === -1 ? line : line.slice(0, space)).toUpperCase();
  const argument = space === -1 ? '' : line.slice(space + 1);
  switch (verb) {
    case 'EHLO':
    case 'HELO':
      return greet(verb === 'EHLO', argument.trim(), state, context);
    case 'MAIL':
      return mail(argument, state, context);
    case 'RCPT':
      return rcpt(argument, state, context);
    case 'DATA':
      return data(argument, state, context);
    case 'BDAT':
      return { kind: 'chunk', plan: planChunk(argument, state, { maxMessageBytes: context.maxMessageBytes, belowDiskReserve: () => belowDiskReserve(context, 0) }) };
    case 'RSET':
      if (argument.trim() !== '') return replyWith(Replies.syntaxError);
      state.transaction = undefined;
      return replyWith(Replies.resetOk);
    case 'NOOP':
      return replyWith(Replies.ok);
    case 'QUIT':
      return { kind: 'close', reply: withText(Replies.closing, `${context.hostname} closing connection`) };
    case 'VRFY':
      return replyWith(argument.trim() === '' ? Replies.syntaxError : Replies.cannotVerify);
    case 'HELP':
      return replyWith(Replies.help);
    case 'STARTTLS':
      return startTls(argument, state, context);
    case 'AUTH':
      return auth(argument, state, context);
    default:
      if (FORBIDDEN.has(verb)) return { kind: 'close', reply: reply(221, '2.7.0', 'Not an HTTP server, closing connection') };
      return replyWith(KNOWN_NOT_OFFERED.has(verb) ? Replies.notImplemented : Replies.commandUnrecognized);
  }
}

function greet(esmtp: boolean, helo: string, state: SessionState, context: CommandContext): CommandOutcome {
  if (helo === '' || /\s/.test(helo)) return replyWith(withText(Replies.syntaxError, `Syntax: ${esmtp ? 'EHLO' : 'HELO'} hostname`));
  state.helo = helo;
  state.esmtp = esmtp;
  state.transaction = undefined;
  return replyWith(esmtp ? ehloReply(context, helo) : reply(250, undefined, `${context.hostname} Hello ${helo}`));
}

function pathErrorReply(error: PathError, addressReply: Reply): Reply {
  if (error === 'too-long') return Replies.pathTooLong;
  return error === 'syntax' ? Replies.syntaxError : addressReply;
}

function relayClient(state: SessionState, context: CommandContext) {
  return { mode: context.mode, trusted: context.clientTrusted, authenticatedUser: state.authenticatedUser };
}

function senderRefusal(verdict: Exclude<SenderVerdict, { accept: true }>): Reply {
  switch (verdict.reason) {
    case 'auth-required':
      return Replies.authRequired;
    case 'sender-not-owned':
      return Replies.senderNotOwned;
    case 'spoofed-local-sender':
      return Replies.spoofedSender;
  }
}

function recipientRefusal(verdict: Exclude<RecipientVerdict, { accept: true }>): Reply {
  return verdict.reason === 'auth-required' ? Replies.authRequired : Replies.relayDenied;
}

function mail(argument: string, state: SessionState, context: CommandContext): CommandOutcome {
  if (state.helo === undefined) return replyWith(Replies.heloFirst);
  if (state.transaction !== undefined) return replyWith(Replies.nestedMail);
  const parsed = parseMailFromArgument(argument);
  if (!parsed.ok) return replyWith(pathErrorReply(parsed.error, Replies.badSenderAddress));
  const params = interpretMailParams(parsed.params);
  if (!params.ok) {
    return replyWith(params.error === 'unknown-param' ? Replies.unknownParameter : withText(Replies.syntaxError, `Bad ${params.keyword} parameter`));
  }
  if (!state.esmtp && parsed.params.length > 0) return replyWith(Replies.unknownParameter);
  if (params.requireTls && !context.tlsActive()) return replyWith(Replies.requireTlsNeedsTls);
  const sender = parsed.path;
  if (sender !== null && sender.isUtf8 && !params.smtputf8) return replyWith(Replies.utf8NotDeclared);
  if (params.sizeBytes !== undefined && params.sizeBytes > context.maxMessageBytes) return replyWith(Replies.messageTooBig);
  if (belowDiskReserve(context, params.sizeBytes ?? 0)) return replyWith(Replies.diskReserveReached);
  const verdict = judgeSender(relayClient(state, context), relayDomain(sender), (domain) => context.isLocalDomain(domain));
  context.relayDecision?.({ command: 'MAIL', sender, recipient: undefined, verdict });
  if (!verdict.accept) return replyWith(senderRefusal(verdict));
  const policyRefusal = context.senderRefusal?.(state.authenticatedUser);
  if (policyRefusal !== undefined) return replyWith(policyRefusal);
  state.transaction = {
    sender,
    declaredSizeBytes: params.sizeBytes,
    smtputf8: params.smtputf8,
    requireTls: params.requireTls,
    recipients: [],
    recipientKeys: new Set(),
  };
  return replyWith(Replies.senderOk);
}

function rcpt(argument: string, state: SessionState, context: CommandContext): CommandOutcome {
  const transaction = state.transaction;
  if (transaction === undefined) return replyWith(Replies.needMail);
  if (transaction.chunking !== undefined) return replyWith(Replies.rcptAfterBdat);
  const parsed = parseRcptToArgument(argument);
  if (!parsed.ok) return replyWith(pathErrorReply(parsed.error, Replies.badRecipientAddress));
  const params = interpretRcptParams(parsed.params);
  if (!params.ok) return replyWith(Replies.unknownParameter);
  const recipient = parsed.path;
  if (recipient.isUtf8 && !transaction.smtputf8) return replyWith(Replies.utf8NotDeclared);
  const stored = postmasterFallback(recipient, context);
  const key = mailboxKey(stored);
  // Accepted before under the same client, sender and policy: delivered once, counted once.
  if (transaction.recipientKeys.has(key)) return replyWith(Replies.duplicateRecipient);
  if (transaction.recipients.length >= context.maxRecipients) return replyWith(Replies.tooManyRecipients);
  const verdict = judgeRecipient(
    relayClient(state, context),
    relayDomain(transaction.sender),
    relayDomain(recipient),
    (domain) => context.isLocalDomain(domain),
  );
  context.relayDecision?.({ command: 'RCPT', sender: transaction.sender, recipient, verdict });
  if (!verdict.accept) return replyWith(recipientRefusal(verdict));
  const storedDomain = relayDomain(stored);
  const policyRefusal = storedDomain === null || context.isLocalDomain(storedDomain) ? undefined : context.recipientRefusal?.(stored, state.authenticatedUser);
  if (policyRefusal !== undefined) return replyWith(policyRefusal);
  if (context.verifiesRecipients && needsRecipientVerification(relayClient(state, context), stored.localPart, relayDomain(stored), (domain) => context.isLocalDomain(domain))) {
    return { kind: 'verify-recipient', recipient: stored };
  }
  return replyWith(addRecipient(transaction, stored));
}

/** Adds an accepted recipient to the transaction (stored and counted once). */
export function addRecipient(transaction: Transaction, recipient: Mailbox): Reply {
  transaction.recipientKeys.add(mailboxKey(recipient));
  transaction.recipients.push(recipient);
  return Replies.recipientOk;
}

/**
 * RFC 5321 §4.5.1: "<Postmaster>" without a domain must be accepted. A relay
 * has no mailboxes of its own, so it goes to postmaster at this host's name.
 */
function postmasterFallback(recipient: Mailbox, context: CommandContext): Mailbox {
  if (recipient.domain !== '') return recipient;
  const domain = context.hostname.toLowerCase();
  return { ...recipient, localPart: 'postmaster', domain, canonicalDomain: domain, address: `postmaster@${domain}` };
}

/** RFC 3207 §4: STARTTLS takes no argument and is offered once; not in the middle of a transaction. */
function startTls(argument: string, state: SessionState, context: CommandContext): CommandOutcome {
  if (context.tlsActive()) return replyWith(Replies.tlsAlreadyActive);
  if (!context.tlsOffered()) return replyWith(Replies.notImplemented);
  if (argument.trim() !== '') return replyWith(Replies.syntaxError);
  if (state.transaction !== undefined) return replyWith(Replies.transactionInProgress);
  return { kind: 'starttls' };
}

/** RFC 4954 §4: after EHLO, once, outside a transaction, and (RFC 8314) only over TLS. */
function auth(argument: string, state: SessionState, context: CommandContext): CommandOutcome {
  if (!context.authConfigured()) return replyWith(Replies.notImplemented);
  if (!context.tlsActive()) return replyWith(Replies.encryptionRequired);
  if (state.helo === undefined || !state.esmtp) return replyWith(Replies.heloFirst);
  if (state.authenticatedUser !== null) return replyWith(Replies.authAlreadyDone);
  if (state.transaction !== undefined) return replyWith(Replies.transactionInProgress);
  if (argument.trim() === '') return replyWith(Replies.syntaxError);
  return { kind: 'auth', argument: argument.trim() };
}

function data(argument: string, state: SessionState, context: CommandContext): CommandOutcome {
  if (argument.trim() !== '') return replyWith(Replies.syntaxError);
  const transaction = state.transaction;
  if (transaction === undefined) return replyWith(Replies.needMail);
  if (transaction.chunking !== undefined) return replyWith(Replies.dataAfterBdat);
  if (transaction.recipients.length === 0) return replyWith(Replies.noValidRecipients);
  if (belowDiskReserve(context, 0)) return replyWith(Replies.diskReserveReached);
  return { kind: 'start-data', transaction };
}

/** RFC 1870 §6.1 / RFC 3463 4.3.1: taking `incomingBytes` more would leave less than the reserve free. */
function belowDiskReserve(context: CommandContext, incomingBytes: number): boolean {
  const freeBytes = context.freeSpaceBytes();
  return freeBytes !== undefined && freeBytes - incomingBytes < context.minFreeBytes;
}
