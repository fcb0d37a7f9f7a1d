// The MTA-STS policy indicator (RFC 8461 §3.1): the TXT record at
// `_mta-sts.<domain>`, "v=STSv1; id=...;" with extension fields, and its
// discovery (exactly one record starting "v=STSv1", else no policy).

import type { Resolver } from '../dns/resolver.js';
import { lookupVersionedTxt } from '../dns/versioned-txt.js';

export const STS_VERSION_PREFIX = 'v=STSv1';

/** `id` is 1 to 32 letters and digits (§3.1). */
const ID = /^[A-Za-z0-9]{1,32}$/;
/** sts-ext-name: (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / "."). */
const EXTENSION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
/** sts-ext-value: 1*(%x21-3A / %x3C / %x3E-7E): visible characters but ";" and "=". */
const EXTENSION_VALUE = /^[\x21-\x3a\x3c\x3e-\x7e]+$/;

export type StsRecordParse = { readonly id: string } | { readonly problem: string };

/**
 * Parses one record: "v=STSv1" first, then fields separated by ";" with optional
 * spaces or tabs around it, an optional final ";". Names and values are
 * case-sensitive; of a repeated field the first counts (as §3.2 says of policies).
 */
export function parseStsRecord(text: string): StsRecordParse {
  const parts = text.split(/[ \t]*;[ \t]*/);
  if (parts[0] !== STS_VERSION_PREFIX) return { problem: `the record must start with ${STS_VERSION_PREFIX}` };
  if (parts[parts.length - 1] === '') parts.pop();
  let id: string | undefined;
  for (const part of parts.slice(1)) {
    const equals = part.indexOf('=');
    const name = equals < 0 ? part : part.slice(0, equals);
    const value = equals < 0 ? '' : part.slice(equals + 1);
    if (equals < 0 || !EXTENSION_NAME.test(name)) return { problem: `${JSON.stringify(part)} is not field=value` };
    if (name === 'id') {
      if (!ID.test(value)) return { problem: `id=${value} is not 1-32 letters and digits` };
      id ??= value;
    } else if (!EXTENSION_VALUE.test(value)) {
      return { problem: `${JSON.stringify(part)} has a value with characters a record may not hold` };
    }
  }
  return id === undefined ? { problem: 'id= is missing' } : { id };
}

export type StsDiscovery =
  /** One valid record: its policy id. */
  | { readonly kind: 'record'; readonly id: string }
  /** No usable record: none published, several, or malformed (all mean "no policy", §3.1). */
  | { readonly kind: 'none'; readonly reason: string }
  /** The lookup failed (servfail, timeout): nothing is known. */
  | { readonly kind: 'error'; readonly reason: string };

/** Looks up `_mta-sts.<domain>` TXT (CNAMEs followed by the resolver); each record's strings joined. */
export async function discoverMtaSts(resolver: Resolver, domain: string): Promise<StsDiscovery> {
  const name = `_mta-sts.${domain}`;
  const found = await lookupVersionedTxt(resolver, name, STS_VERSION_PREFIX, (text) => text.startsWith(STS_VERSION_PREFIX));
  if (found.kind !== 'record') return found;
  const parsed = parseStsRecord(found.text);
  return 'id' in parsed ? { kind: 'record', id: parsed.id } : { kind: 'none', reason: `malformed record at ${name}: ${parsed.problem}` };
}
