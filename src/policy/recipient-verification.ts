// Which recipients are verified with their next hop at RCPT (no backscatter,
// Postfix BACKSCATTER_README): local-domain recipients from unauthorized
// clients on `mta`. Pure: the verification itself is not done here.

import type { RelayClient } from './relay.js';

/** RFC 5321 §4.5.1: postmaster at a domain must always be accepted; ASCII case-insensitive. */
const POSTMASTER = /^postmaster$/i;

/**
 * True when RCPT must wait for verification: the listener is `mta`, the client
 * is neither trusted nor authenticated (authorized clients are never probed),
 * and the recipient is in a local domain and is not its postmaster. `recipientDomain`
 * is `relayDomain` of the recipient (null for `<Postmaster>`; an address literal is never local).
 */
export function needsRecipientVerification(
  client: RelayClient,
  recipientLocalPart: string,
  recipientDomain: string | null,
  isLocalDomain: (canonicalDomain: string) => boolean,
): boolean {
  if (client.mode !== 'mta' || client.trusted || client.authenticatedUser !== null) return false;
  if (recipientDomain === null || recipientDomain.startsWith('[') || POSTMASTER.test(recipientLocalPart)) return false;
  return isLocalDomain(recipientDomain);
}
