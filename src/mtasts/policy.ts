// The MTA-STS policy file (RFC 8461 §3.2): "key: value" lines (LF or CRLF),
// version STSv1, mode enforce|testing|none, max_age, mx patterns; unknown keys
// ignored, the first of a repeated key counts (mx repeats); and MX matching (§4.1).

import { isValidHostname } from '../core/domain.js';

export type StsMode = 'enforce' | 'testing' | 'none';

/** The longest policy lifetime a policy may ask for (§3.2: about a year). */
export const MAX_POLICY_AGE_SECONDS = 31_557_600;

export interface StsPolicy {
  readonly mode: StsMode;
  /** MX patterns, lowercase: a host name, or "*." and a domain for any one label in front of it. */
  readonly mx: readonly string[];
  readonly maxAgeSeconds: number;
}

export type StsPolicyParse = { readonly ok: true; readonly policy: StsPolicy } | { readonly ok: false; readonly problem: string };

const MODES: readonly StsMode[] = ['enforce', 'testing', 'none'];
/** sts-policy-ext-name, which the known names also fit. */
const KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
const MAX_AGE = /^\d{1,10}$/;

/** A pattern: ["*."] Domain (RFC 5321 syntax), A-labels only. */
function mxPattern(value: string): string | undefined {
  const host = value.startsWith('*.') ? value.slice(2) : value;
  return isValidHostname(host) ? value.toLowerCase() : undefined;
}

interface Fields {
  version?: string;
  mode?: string;
  maxAge?: string;
  readonly mx: string[];
}

/** Splits the lines into fields; a problem for a line that is not "key:" and a value. */
function readFields(text: string): Fields | string {
  const fields: Fields = { mx: [] };
  const lines = text.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    const key = colon < 0 ? line : line.slice(0, colon);
    if (colon < 0 || !KEY.test(key)) return `line ${index + 1} is not "key: value"`;
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (value === '' || /[\x00-\x1f\x7f]/.test(value.replace(/\t/g, ' '))) return `line ${index + 1} (${key}) has no value or a control character`;
    switch (key) {
      case 'version':
        fields.version ??= value;
        break;
      case 'mode':
        fields.mode ??= value;
        break;
      case 'max_age':
        fields.maxAge ??= value;
        break;
      case 'mx':
        fields.mx.push(value);
        break;
      default:
        // An extension field: ignored (§3.2).
        break;
    }
  }
  return fields;
}

/** The policy in `text`, or why it is not one (then the domain has no usable policy, §3.3). */
export function parseStsPolicy(text: string): StsPolicyParse {
  const fields = readFields(text);
  if (typeof fields === 'string') return { ok: false, problem: fields };
  if (fields.version !== 'STSv1') return { ok: false, problem: fields.version === undefined ? 'version is missing' : `version ${fields.version} is not STSv1` };
  const mode = MODES.find((candidate) => candidate === fields.mode);
  if (mode === undefined) return { ok: false, problem: fields.mode === undefined ? 'mode is missing' : `mode ${fields.mode} is not enforce, testing or none` };
  if (fields.maxAge === undefined) return { ok: false, problem: 'max_age is missing' };
  if (!MAX_AGE.test(fields.maxAge)) return { ok: false, problem: `max_age ${fields.maxAge} is not a number of seconds` };
  const mx: string[] = [];
  for (const value of fields.mx) {
    const pattern = mxPattern(value);
    if (pattern === undefined) return { ok: false, problem: `mx ${value} is not a host name or *.domain` };
    mx.push(pattern);
  }
  if (mx.length === 0 && mode !== 'none') return { ok: false, problem: `mode ${mode} needs at least one mx` };
  // Longer lifetimes are cut to the maximum rather than the policy thrown away.
  const maxAgeSeconds = Math.min(Number(fields.maxAge), MAX_POLICY_AGE_SECONDS);
  return { ok: true, policy: { mode, mx, maxAgeSeconds } };
}

/** §4.1: the MX host name equals a pattern, or a "*." pattern with exactly one label in front. */
export function mxMatches(policy: Pick<StsPolicy, 'mx'>, host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return policy.mx.some((pattern) => {
    if (!pattern.startsWith('*.')) return pattern === name;
    const dot = name.indexOf('.');
    return dot > 0 && name.slice(dot + 1) === pattern.slice(2);
  });
}
