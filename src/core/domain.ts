// Domain names: validation of hostnames (RFC 1035 §2.3.1 LDH rule, RFC 5890
// A-labels) and the canonical lowercase ASCII form used for comparisons.

import { domainToASCII, domainToUnicode } from 'node:url';

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** True when `name` is a syntactically valid ASCII hostname (no trailing dot); "xn--" labels must be valid A-labels. */
export function isValidHostname(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  return name.toLowerCase().split('.').every((label) => LABEL.test(label) && (!label.startsWith('xn--') || isValidALabel(label)));
}

/**
 * An "xn--" label must decode to a U-label that encodes back to it (RFC 5890
 * §2.3.2.1). Node 20 returns '' for a bad one, Node 24 returns it unchanged:
 * both fail the round trip.
 */
function isValidALabel(label: string): boolean {
  const unicode = domainToUnicode(label);
  return unicode !== '' && unicode !== label && domainToASCII(unicode) === label;
}

/**
 * The canonical form of a domain for comparison: lowercase, A-labels for
 * internationalized names, no trailing dot. Undefined when it is not valid.
 */
export function canonicalDomain(name: string): string | undefined {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  const ascii = /^[\x00-\x7f]*$/.test(trimmed) ? trimmed.toLowerCase() : domainToASCII(trimmed);
  return ascii !== '' && isValidHostname(ascii) ? ascii : undefined;
}
