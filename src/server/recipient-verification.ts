// The replies to a verified RCPT (Postfix reject_unverified_recipient style):
// unknown user 550 5.1.1, next hop unavailable 450 4.1.1, each naming the
// recipient (RFC 3463 X.1.1 "bad destination mailbox address").

import type { Mailbox } from '../smtp/address.js';
import { withText, type Reply } from '../smtp/reply.js';
import { Replies } from '../smtp/replies.js';
import type { RecipientToVerify, Verification } from '../verify/types.js';

/** A refused recipient: the reply and the fixed reason counted in `outpost_messages_rejected_total`. */
export interface VerificationRefusal {
  readonly reply: Reply;
  readonly reason: 'unknown-recipient' | 'unverified-recipient';
}

/** What the verifier is asked about a parsed recipient in a local domain. */
export function recipientToVerify(recipient: Mailbox): RecipientToVerify {
  return { address: recipient.address, localPart: recipient.localPart, domain: recipient.canonicalDomain ?? recipient.domain.toLowerCase() };
}

/** The refusal a verification calls for, or undefined when the recipient is accepted. */
export function verificationRefusal(recipient: Mailbox, verification: Verification): VerificationRefusal | undefined {
  const named = (base: Reply): Reply => withText(base, `<${recipient.address}>: ${base.lines.join(' ')}`);
  switch (verification.decision) {
    case 'accept':
      return undefined;
    case 'reject':
      return { reply: named(verification.source === 'list' ? Replies.recipientNotListed : Replies.recipientUnknown), reason: 'unknown-recipient' };
    case 'defer':
      return { reply: named(Replies.recipientUnverified), reason: 'unverified-recipient' };
  }
}
