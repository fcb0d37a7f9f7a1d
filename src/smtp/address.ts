// Parses the MAIL FROM / RCPT TO argument into a mailbox and ESMTP parameters: path and mailbox
// syntax (RFC 5321 §4.1.2, §4.1.3), source routes dropped (§3.6.1, Appendix C), size limits
// (§4.5.3.1), Postmaster (§4.5.1) and UTF-8 mailboxes (RFC 6531 §3.3).

import { isIP } from 'node:net';
import { domainToASCII, domainToUnicode } from 'node:url';
import { canonicalDomain, isValidHostname } from '../core/domain.js';
import { parseEsmtpParams } from './esmtp-params.js';
import type { EsmtpParam } from './esmtp-params.js';

export interface Mailbox {
  /**
   * Local part as passed on: a Dot-string as written, or a Quoted-string only when its content
   * is not a valid Dot-string. A quoted local part is unquoted when it can be (`"abc"` -> `abc`,
   * `"a\b"` -> `ab`) and otherwise re-quoted minimally (only `"` and `\` escaped), since both forms
   * name the same mailbox (RFC 5321 §4.1.2). Case is kept.
   */
  readonly localPart: string;
  /** As written: 'Example.COM', 'bücher.example', '[192.0.2.1]', '[IPv6:2001:db8::1]'; '' for `<Postmaster>`. */
  readonly domain: string;
  /** Lowercase A-label form of a domain name; undefined for address literals and `<Postmaster>`. */
  readonly canonicalDomain: string | undefined;
  readonly isAddressLiteral: boolean;
  /** Any non-ASCII character in the local part or domain (needs SMTPUTF8). */
  readonly isUtf8: boolean;
  /** `${localPart}@${domain}`; just 'Postmaster' for `<Postmaster>`. */
  readonly address: string;
}

/**
 * syntax: missing/garbled "FROM:"/"TO:", angle brackets or parameters;
 * address: the mailbox inside the brackets is invalid;
 * too-long: local part > 64, domain > 255 or path > 256 octets (RFC 5321 §4.5.3.1).
 */
export type PathError = 'syntax' | 'address' | 'too-long';

export type PathResult<T> = { ok: true; path: T; params: readonly EsmtpParam[] } | { ok: false; error: PathError; detail: string };

type Failure = { ok: false; error: PathError; detail: string };
type Parsed<T> = { ok: true; value: T } | Failure;

const MAX_LOCAL_PART_OCTETS = 64;
const MAX_DOMAIN_OCTETS = 255;
const MAX_PATH_OCTETS = 256;

const ATEXT = "A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~\\u{80}-\\u{10ffff}";
/** Dot-string = Atom *("." Atom), atext extended with UTF8-non-ascii (RFC 6531 §3.3). */
const DOT_STRING = new RegExp(`^[${ATEXT}]+(?:\\.[${ATEXT}]+)*$`, 'u');
/** C0 and C1 controls, DEL, U+FFFD (invalid UTF-8 from the decoder), lone surrogates: never part of a path. */
const FORBIDDEN = /[\x00-\x1f\x7f-\x9f\ufffd]|\p{Cs}/u;
const NON_ASCII = /[^\x00-\x7f]/;
/** "Postmaster" without a domain, case-insensitive (RFC 5321 §4.1.1.3); ASCII-only match (no `u` flag). */
const POSTMASTER = /^postmaster$/i;

function fail(error: PathError, detail: string): Failure {
  return { ok: false, error, detail };
}

function octets(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Parses `FROM:<reverse-path> [params]`; the path is null for the null reverse-path `<>`. */
export function parseMailFromArgument(argument: string): PathResult<Mailbox | null> {
  const split = splitArgument(argument, /^FROM:/i, 'FROM:');
  if (!split.ok) return split;
  if (split.value.inner === '') return { ok: true, path: null, params: split.value.params };
  const mailbox = parsePath(split.value.inner);
  return mailbox.ok ? { ok: true, path: mailbox.value, params: split.value.params } : mailbox;
}

/**
 * Parses `TO:<forward-path> [params]`. `<>` is an address error. `<Postmaster>` (any case, no
 * domain) is allowed: localPart 'Postmaster', domain '', canonicalDomain undefined, address 'Postmaster'.
 */
export function parseRcptToArgument(argument: string): PathResult<Mailbox> {
  const split = splitArgument(argument, /^TO:/i, 'TO:');
  if (!split.ok) return split;
  const { inner, params } = split.value;
  if (inner === '') return fail('address', 'the null path <> is not a recipient');
  if (POSTMASTER.test(inner)) return { ok: true, path: POSTMASTER_MAILBOX, params };
  const mailbox = parsePath(inner);
  return mailbox.ok ? { ok: true, path: mailbox.value, params } : mailbox;
}

/** '<>' for the null path, else '<address>'. */
export function formatPath(mailbox: Mailbox | null): string {
  return mailbox === null ? '<>' : `<${mailbox.address}>`;
}

/**
 * One key per mailbox, to tell a repeated recipient: the local part exactly as normalized (case
 * kept: RFC 5321 §2.4, only the destination host may fold it) and the domain as the relay rule
 * compares it (`relayDomain`: the canonical name; an address literal case-folded). `<Postmaster>`
 * keys as 'Postmaster'.
 */
export function mailboxKey(mailbox: Mailbox): string {
  const domain = relayDomain(mailbox);
  return domain === null ? mailbox.localPart : `${mailbox.localPart}@${domain.toLowerCase()}`;
}

/**
 * The domain the relay rule judges: the canonical name, the address literal as written (never
 * local), or null for the null sender `<>` and for `<Postmaster>` (this host's postmaster).
 */
export function relayDomain(mailbox: Mailbox | null): string | null {
  if (mailbox === null || mailbox.domain === '') return null;
  return mailbox.canonicalDomain ?? mailbox.domain;
}

const POSTMASTER_MAILBOX: Mailbox = Object.freeze({
  localPart: 'Postmaster',
  domain: '',
  canonicalDomain: undefined,
  isAddressLiteral: false,
  isUtf8: false,
  address: 'Postmaster',
});

interface SplitArgument {
  readonly inner: string;
  readonly params: readonly EsmtpParam[];
}

/** `PREFIX:` [spaces] `<` inner `>` [SP params]; checks the path length on the wire. */
function splitArgument(argument: string, prefix: RegExp, prefixText: string): Parsed<SplitArgument> {
  if (!prefix.test(argument)) return fail('syntax', `expected "${prefixText}"`);
  let position = prefixText.length;
  while (argument[position] === ' ') position += 1;
  if (argument[position] !== '<') return fail('syntax', 'expected "<" to open the path');
  const close = findPathEnd(argument, position + 1);
  if (close === undefined) return fail('syntax', 'the path is not closed with ">"');
  const rest = argument.slice(close + 1);
  if (rest !== '' && !rest.startsWith(' ')) return fail('syntax', 'expected a space after the path');
  const params = parseEsmtpParams(rest);
  if (params === undefined) return fail('syntax', 'malformed ESMTP parameters');
  const inner = argument.slice(position + 1, close);
  if (octets(inner) + 2 > MAX_PATH_OCTETS) return fail('too-long', `path longer than ${MAX_PATH_OCTETS} octets`);
  return { ok: true, value: { inner, params } };
}

/** Index of the `>` closing the path, skipping quoted strings (which may hold `>`). */
function findPathEnd(text: string, start: number): number | undefined {
  let inQuotes = false;
  for (let index = start; index < text.length; index += 1) {
    const char = text[index];
    if (inQuotes && char === '\\') index += 1;
    else if (char === '"') inQuotes = !inQuotes;
    else if (!inQuotes && char === '>') return index;
  }
  return undefined;
}

/** Path = [ A-d-l ":" ] Mailbox; the source route is validated, then dropped (RFC 5321 §3.6.1). */
function parsePath(inner: string): Parsed<Mailbox> {
  if (FORBIDDEN.test(inner)) return fail('address', 'control character or invalid UTF-8 in the path');
  if (!inner.startsWith('@')) return parseMailbox(inner);
  const colon = routeEnd(inner);
  if (colon === undefined) return fail('address', 'source route without ":"');
  for (const hop of inner.slice(0, colon).split(',')) {
    if (!hop.startsWith('@') || parseDomain(hop.slice(1)) === undefined) return fail('address', 'invalid source route');
  }
  return parseMailbox(inner.slice(colon + 1));
}

/** Index of the ":" ending a source route, skipping address literals (which may hold ":"). */
function routeEnd(inner: string): number | undefined {
  let inLiteral = false;
  for (let index = 0; index < inner.length; index += 1) {
    const char = inner[index];
    if (char === '[') inLiteral = true;
    else if (char === ']') inLiteral = false;
    else if (char === ':' && !inLiteral) return index;
  }
  return undefined;
}

/** Mailbox = Local-part "@" ( Domain / address-literal ). */
function parseMailbox(text: string): Parsed<Mailbox> {
  let wireLocalPart: string;
  let wireDomain: string;
  if (text.startsWith('"')) {
    const end = quotedStringEnd(text);
    if (end === undefined) return fail('address', 'unterminated quoted local part');
    if (text[end] !== '@') return fail('address', 'expected "@" after the quoted local part');
    wireLocalPart = text.slice(0, end);
    wireDomain = text.slice(end + 1);
  } else {
    const at = text.indexOf('@');
    if (at < 0) return fail('address', 'missing "@domain"');
    wireLocalPart = text.slice(0, at);
    wireDomain = text.slice(at + 1);
  }
  if (octets(wireLocalPart) > MAX_LOCAL_PART_OCTETS) return fail('too-long', `local part longer than ${MAX_LOCAL_PART_OCTETS} octets`);
  if (octets(wireDomain) > MAX_DOMAIN_OCTETS) return fail('too-long', `domain longer than ${MAX_DOMAIN_OCTETS} octets`);
  const localPart = normalizeLocalPart(wireLocalPart);
  if (localPart === undefined) return fail('address', 'invalid local part');
  const domain = parseDomain(wireDomain);
  if (domain === undefined) return fail('address', 'invalid domain');
  const mailbox: Mailbox = {
    localPart,
    domain: wireDomain,
    canonicalDomain: domain.canonical,
    isAddressLiteral: domain.canonical === undefined,
    isUtf8: NON_ASCII.test(localPart) || NON_ASCII.test(wireDomain),
    address: `${localPart}@${wireDomain}`,
  };
  return { ok: true, value: Object.freeze(mailbox) };
}

/** Index just after the closing quote of the Quoted-string that opens `text`. */
function quotedStringEnd(text: string): number | undefined {
  for (let index = 1; index < text.length; index += 1) {
    const char = text[index];
    if (char === '\\') index += 1;
    else if (char === '"') return index + 1;
  }
  return undefined;
}

/**
 * Dot-string as written, or the content of a Quoted-string (qtextSMTP / quoted-pairSMTP):
 * unquoted when it is a valid Dot-string, else re-quoted with only `"` and `\` escaped.
 */
function normalizeLocalPart(wire: string): string | undefined {
  if (!wire.startsWith('"')) return DOT_STRING.test(wire) ? wire : undefined;
  let content = '';
  for (let index = 1; index < wire.length - 1; index += 1) {
    const code = wire.charCodeAt(index);
    if (code === 0x5c) {
      const escaped = wire.charCodeAt(index + 1);
      // quoted-pairSMTP = %d92 %d32-126; the closing quote cannot be the escaped character.
      if (index + 1 >= wire.length - 1 || escaped < 0x20 || escaped > 0x7e) return undefined;
      content += wire[index + 1];
      index += 1;
    } else if (code === 0x22 || code < 0x20 || code === 0x7f) {
      return undefined;
    } else {
      content += wire[index];
    }
  }
  if (DOT_STRING.test(content)) return content;
  return `"${content.replace(/["\\]/g, '\\$&')}"`;
}

/** A domain name (LDH A-labels or NFC, lowercase-equivalent U-labels) or an IPv4/IPv6 address literal. */
function parseDomain(text: string): { canonical: string | undefined } | undefined {
  if (text.startsWith('[')) {
    if (!text.endsWith(']')) return undefined;
    const literal = text.slice(1, -1);
    const ipv6 = /^IPv6:/i.exec(literal);
    const valid = ipv6 === null ? isIP(literal) === 4 : isIP(literal.slice(5)) === 6 && !literal.includes('%');
    return valid ? { canonical: undefined } : undefined;
  }
  if (text === '' || text.endsWith('.')) return undefined;
  if (!text.split('.').every(isValidLabel)) return undefined;
  const canonical = canonicalDomain(text);
  return canonical === undefined ? undefined : { canonical };
}

function isValidLabel(label: string): boolean {
  if (!NON_ASCII.test(label)) {
    // isValidHostname also checks that an A-label decodes (RFC 5890 §2.3.2.1).
    return isValidHostname(label);
  }
  // A U-label must already be in the form IDNA maps it to (no fullwidth letters, ideographic
  // dots or unnormalized sequences that would silently become another name).
  const aLabel = domainToASCII(label);
  return aLabel !== '' && !aLabel.includes('.') && domainToUnicode(aLabel) === label.toLowerCase();
}
