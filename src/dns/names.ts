// DNS owner names in canonical form (RFC 1035 §2.3.4 limits, RFC 4343 case
// insensitivity): lowercase, A-labels, no trailing dot; underscores allowed.

import { domainToASCII } from 'node:url';

const DNS_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,62})$/;
const MAX_NAME_LENGTH = 253;

/** The canonical form of a name to query, or undefined when it cannot be asked. */
export function canonicalDnsName(name: string): string | undefined {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed === '' || trimmed.length > MAX_NAME_LENGTH * 2) return undefined;
  const ascii = /^[\x00-\x7f]*$/.test(trimmed) ? trimmed.toLowerCase() : domainToASCII(trimmed);
  if (ascii === '' || ascii.length > MAX_NAME_LENGTH) return undefined;
  return ascii.split('.').every((label) => DNS_LABEL.test(label)) ? ascii : undefined;
}

/** A name as read from the wire, for comparisons: lowercase, no trailing dot ("." stays "."). */
export function wireName(name: string): string {
  if (name === '.' || name === '') return '.';
  return (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
}
