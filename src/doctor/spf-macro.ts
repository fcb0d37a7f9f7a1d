// SPF macro strings (RFC 7208 §7): parsing `%{d2r-}`-style macros with their
// transformers and delimiters (§7.1-7.3), and expanding them (§7.3, §7.4).

export interface MacroText {
  readonly kind: 'text';
  readonly text: string;
}

export interface MacroExpand {
  readonly kind: 'macro';
  /** Lowercase macro letter: s l o d i p v h (c r t in explanations only). */
  readonly letter: string;
  /** Uppercase letter in the record: the value is URL-escaped (§7.3). */
  readonly urlEscape: boolean;
  /** Keep this many right-hand parts (after reversal); undefined = all. */
  readonly keepParts: number | undefined;
  readonly reverse: boolean;
  /** Characters the value is split on; '.' when none were given. */
  readonly delimiters: string;
}

export type MacroToken = MacroText | MacroExpand;

export type MacroParse = { readonly ok: true; readonly tokens: readonly MacroToken[] } | { readonly ok: false; readonly problem: string };

/** Letters allowed in a domain-spec; explanations also allow c, r and t (§7.2). */
const DOMAIN_LETTERS = 'slodipvh';
const EXPLANATION_LETTERS = 'slodipvhcrt';
const MACRO = /^%\{([a-zA-Z])(\d*)(r?)([.\-+,/_=]*)\}/i;

/** Splits a macro-string into literal text and macros; a bad `%` sequence is a problem (permerror). */
export function parseMacroString(text: string, where: 'domain-spec' | 'explanation'): MacroParse {
  const tokens: MacroToken[] = [];
  const letters = where === 'domain-spec' ? DOMAIN_LETTERS : EXPLANATION_LETTERS;
  let literal = '';
  let at = 0;
  while (at < text.length) {
    const char = text[at] ?? '';
    if (char !== '%') {
      const code = char.charCodeAt(0);
      if (where === 'domain-spec' && (code < 0x21 || code > 0x7e)) return { ok: false, problem: `invalid character ${JSON.stringify(char)} in ${JSON.stringify(text)}` };
      literal += char;
      at += 1;
      continue;
    }
    const next = text[at + 1];
    if (next === '%' || next === '_' || next === '-') {
      literal += next === '%' ? '%' : next === '_' ? ' ' : '%20';
      at += 2;
      continue;
    }
    const match = MACRO.exec(text.slice(at));
    if (match === null) return { ok: false, problem: `invalid macro at ${JSON.stringify(text.slice(at, at + 8))} in ${JSON.stringify(text)}` };
    const [whole, letterText = '', digits = '', reverse = '', delimiters = ''] = match;
    const letter = letterText.toLowerCase();
    if (!letters.includes(letter)) return { ok: false, problem: `macro letter '${letterText}' is not allowed in a ${where}` };
    if (digits !== '' && Number(digits) === 0) return { ok: false, problem: `macro ${whole} keeps zero parts` };
    if (literal !== '') tokens.push({ kind: 'text', text: literal });
    literal = '';
    tokens.push({
      kind: 'macro',
      letter,
      urlEscape: letterText !== letter,
      keepParts: digits === '' ? undefined : Number(digits),
      reverse: reverse !== '',
      delimiters: delimiters === '' ? '.' : delimiters,
    });
    at += whole.length;
  }
  if (literal !== '') tokens.push({ kind: 'text', text: literal });
  return { ok: true, tokens };
}

/** The values macros expand to; `validatedName` (%{p}) is looked up only when used. */
export interface MacroValues {
  readonly sender: string;
  readonly localPart: string;
  readonly senderDomain: string;
  readonly domain: string;
  /** %{i}: dotted quad, or 32 dot-separated nibbles for IPv6 (§7.3). */
  readonly ipText: string;
  /** %{v}: "in-addr" or "ip6". */
  readonly ipVersionLabel: string;
  readonly helo: string;
  validatedName(): Promise<string>;
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** RFC 3986 percent-encoding of everything but unreserved characters. */
function urlEscape(value: string): string {
  let out = '';
  for (const char of value) {
    if (UNRESERVED.test(char)) out += char;
    else for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

async function letterValue(letter: string, values: MacroValues): Promise<string> {
  switch (letter) {
    case 's':
      return values.sender;
    case 'l':
      return values.localPart;
    case 'o':
      return values.senderDomain;
    case 'd':
      return values.domain;
    case 'i':
    case 'c':
      return values.ipText;
    case 'p':
      return values.validatedName();
    case 'v':
      return values.ipVersionLabel;
    case 'h':
    case 'r':
      return values.helo;
    default:
      return '';
  }
}

/** Applies the transformers of one macro to its value (§7.3). */
export function transformMacroValue(value: string, macro: MacroExpand): string {
  let parts = value.split(new RegExp(`[${macro.delimiters.replace(/[-\\\]^/]/g, '\\$&')}]`));
  if (macro.reverse) parts = parts.reverse();
  if (macro.keepParts !== undefined && macro.keepParts < parts.length) parts = parts.slice(parts.length - macro.keepParts);
  const joined = parts.join('.');
  return macro.urlEscape ? urlEscape(joined) : joined;
}

export async function expandMacroTokens(tokens: readonly MacroToken[], values: MacroValues): Promise<string> {
  let out = '';
  for (const token of tokens) out += token.kind === 'text' ? token.text : transformMacroValue(await letterValue(token.letter, values), token);
  return out;
}

const MAX_DOMAIN_LENGTH = 253;

/** A domain-spec after expansion: no trailing dot, left labels dropped until it fits 253 characters (§7.3). */
export function trimExpandedDomain(expanded: string): string {
  let name = expanded.endsWith('.') ? expanded.slice(0, -1) : expanded;
  while (name.length > MAX_DOMAIN_LENGTH && name.includes('.')) name = name.slice(name.indexOf('.') + 1);
  return name;
}
