// The author domain a DKIM signature is made for: the domain of the one mailbox
// in the one From field (RFC 5322 §3.4, §3.6.2; RFC 6532 UTF-8; RFC 2047 words; RFC 6376 §1.2).

import { canonicalDomain } from '../core/domain.js';
import { sameFieldName } from './header-canon.js';
import type { HeaderField } from './message-splitter.js';

type Token = { readonly kind: 'atom' | 'quoted' | 'literal'; readonly text: string } | { readonly kind: 'special'; readonly text: string };

type Tokens = { ok: true; tokens: Token[] } | { ok: false; reason: string };

const SPECIALS = '<>@,;:.[]';
/** An RFC 2047 encoded word, taken whole so that its text never reads as specials. */
const ENCODED_WORD = /^=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=/;

export function authorDomain(headers: readonly HeaderField[]): { ok: true; domain: string } | { ok: false; reason: string } {
  const fromFields = headers.filter((field) => sameFieldName(field.name, 'From'));
  if (fromFields.length === 0) return { ok: false, reason: 'no From header field' };
  if (fromFields.length > 1) return { ok: false, reason: `${fromFields.length} From header fields (RFC 5322 allows one)` };
  const raw = (fromFields[0] as HeaderField).raw;
  const value = raw.slice(raw.indexOf(':') + 1).replace(/\r\n/g, '');
  const lexed = tokenize(value);
  if (!lexed.ok) return lexed;
  return mailboxDomain(lexed.tokens);
}

function mailboxDomain(tokens: readonly Token[]): { ok: true; domain: string } | { ok: false; reason: string } {
  const mailboxes = splitTopLevel(tokens);
  if (mailboxes.group) return { ok: false, reason: 'From holds a group, not a mailbox' };
  if (mailboxes.parts.length === 0) return { ok: false, reason: 'From holds no mailbox' };
  if (mailboxes.parts.length > 1) return { ok: false, reason: `From holds ${mailboxes.parts.length} mailboxes (a signer needs one author)` };
  const mailbox = mailboxes.parts[0] as Token[];
  const isSpecial = (text: string) => (token: Token) => token.kind === 'special' && token.text === text;
  const opens = mailbox.filter(isSpecial('<')).length;
  const closes = mailbox.filter(isSpecial('>')).length;
  if (opens === 0 && closes === 0) return domainOf(mailbox);
  const open = mailbox.findIndex(isSpecial('<'));
  if (opens !== 1 || closes !== 1 || !isSpecial('>')(mailbox[mailbox.length - 1] as Token)) return { ok: false, reason: 'From has a malformed angle address' };
  // The display name may be sloppy (an unquoted "@" is common): only the angle address counts.
  return domainOf(withoutRoute(mailbox.slice(open + 1, -1)));
}

/** Splits at commas outside angle brackets; notes a ':' outside them (group syntax). Empty list elements (obs-mbox-list) are dropped. */
function splitTopLevel(tokens: readonly Token[]): { parts: Token[][]; group: boolean } {
  const parts: Token[][] = [[]];
  let depth = 0;
  let group = false;
  for (const token of tokens) {
    if (token.kind === 'special' && token.text === '<') depth++;
    if (token.kind === 'special' && token.text === '>') depth--;
    if (depth === 0 && token.kind === 'special' && (token.text === ':' || token.text === ';')) group = true;
    if (depth === 0 && token.kind === 'special' && token.text === ',') parts.push([]);
    else (parts[parts.length - 1] as Token[]).push(token);
  }
  return { parts: parts.filter((part) => part.length > 0), group };
}

/** obs-angle-addr: "<@relay1,@relay2:user@example.org>" keeps only the address (RFC 5322 §4.4). */
function withoutRoute(tokens: Token[]): Token[] {
  const colon = tokens.findIndex((token) => token.kind === 'special' && token.text === ':');
  return colon !== -1 && tokens[0]?.kind === 'special' && tokens[0].text === '@' ? tokens.slice(colon + 1) : tokens;
}

function domainOf(addrSpec: readonly Token[]): { ok: true; domain: string } | { ok: false; reason: string } {
  const at = addrSpec.map((token) => token.kind === 'special' && token.text === '@');
  const atCount = at.filter(Boolean).length;
  if (atCount !== 1) return { ok: false, reason: atCount === 0 ? 'From address has no domain' : 'From address has several @' };
  const atIndex = at.indexOf(true);
  const local = addrSpec.slice(0, atIndex);
  const domainTokens = addrSpec.slice(atIndex + 1);
  if (local.length === 0 || !local.every((token) => token.kind === 'atom' || token.kind === 'quoted' || token.text === '.')) {
    return { ok: false, reason: 'From address has a malformed local part' };
  }
  if (domainTokens.some((token) => token.kind === 'literal')) return { ok: false, reason: 'From address has a domain literal, not a domain name' };
  if (!domainTokens.every((token) => token.kind === 'atom' || token.text === '.')) return { ok: false, reason: 'From address has a malformed domain' };
  const written = domainTokens.map((token) => token.text).join('');
  const domain = canonicalDomain(written);
  if (domain === undefined) return { ok: false, reason: `From domain '${written}' is not a valid domain name` };
  return { ok: true, domain };
}

/** RFC 5322 §3.2 lexical tokens; comments and white space dropped, quoted pairs resolved. */
function tokenize(value: string): Tokens {
  const tokens: Token[] = [];
  let index = 0;
  while (index < value.length) {
    const char = value[index] as string;
    if (char === ' ' || char === '\t') {
      index++;
    } else if (char === '(') {
      const end = commentEnd(value, index);
      if (end === undefined) return { ok: false, reason: 'From has an unterminated comment' };
      index = end;
    } else if (char === '"' || char === '[') {
      const close = char === '"' ? '"' : ']';
      const scanned = delimited(value, index + 1, close);
      if (scanned === undefined) return { ok: false, reason: char === '"' ? 'From has an unterminated quoted string' : 'From has an unterminated domain literal' };
      tokens.push({ kind: char === '"' ? 'quoted' : 'literal', text: scanned.text });
      index = scanned.end;
    } else if (SPECIALS.includes(char)) {
      tokens.push({ kind: 'special', text: char });
      index++;
    } else {
      const encoded = ENCODED_WORD.exec(value.slice(index));
      const end = encoded === null ? atomEnd(value, index) : index + encoded[0].length;
      tokens.push({ kind: 'atom', text: value.slice(index, end) });
      index = end;
    }
  }
  return { ok: true, tokens };
}

function atomEnd(value: string, start: number): number {
  let index = start;
  while (index < value.length && !` \t()"[${SPECIALS}\\`.includes(value[index] as string)) index++;
  return index === start ? start + 1 : index;
}

/** The index just past the comment opening at `start` (comments nest, RFC 5322 §3.2.2); undefined when unterminated. */
function commentEnd(value: string, start: number): number | undefined {
  let depth = 0;
  for (let index = start; index < value.length; index++) {
    const char = value[index];
    if (char === '\\') index++;
    else if (char === '(') depth++;
    else if (char === ')' && --depth === 0) return index + 1;
  }
  return undefined;
}

function delimited(value: string, start: number, close: string): { text: string; end: number } | undefined {
  let text = '';
  for (let index = start; index < value.length; index++) {
    const char = value[index] as string;
    if (char === '\\' && index + 1 < value.length) text += value[++index] as string;
    else if (char === close) return { text, end: index + 1 };
    else text += char;
  }
  return undefined;
}
