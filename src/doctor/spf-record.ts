// SPF record syntax (RFC 7208 §4.5 selection, §4.6.1 terms, §5 mechanisms with
// qualifiers and dual CIDR lengths, §6 modifiers, §7.1 domain-spec); errors are permerrors.

import { isIP } from 'node:net';
import { addressBytes } from '../dns/reverse-name.js';
import { parseMacroString, type MacroToken } from './spf-macro.js';

export type SpfQualifier = '+' | '-' | '~' | '?';

/** A domain-spec: its text and its parsed macro-string. */
export interface DomainSpec {
  readonly text: string;
  readonly tokens: readonly MacroToken[];
}

export type SpfMechanism =
  | { readonly kind: 'all' }
  | { readonly kind: 'include' | 'exists'; readonly target: DomainSpec }
  | { readonly kind: 'a' | 'mx'; readonly target: DomainSpec | undefined; readonly ip4Prefix: number; readonly ip6Prefix: number }
  | { readonly kind: 'ptr'; readonly target: DomainSpec | undefined }
  | { readonly kind: 'ip4' | 'ip6'; readonly network: Uint8Array; readonly prefix: number };

export interface SpfDirective {
  readonly qualifier: SpfQualifier;
  readonly mechanism: SpfMechanism;
  /** The term as written, for reports. */
  readonly text: string;
}

export interface SpfRecord {
  readonly directives: readonly SpfDirective[];
  readonly redirect: DomainSpec | undefined;
  readonly explanation: DomainSpec | undefined;
}

export type SpfParse = { readonly ok: true; readonly record: SpfRecord } | { readonly ok: false; readonly problem: string };

/** §4.5: a TXT record is an SPF record when it is "v=spf1" alone or followed by a space. */
export function isSpfRecord(text: string): boolean {
  return /^v=spf1(?: |$)/i.test(text);
}

const MODIFIER = /^([a-z][a-z0-9_.-]*)=(.*)$/i;
const MECHANISM = /^([+\-~?]?)([a-z][a-z0-9_.-]*)(.*)$/i;
const CIDR_SUFFIX = /(?:\/(0|[1-9]\d*))?(?:\/\/(0|[1-9]\d*))?$/;
const TOPLABEL = /^(?:[a-z0-9]*[a-z][a-z0-9]*|[a-z0-9]+-[a-z0-9-]*[a-z0-9])$/i;

type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

/** §7.1: a macro-string ending in a macro or in "." toplabel [ "." ]. */
export function parseDomainSpec(text: string): Parsed<DomainSpec> {
  if (text === '') return { ok: false, problem: 'empty domain-spec' };
  const parsed = parseMacroString(text, 'domain-spec');
  if (!parsed.ok) return parsed;
  const last = parsed.tokens[parsed.tokens.length - 1];
  const endsInMacro = last?.kind === 'macro' || /%[%_-]$/.test(text);
  if (!endsInMacro) {
    const labels = (text.endsWith('.') ? text.slice(0, -1) : text).split('.');
    const toplabel = labels[labels.length - 1] ?? '';
    if (labels.length < 2 || !TOPLABEL.test(toplabel)) return { ok: false, problem: `domain-spec ${JSON.stringify(text)} does not end in a valid top label` };
  }
  return { ok: true, value: { text, tokens: parsed.tokens } };
}

function cidrLengths(rest: string): Parsed<{ before: string; ip4Prefix: number; ip6Prefix: number }> {
  const match = CIDR_SUFFIX.exec(rest);
  const ip4Prefix = match?.[1] === undefined ? 32 : Number(match[1]);
  const ip6Prefix = match?.[2] === undefined ? 128 : Number(match[2]);
  if (ip4Prefix > 32) return { ok: false, problem: `IPv4 CIDR length /${ip4Prefix} is over 32` };
  if (ip6Prefix > 128) return { ok: false, problem: `IPv6 CIDR length //${ip6Prefix} is over 128` };
  return { ok: true, value: { before: rest.slice(0, rest.length - (match?.[0].length ?? 0)), ip4Prefix, ip6Prefix } };
}

function optionalTarget(before: string, name: string): Parsed<DomainSpec | undefined> {
  if (before === '') return { ok: true, value: undefined };
  if (!before.startsWith(':')) return { ok: false, problem: `unexpected ${JSON.stringify(before)} after ${name}` };
  return parseDomainSpec(before.slice(1));
}

function ipMechanism(kind: 'ip4' | 'ip6', rest: string): Parsed<SpfMechanism> {
  const match = /^:([^/]+)(?:\/(0|[1-9]\d*))?$/.exec(rest);
  const maxPrefix = kind === 'ip4' ? 32 : 128;
  const address = match?.[1] ?? '';
  const network = addressBytes(address);
  if (match === null || network === undefined || isIP(address) !== (kind === 'ip4' ? 4 : 6)) return { ok: false, problem: `${kind} needs an ${kind === 'ip4' ? 'IPv4' : 'IPv6'} network, got ${JSON.stringify(rest)}` };
  const prefix = match[2] === undefined ? maxPrefix : Number(match[2]);
  if (prefix > maxPrefix) return { ok: false, problem: `${kind} CIDR length /${prefix} is over ${maxPrefix}` };
  return { ok: true, value: { kind, network, prefix } };
}

function parseMechanism(name: string, rest: string): Parsed<SpfMechanism> {
  switch (name) {
    case 'all':
      return rest === '' ? { ok: true, value: { kind: 'all' } } : { ok: false, problem: `unexpected ${JSON.stringify(rest)} after all` };
    case 'include':
    case 'exists': {
      if (!rest.startsWith(':')) return { ok: false, problem: `${name} needs ":domain"` };
      const target = parseDomainSpec(rest.slice(1));
      return target.ok ? { ok: true, value: { kind: name, target: target.value } } : target;
    }
    case 'a':
    case 'mx': {
      const lengths = cidrLengths(rest);
      if (!lengths.ok) return lengths;
      const target = optionalTarget(lengths.value.before, name);
      if (!target.ok) return target;
      return { ok: true, value: { kind: name, target: target.value, ip4Prefix: lengths.value.ip4Prefix, ip6Prefix: lengths.value.ip6Prefix } };
    }
    case 'ptr': {
      const target = optionalTarget(rest, name);
      return target.ok ? { ok: true, value: { kind: 'ptr', target: target.value } } : target;
    }
    case 'ip4':
    case 'ip6':
      return ipMechanism(name, rest);
    default:
      return { ok: false, problem: `unknown mechanism '${name}'` };
  }
}

interface Modifiers {
  redirect: DomainSpec | undefined;
  explanation: DomainSpec | undefined;
}

function applyModifier(name: string, value: string, into: Modifiers): string | undefined {
  if (name === 'redirect' || name === 'exp') {
    const key = name === 'redirect' ? 'redirect' : 'explanation';
    if (into[key] !== undefined) return `more than one ${name}= modifier`;
    const spec = parseDomainSpec(value);
    if (!spec.ok) return `${name}=: ${spec.problem}`;
    into[key] = spec.value;
    return undefined;
  }
  // Unknown modifiers are ignored, but their value must still be a macro-string (§6).
  const parsed = parseMacroString(value, 'explanation');
  return parsed.ok ? undefined : `${name}=: ${parsed.problem}`;
}

/** Parses a whole record (TXT strings already concatenated); anything malformed is a permerror problem. */
export function parseSpfRecord(text: string): SpfParse {
  if (!isSpfRecord(text)) return { ok: false, problem: 'the record does not start with "v=spf1"' };
  const terms = text.slice('v=spf1'.length).split(' ').filter((term) => term !== '');
  const directives: SpfDirective[] = [];
  const modifiers: Modifiers = { redirect: undefined, explanation: undefined };
  for (const term of terms) {
    const modifier = MODIFIER.exec(term);
    if (modifier !== null) {
      const problem = applyModifier((modifier[1] ?? '').toLowerCase(), modifier[2] ?? '', modifiers);
      if (problem !== undefined) return { ok: false, problem };
      continue;
    }
    const match = MECHANISM.exec(term);
    if (match === null) return { ok: false, problem: `cannot parse term ${JSON.stringify(term)}` };
    const mechanism = parseMechanism((match[2] ?? '').toLowerCase(), match[3] ?? '');
    if (!mechanism.ok) return { ok: false, problem: `${term}: ${mechanism.problem}` };
    directives.push({ qualifier: (match[1] || '+') as SpfQualifier, mechanism: mechanism.value, text: term });
  }
  return { ok: true, record: { directives, ...modifiers } };
}
