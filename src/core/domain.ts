// Domain names: validation of hostnames (RFC 1035 §2.3.1 LDH rule, RFC 5890
// A-labels) and the canonical lowercase ASCII form used for comparisons.

import { domainToASCII } from 'node:url';

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** True when `name` is a syntactically valid ASCII hostname (no trailing dot). */
export function isValidHostname(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  return name.toLowerCase().split('.').every((label) => LABEL.test(label));
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
