// TXT lookups as the doctor's checks need them: each record's character-strings
// joined (RFC 7208 §3.3, RFC 6376 §3.6.2.2, RFC 7489 §6.6.3), DNS failures as values.

import type { Resolver } from '../dns/resolver.js';
import type { DnsResult, RecordType } from '../dns/types.js';

export type TextLookup =
  | { readonly kind: 'records'; readonly texts: readonly string[] }
  | { readonly kind: 'absent'; readonly why: 'nxdomain' | 'nodata' }
  | { readonly kind: 'error'; readonly reason: string };

/** "servfail (SERVFAIL from 192.0.2.53)" for a failed lookup; the kind alone otherwise. */
export function dnsProblem(result: DnsResult<RecordType>): string {
  return 'reason' in result ? `${result.kind} (${result.reason})` : result.kind;
}

export async function lookupTexts(resolver: Resolver, name: string): Promise<TextLookup> {
  const result = await resolver.lookup(name, 'TXT');
  switch (result.kind) {
    case 'ok':
      return { kind: 'records', texts: result.records.map((strings) => strings.join('')) };
    case 'nxdomain':
    case 'nodata':
      return { kind: 'absent', why: result.kind };
    default:
      return { kind: 'error', reason: `TXT lookup of ${name} failed: ${dnsProblem(result)}` };
  }
}

/** The TXT records at `name` that `isTagged` accepts (e.g. those starting "v=DMARC1"), or why there are none. */
export async function lookupTaggedTexts(resolver: Resolver, name: string, isTagged: (text: string) => boolean): Promise<TextLookup> {
  const found = await lookupTexts(resolver, name);
  if (found.kind !== 'records') return found;
  const texts = found.texts.filter(isTagged);
  return texts.length === 0 ? { kind: 'absent', why: 'nodata' } : { kind: 'records', texts };
}
