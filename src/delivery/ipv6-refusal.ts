// Receivers that refuse mail because of the sending IPv6 address (Gmail's
// "550-5.7.25 ... does not have a PTR record", "IPv6 sending guidelines"): such
// a refusal blames our address, not the message, so IPv4 is tried at once.

import { isIP } from 'node:net';
import type { RecipientOutcome } from './types.js';

/** RFC 7372 §3.3: 5.7.25 "Reverse DNS validation failed". */
const REVERSE_DNS_FAILED = '5.7.25';

/** True when a remote 5xx over IPv6 says it is the IPv6 address (or its PTR) that is refused. */
export function blamesIpv6Sender(peerAddress: string, outcome: RecipientOutcome): boolean {
  if (isIP(peerAddress) !== 6 || outcome.kind !== 'permanent' || !outcome.remote) return false;
  return outcome.status === REVERSE_DNS_FAILED || /\bIPv6\b/i.test(outcome.reply);
}

/**
 * A message's outcomes from a transaction over IPv6 that should be retried
 * over IPv4: some recipient refused for the IPv6 address and none delivered
 * (a retry must not send anyone the message twice).
 */
export function retryOverIpv4(peerAddress: string, outcomes: ReadonlyMap<string, RecipientOutcome>): RecipientOutcome | undefined {
  const all = [...outcomes.values()];
  if (all.some((outcome) => outcome.kind === 'delivered')) return undefined;
  return all.find((outcome) => blamesIpv6Sender(peerAddress, outcome));
}
