// The server's seam for sending policy kept outside it (main.ts wires the
// implementations): sender quotas at MAIL and the suppression list at RCPT.

import type { Mailbox } from '../smtp/address.js';
import type { Reply } from '../smtp/reply.js';

/** Who is sending: the AUTH user (null without AUTH), the client's address and whether it is in trustedNetworks. */
export interface SenderIdentity {
  readonly user: string | null;
  readonly clientAddress: string;
  readonly trusted: boolean;
}

export interface SendingGuards {
  /** At MAIL, after the relay rule accepted the sender: a refusal (e.g. 450 4.7.1 quota reached) or undefined. */
  senderRefusal?(sender: SenderIdentity): Reply | undefined;
  /** At RCPT, for a recipient outside the local domains that the relay rule accepted: a refusal (e.g. 550 5.1.1 suppressed) or undefined. */
  recipientRefusal?(recipient: Mailbox, sender: SenderIdentity): Reply | undefined;
  /** A message was queued (250 after DATA or BDAT LAST). */
  messageQueued?(sender: SenderIdentity): void;
}
