// What a session reports for metrics, and which refusals count as rejected
// messages (by a fixed reason name, never client text).

import type { ListenerMode } from '../config/types.js';
import type { Reply } from '../smtp/reply.js';
import { Replies } from '../smtp/replies.js';

/** Counts for metrics (the server does not know how they are kept). */
export interface SessionObserver {
  sessionStarted(mode: ListenerMode): void;
  sessionEnded(): void;
  messageAccepted(mode: ListenerMode): void;
  /** A MAIL/RCPT refused by policy or a message refused after DATA, by a fixed reason name. */
  messageRejected(reason: string): void;
  tlsEstablished(): void;
  authFailed(): void;
}

/** Policy and limit replies counted as rejections, by reason. */
const REJECTION_REASONS = new Map<Reply, string>([
  [Replies.relayDenied, 'relay-denied'],
  [Replies.spoofedSender, 'spoofed-sender'],
  [Replies.senderNotOwned, 'sender-not-owned'],
  [Replies.authRequired, 'auth-required'],
  [Replies.tooManyRecipients, 'too-many-recipients'],
  [Replies.messageTooBig, 'too-big'],
  [Replies.utf8NotDeclared, 'utf8-not-declared'],
  [Replies.diskReserveReached, 'disk-reserve'],
]);

/** The rejection reason of a policy or limit reply, if it is one. */
export function rejectionReason(reply: Reply): string | undefined {
  return REJECTION_REASONS.get(reply);
}
