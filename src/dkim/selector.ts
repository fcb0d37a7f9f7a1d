// DKIM selector names (RFC 6376 §3.1: sub-domain *("." sub-domain)) and the
// default ones outpost picks for new keys: rsa-YYYYMMDD / ed-YYYYMMDD (UTC).

import type { DkimAlgorithm } from './keys.js';

const SUB_DOMAIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
/** Room left for "._domainkey." and the domain in a 253-octet DNS name. */
const MAX_SELECTOR_LENGTH = 200;

/** Letters, digits and hyphens in dot-separated labels of at most 63 octets, no hyphen at a label's ends. */
export function isValidSelector(selector: string): boolean {
  return selector.length > 0 && selector.length <= MAX_SELECTOR_LENGTH && selector.split('.').every((label) => SUB_DOMAIN.test(label));
}

/** `rsa-20250131` for the UTC day of `nowMs`, then `-2`, `-3`... until one is not `taken` (compared case-insensitively). */
export function defaultSelector(algorithm: DkimAlgorithm, nowMs: number, taken: ReadonlySet<string>): string {
  const day = new Date(nowMs).toISOString().slice(0, 10).replace(/-/g, '');
  const base = `${algorithm === 'rsa-sha256' ? 'rsa' : 'ed'}-${day}`;
  const lowerTaken = new Set([...taken].map((name) => name.toLowerCase()));
  for (let counter = 1; ; counter++) {
    const candidate = counter === 1 ? base : `${base}-${counter}`;
    if (!lowerTaken.has(candidate)) return candidate;
  }
}
