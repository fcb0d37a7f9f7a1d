// The SASL exchange of the SMTP AUTH command as a pure state machine: RFC 4954 §4 (initial
// response, '=' for empty, '*' cancels, 12288-octet lines), PLAIN (RFC 4616) and LOGIN.

import { canonicalUserAddress } from './user-address.js';

export type SaslMechanism = 'PLAIN' | 'LOGIN';

/** In the order EHLO advertises them (`250-AUTH PLAIN LOGIN`). */
export const SASL_MECHANISMS: readonly SaslMechanism[] = ['PLAIN', 'LOGIN'];

/** RFC 4954 §4: servers must accept AUTH lines of at least this many octets (without CRLF). */
export const MAX_SASL_LINE_OCTETS = 12288;

/** Where a continuing exchange stands; carried from one step to the next. */
export type SaslState = { readonly mechanism: 'PLAIN' } | { readonly mechanism: 'LOGIN'; readonly username: string | undefined };

export type SaslStep =
  /** Send `334 <challenge>` (base64, may be empty) and pass the client's next line to continueSasl(state, line). */
  | { readonly kind: 'challenge'; readonly challenge: string; readonly state: SaslState }
  | { readonly kind: 'credentials'; readonly mechanism: SaslMechanism; readonly authzid: string; readonly authcid: string; readonly password: string }
  /** The client sent `*` (RFC 4954 §4: answer 501). */
  | { readonly kind: 'cancelled' }
  /** Bad base64, bad UTF-8, missing or extra parts, empty identity or password (501 5.5.2). */
  | { readonly kind: 'malformed'; readonly detail: string }
  /** PLAIN named an authorization identity other than the authenticating one (RFC 4616 §2). */
  | { readonly kind: 'authzid-mismatch'; readonly authzid: string; readonly authcid: string }
  /** A well-formed mechanism name we do not offer (504 5.5.4). */
  | { readonly kind: 'unsupported-mechanism'; readonly mechanism: string }
  /** A line longer than MAX_SASL_LINE_OCTETS (500 5.5.6). */
  | { readonly kind: 'line-too-long' };

/** base64("Username:") and base64("Password:"), the challenges LOGIN clients expect. */
export const LOGIN_USERNAME_CHALLENGE = 'VXNlcm5hbWU6';
export const LOGIN_PASSWORD_CHALLENGE = 'UGFzc3dvcmQ6';

/** RFC 4422 §3.1 sasl-mech. */
const MECHANISM_NAME = /^[A-Z0-9_-]{1,20}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;
const CANCEL = '*';
const EMPTY_INITIAL_RESPONSE = '=';

type Decoded = { ok: true; text: string } | { ok: false; detail: string };

function malformed(detail: string): SaslStep {
  return { kind: 'malformed', detail };
}

function tooLong(text: string): boolean {
  return Buffer.byteLength(text, 'utf8') > MAX_SASL_LINE_OCTETS;
}

/** Strict base64 (padding optional, no stray bits) of UTF-8 text. */
function decode(response: string): Decoded {
  if (!BASE64.test(response)) return { ok: false, detail: 'the response is not base64' };
  const bytes = Buffer.from(response, 'base64');
  if (bytes.toString('base64').replace(/=+$/, '') !== response.replace(/=+$/, '')) return { ok: false, detail: 'the response is not canonical base64' };
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { ok: false, detail: 'the response is not UTF-8' };
  }
}

/**
 * The first step for the argument of `AUTH` (e.g. `PLAIN`, `PLAIN AGFwcABzZWNyZXQ=`,
 * `LOGIN`, `PLAIN =`). The mechanism name is case-insensitive.
 */
export function startSasl(argument: string): SaslStep {
  if (tooLong(argument)) return { kind: 'line-too-long' };
  const parts = argument.split(' ');
  if (parts.length > 2) return malformed('expected AUTH mechanism [initial-response]');
  const [name = '', initial] = parts;
  const mechanism = name.toUpperCase();
  if (!MECHANISM_NAME.test(mechanism)) return malformed('expected AUTH mechanism [initial-response]');
  if (mechanism !== 'PLAIN' && mechanism !== 'LOGIN') return { kind: 'unsupported-mechanism', mechanism };
  const state: SaslState = mechanism === 'PLAIN' ? { mechanism } : { mechanism, username: undefined };
  if (initial === undefined) return challengeFor(state);
  return answer(state, initial === EMPTY_INITIAL_RESPONSE ? { ok: true, text: '' } : decode(initial));
}

/** The next step for a client line (without CRLF) sent after a `334` challenge. */
export function continueSasl(state: SaslState, line: string): SaslStep {
  if (tooLong(line)) return { kind: 'line-too-long' };
  if (line === CANCEL) return { kind: 'cancelled' };
  // An empty response is an empty line; '=' is taken too, as in an initial response.
  return answer(state, line === EMPTY_INITIAL_RESPONSE ? { ok: true, text: '' } : decode(line));
}

function challengeFor(state: SaslState): SaslStep {
  if (state.mechanism === 'PLAIN') return { kind: 'challenge', challenge: '', state };
  const challenge = state.username === undefined ? LOGIN_USERNAME_CHALLENGE : LOGIN_PASSWORD_CHALLENGE;
  return { kind: 'challenge', challenge, state };
}

function answer(state: SaslState, decoded: Decoded): SaslStep {
  if (!decoded.ok) return malformed(decoded.detail);
  if (state.mechanism === 'PLAIN') return plainCredentials(decoded.text);
  if (decoded.text === '') return malformed(state.username === undefined ? 'empty user name' : 'empty password');
  if (state.username === undefined) {
    if (decoded.text.includes('\0')) return malformed('NUL in the user name');
    return challengeFor({ mechanism: 'LOGIN', username: decoded.text });
  }
  return { kind: 'credentials', mechanism: 'LOGIN', authzid: '', authcid: state.username, password: decoded.text };
}

/** RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd. */
function plainCredentials(message: string): SaslStep {
  const parts = message.split('\0');
  if (parts.length !== 3) return malformed(`PLAIN needs authzid NUL authcid NUL password, got ${parts.length} part${parts.length === 1 ? '' : 's'}`);
  const [authzid = '', authcid = '', password = ''] = parts;
  if (authcid === '') return malformed('empty user name');
  if (password === '') return malformed('empty password');
  if (authzid !== '' && !sameIdentity(authzid, authcid)) return { kind: 'authzid-mismatch', authzid, authcid };
  return { kind: 'credentials', mechanism: 'PLAIN', authzid, authcid, password };
}

/** The same user, allowing for the case of the domain (`app@Example.org` is `app@example.org`). */
function sameIdentity(authzid: string, authcid: string): boolean {
  if (authzid === authcid) return true;
  const a = canonicalUserAddress(authzid);
  const b = canonicalUserAddress(authcid);
  return a.ok && b.ok && a.address === b.address;
}
