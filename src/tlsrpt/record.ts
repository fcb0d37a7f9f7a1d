// The TLS reporting policy (RFC 8460 §3): the TXT record at `_smtp._tls.<domain>`,
// "v=TLSRPTv1; rua=<uri>[,<uri>...]" with extension fields, and its discovery
// (exactly one record starting "v=TLSRPTv1", else the domain does not take reports).

import type { Resolver } from '../dns/resolver.js';
import { lookupVersionedTxt } from '../dns/versioned-txt.js';

export const TLSRPT_VERSION = 'v=TLSRPTv1';

/** tlsrpt-ext-name: (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / "."). */
const EXTENSION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
/** tlsrpt-ext-value: 1*(%x21-3A / %x3C / %x3E-7E). */
const EXTENSION_VALUE = /^[\x21-\x3a\x3c\x3e-\x7e]+$/;
/** A URI as §3 allows it in rua: visible characters; ",", "!" and ";" must be percent-encoded. */
const URI = /^[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x7e]+$/;

export type TlsRptRecordParse = { readonly rua: readonly string[] } | { readonly problem: string };

/**
 * One record: "v=TLSRPTv1" first, then fields separated by ";" (spaces or tabs
 * around it allowed), an optional final ";". rua= is required and may repeat;
 * its URIs are split at "," (§3: literal commas in a URI are encoded).
 */
export function parseTlsRptRecord(text: string): TlsRptRecordParse {
  const parts = text.split(/[ \t]*;[ \t]*/);
  if (parts[0] !== TLSRPT_VERSION) return { problem: `the record must start with ${TLSRPT_VERSION}` };
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  const rua: string[] = [];
  for (const part of parts.slice(1)) {
    const equals = part.indexOf('=');
    const name = equals < 0 ? part : part.slice(0, equals);
    const value = equals < 0 ? '' : part.slice(equals + 1);
    if (equals < 0 || !EXTENSION_NAME.test(name)) return { problem: `${JSON.stringify(part)} is not field=value` };
    if (name !== 'rua') {
      if (!EXTENSION_VALUE.test(value)) return { problem: `${JSON.stringify(part)} has a value with characters a record may not hold` };
      continue;
    }
    for (const uri of value.split(/[ \t]*,[ \t]*/)) {
      if (!URI.test(uri)) return { problem: `rua=: ${JSON.stringify(uri)} is not a URI` };
      rua.push(uri);
    }
  }
  return rua.length === 0 ? { problem: 'rua= is missing' } : { rua };
}

export type TlsRptDiscovery =
  | { readonly kind: 'record'; readonly rua: readonly string[] }
  /** No usable record: none, several, or malformed (all mean "no reports", §3). */
  | { readonly kind: 'none'; readonly reason: string }
  /** The lookup failed (servfail, timeout): ask again later. */
  | { readonly kind: 'error'; readonly reason: string };

function isTlsRpt(text: string): boolean {
  return text === TLSRPT_VERSION || /^v=TLSRPTv1[ \t]*;/.test(text);
}

/** Looks up `_smtp._tls.<domain>` TXT; each record's strings joined. */
export async function discoverTlsRpt(resolver: Resolver, domain: string): Promise<TlsRptDiscovery> {
  const name = `_smtp._tls.${domain}`;
  const found = await lookupVersionedTxt(resolver, name, TLSRPT_VERSION, isTlsRpt);
  if (found.kind !== 'record') return found;
  const parsed = parseTlsRptRecord(found.text);
  return 'rua' in parsed ? { kind: 'record', rua: parsed.rua } : { kind: 'none', reason: `malformed record at ${name}: ${parsed.problem}` };
}
