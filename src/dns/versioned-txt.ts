// The one-record TXT lookups of MTA-STS (`_mta-sts`, RFC 8461 §3.1) and TLS-RPT
// (`_smtp._tls`, RFC 8460 §3): the strings of each record joined, the records
// that start with the version tag kept, and exactly one of them required.

import type { Resolver } from './resolver.js';

export type VersionedTxt =
  /** Exactly one record with the version tag: its text. */
  | { readonly kind: 'record'; readonly text: string }
  /** No usable record: none published, or several. */
  | { readonly kind: 'none'; readonly reason: string }
  /** The lookup failed (servfail, timeout, refused): nothing is known. */
  | { readonly kind: 'error'; readonly reason: string };

/** Looks up `name` TXT and keeps the single record `isVersion` accepts; `version` names it in reasons. */
export async function lookupVersionedTxt(resolver: Resolver, name: string, version: string, isVersion: (text: string) => boolean): Promise<VersionedTxt> {
  const result = await resolver.lookup(name, 'TXT');
  switch (result.kind) {
    case 'nxdomain':
    case 'nodata':
      return { kind: 'none', reason: `no TXT record at ${name}` };
    case 'servfail':
    case 'timeout':
    case 'refused':
      return { kind: 'error', reason: `TXT lookup of ${name}: ${result.kind} (${result.reason})` };
    case 'ok':
      break;
  }
  const records = result.records.map((strings) => strings.join('')).filter(isVersion);
  if (records.length === 0) return { kind: 'none', reason: `no ${version} record at ${name}` };
  if (records.length > 1) return { kind: 'none', reason: `${records.length} ${version} records at ${name} (there must be one)` };
  return { kind: 'record', text: records[0] ?? '' };
}
