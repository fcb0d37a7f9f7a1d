// BDAT sequencing in one session (RFC 3030 §2, §4): decides, before a chunk's
// octets are read, whether they go into the message or are read and discarded
// under a refusal, and keeps a failed transaction failed until BDAT LAST or
// RSET. Pure: the session reads the octets, stores them and sends the replies.

import { parseBdatArgument } from '../smtp/bdat-command.js';
import { withText, type Reply } from '../smtp/reply.js';
import { Replies } from '../smtp/replies.js';
import type { SessionState, Transaction } from './commands.js';

/**
 * Refused chunks are read and thrown away to stay in step with a pipelining
 * client, up to this many times maxMessageBytes per transaction (counting what
 * was accepted); a refused chunk beyond that ends the connection unread
 * instead, as Postfix does (smtpd skip_bdat, the same factor).
 */
export const MAX_DISCARD_FACTOR = 1.5;

/** The BDAT state of a transaction, set by its first BDAT (its data then comes only in chunks). */
export interface ChunkingProgress {
  /** Declared octets of the chunks taken into the message. */
  acceptedOctets: number;
  /** Declared octets of all of the transaction's chunks, taken or discarded. */
  takenOctets: number;
  /** The refusal that failed the transaction: its later chunks are discarded and answered with it. */
  failure: Reply | undefined;
}

export type ChunkPlan =
  /** Read `sizeOctets` octets into the message; LAST then commits it. */
  | { readonly kind: 'take'; readonly sizeOctets: number; readonly last: boolean }
  /** Read `sizeOctets` octets, discard them, then answer `reply` (counted as an error when `firstRefusal`). */
  | { readonly kind: 'discard'; readonly sizeOctets: number; readonly last: boolean; readonly reply: Reply; readonly firstRefusal: boolean }
  /** The octets cannot or will not be read: answer `reply` and end the connection. */
  | { readonly kind: 'close'; readonly reply: Reply; readonly reason: 'unreadable-size' | 'discard-limit' };

export interface ChunkLimits {
  readonly maxMessageBytes: number;
  /** The spool disk is below its reserve (checked at the first chunk, as DATA does). */
  belowDiskReserve(): boolean;
}

/** RFC 3030 §2-§4: what to do with the chunk announced by `BDAT <argument>`. */
export function planChunk(argument: string, state: SessionState, limits: ChunkLimits): ChunkPlan {
  const parsed = parseBdatArgument(argument);
  if (parsed.kind === 'unreadable-size') return { kind: 'close', reply: Replies.bdatSizeUnreadable, reason: 'unreadable-size' };
  const { sizeOctets } = parsed;
  const last = parsed.kind === 'chunk' && parsed.last;
  const transaction = state.transaction;
  const refuse = (reply: Reply): ChunkPlan => refuseChunk(state, { sizeOctets, last }, reply, limits);
  if (parsed.kind === 'bad-argument') return refuse(Replies.bdatSyntax);
  if (transaction === undefined) return refuse(Replies.needMail);
  const progress = transaction.chunking;
  if (progress?.failure !== undefined) return refuse(progress.failure);
  if (transaction.recipients.length === 0) return refuse(Replies.noValidRecipients);
  if (progress === undefined && limits.belowDiskReserve()) return refuse(Replies.diskReserveReached);
  // Postfix's rule: refused at the chunk that would pass the limit, before its octets are read.
  if ((progress?.acceptedOctets ?? 0) + sizeOctets > limits.maxMessageBytes) return refuse(Replies.messageTooBig);
  const started = progress ?? (transaction.chunking = { acceptedOctets: 0, takenOctets: 0, failure: undefined });
  started.acceptedOctets += sizeOctets;
  started.takenOctets += sizeOctets;
  return { kind: 'take', sizeOctets, last };
}

/**
 * Refuses a chunk whose octets will be read and discarded (the session also
 * uses it when the spool cannot take the first chunk). The transaction, if
 * any, is failed; a refused LAST ends it, as RSET would.
 */
export function refuseChunk(state: SessionState, chunk: { readonly sizeOctets: number; readonly last: boolean }, reply: Reply, limits: Pick<ChunkLimits, 'maxMessageBytes'>): ChunkPlan {
  const transaction = state.transaction;
  const firstRefusal = transaction?.chunking?.failure === undefined;
  const progress = transaction === undefined ? undefined : failTransaction(transaction, reply);
  const takenOctets = (progress?.takenOctets ?? 0) + chunk.sizeOctets;
  if (progress !== undefined) progress.takenOctets = takenOctets;
  if (chunk.last) state.transaction = undefined;
  if (takenOctets > MAX_DISCARD_FACTOR * limits.maxMessageBytes) return { kind: 'close', reply, reason: 'discard-limit' };
  const answer = firstRefusal ? reply : withText(reply, `${reply.lines.join(' ')} (chunk of ${chunk.sizeOctets} octets discarded)`);
  return { kind: 'discard', sizeOctets: chunk.sizeOctets, last: chunk.last, reply: answer, firstRefusal };
}

/** Marks the transaction failed by `reply` unless an earlier refusal already did. */
function failTransaction(transaction: Transaction, reply: Reply): ChunkingProgress {
  const progress = transaction.chunking ?? (transaction.chunking = { acceptedOctets: 0, takenOctets: 0, failure: undefined });
  progress.failure ??= reply;
  return progress;
}
