// The canonical form of an AUTH user name (an address, RFC 4954 §4 authcid): the local part
// exactly as given (local parts are case-sensitive, RFC 5321 §2.4), the domain lowercase A-labels.

import { canonicalDomain } from '../core/domain.js';

/** RFC 5321 §4.5.3.1.1. */
const MAX_LOCAL_PART_OCTETS = 64;
/** Whitespace and controls would break the one-line file format; ':' separates address and hash. */
const FORBIDDEN_IN_LOCAL_PART = /[\s\x00-\x1f\x7f:]/;

export type UserAddress = { ok: true; address: string; domain: string } | { ok: false; problem: string };

/**
 * `local@domain` with the domain canonical (`App@Example.ORG` -> `App@example.org`).
 * Address literals are refused: a user belongs to a local domain. A local part may not
 * start with '#' (such a line would read as a comment).
 */
export function canonicalUserAddress(text: string): UserAddress {
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) return { ok: false, problem: `${JSON.stringify(text)} is not an address (local@domain)` };
  const localPart = text.slice(0, at);
  const domain = canonicalDomain(text.slice(at + 1));
  if (FORBIDDEN_IN_LOCAL_PART.test(localPart) || localPart.startsWith('#') || Buffer.byteLength(localPart, 'utf8') > MAX_LOCAL_PART_OCTETS) {
    return { ok: false, problem: `${JSON.stringify(text)} has an unusable local part (no spaces, controls or ':', not starting with '#', at most 64 octets)` };
  }
  if (domain === undefined) return { ok: false, problem: `${JSON.stringify(text)} does not end in a valid domain name` };
  return { ok: true, address: `${localPart}@${domain}`, domain };
}
