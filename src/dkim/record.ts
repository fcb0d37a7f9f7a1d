// DKIM key records in DNS (RFC 6376 §3.6.1, §3.6.2.2; RFC 8463 §4.2): the TXT record
// to publish for a key, split into character-strings, and the parse of a published one.

import type { DkimKey } from './keys.js';

/** RFC 1035 §3.3: a character-string holds at most 255 octets. */
const MAX_CHARACTER_STRING_OCTETS = 255;

export interface DkimRecord {
  /** `<selector>._domainkey.<domain>`, no trailing dot. */
  readonly name: string;
  /** `v=DKIM1; k=rsa|ed25519; p=...` */
  readonly value: string;
  /** `value` cut into character-strings of at most 255 octets, in order. */
  readonly strings: string[];
  /** `<name>. IN TXT ( "..." "..." )`, ready to paste into a zone file. */
  readonly zoneLine: string;
}

export function dkimRecord(key: Pick<DkimKey, 'domain' | 'selector' | 'algorithm' | 'publicKeyBase64'>): DkimRecord {
  const name = `${key.selector}._domainkey.${key.domain}`;
  const keyType = key.algorithm === 'ed25519-sha256' ? 'ed25519' : 'rsa';
  const value = `v=DKIM1; k=${keyType}; p=${key.publicKeyBase64}`;
  const strings: string[] = [];
  // The value is ASCII, so characters are octets.
  for (let start = 0; start < value.length; start += MAX_CHARACTER_STRING_OCTETS) strings.push(value.slice(start, start + MAX_CHARACTER_STRING_OCTETS));
  const zoneLine = `${name}. IN TXT ( ${strings.map((part) => `"${part}"`).join(' ')} )`;
  return { name, value, strings, zoneLine };
}

export type ParsedDkimRecord =
  | { ok: true; keyType: string; publicKeyBase64: string; revoked: boolean; tags: ReadonlyMap<string, string> }
  | { ok: false; problem: string };

const TAG_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * A published key record (the TXT strings concatenated): a tag=value list (RFC 6376 §3.2)
 * with v=DKIM1 first when present, k= defaulting to rsa, p= required (empty = revoked,
 * white space inside ignored). Tag names are case-sensitive; a repeated tag makes it invalid.
 */
export function parseDkimRecord(txt: string): ParsedDkimRecord {
  const tags = parseTagList(txt);
  if (!tags.ok) return tags;
  const version = tags.tags.get('v');
  if (version !== undefined && (version !== 'DKIM1' || tags.order[0] !== 'v')) {
    return { ok: false, problem: version !== 'DKIM1' ? `v=${version} is not DKIM1` : 'v=DKIM1 must be the first tag' };
  }
  const publicKey = tags.tags.get('p');
  if (publicKey === undefined) return { ok: false, problem: 'no p= tag (public key)' };
  const publicKeyBase64 = publicKey.replace(/[ \t\r\n]+/g, '');
  if (!BASE64.test(publicKeyBase64)) return { ok: false, problem: 'p= is not base64' };
  const keyType = (tags.tags.get('k') ?? 'rsa').toLowerCase();
  return { ok: true, keyType, publicKeyBase64, revoked: publicKeyBase64 === '', tags: tags.tags };
}

function parseTagList(text: string): { ok: true; tags: Map<string, string>; order: string[] } | { ok: false; problem: string } {
  const tags = new Map<string, string>();
  const order: string[] = [];
  const specs = text.split(';');
  for (const [index, spec] of specs.entries()) {
    const trimmed = spec.trim();
    // A final ";" leaves an empty spec (RFC 6376 §3.2 tag-list allows it).
    if (trimmed === '' && index === specs.length - 1) continue;
    const equals = trimmed.indexOf('=');
    if (equals === -1) return { ok: false, problem: `'${trimmed}' is not tag=value` };
    const name = trimmed.slice(0, equals).trim();
    if (!TAG_NAME.test(name)) return { ok: false, problem: `'${name}' is not a valid tag name` };
    if (tags.has(name)) return { ok: false, problem: `tag ${name}= appears twice` };
    tags.set(name, trimmed.slice(equals + 1).trim());
    order.push(name);
  }
  return { ok: true, tags, order };
}
