// The client side of SMTP AUTH (RFC 4954 §4, §6): PLAIN (RFC 4616) with an
// initial response, LOGIN, and XOAUTH2 (a bearer token; on failure a 334 with a
// JSON error that the client answers with an empty line). Secrets never leave this file in a reply.

import type { Reply } from '../smtp/reply.js';
import type { Credentials } from './credentials.js';
import { cleanRemoteText } from './reply-reader.js';
import { SessionError } from './session-error.js';
import type { SmtpConnection } from './smtp-connection.js';

const SERVER_CHALLENGE = 334;
/** RFC 4954 §4: a client cancels an exchange with "*". */
const CANCEL = '*';

export type AuthResult =
  | { readonly kind: 'authenticated'; readonly mechanism: string }
  /** None of the mechanisms the credentials allow is offered (`offered` is what the server announced). */
  | { readonly kind: 'not-offered'; readonly wanted: readonly string[]; readonly offered: readonly string[] }
  /** A 5xx: the credentials are wrong (535) or not allowed; `detail` is the XOAUTH2 error, if any. */
  | { readonly kind: 'rejected'; readonly mechanism: string; readonly reply: Reply; readonly detail: string | undefined }
  /** A 4xx (454 4.7.0 temporary authentication failure). */
  | { readonly kind: 'temporary'; readonly mechanism: string; readonly reply: Reply }
  /** The session broke or the server did not follow the exchange. */
  | { readonly kind: 'failed'; readonly error: SessionError };

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** What to try: the password mechanisms in configured order (PLAIN first), or XOAUTH2. */
export function wantedMechanisms(credentials: Credentials): readonly string[] {
  return credentials.kind === 'password' ? credentials.mechanisms : ['XOAUTH2'];
}

/** The strings that would give the secret away: it, and every base64 form we sent. */
function secretForms(credentials: Credentials): string[] {
  const secret = credentials.kind === 'password' ? credentials.password : credentials.token;
  // Longest first: a short form can sit inside a longer one.
  return [secret, base64(secret), plainResponse(credentials), xoauth2Response(credentials)].filter((form) => form.length >= 4).sort((a, b) => b.length - a.length);
}

function plainResponse(credentials: Credentials): string {
  return credentials.kind === 'password' ? base64(`\0${credentials.username}\0${credentials.password}`) : '';
}

function xoauth2Response(credentials: Credentials): string {
  return credentials.kind === 'xoauth2' ? base64(`user=${credentials.username}\x01auth=Bearer ${credentials.token}\x01\x01`) : '';
}

/** The reply with anything that looks like our secret blanked out (a server may echo what it got). */
function redacted(reply: Reply, forms: readonly string[]): Reply {
  const lines = reply.lines.map((line) => forms.reduce((text, form) => text.split(form).join('***'), line));
  return { ...reply, lines };
}

/** The decoded XOAUTH2 error challenge (a small JSON object), cleaned for logs. */
function xoauth2Error(challenge: Reply): string {
  const decoded = Buffer.from(challenge.lines.join(''), 'base64').toString('utf8');
  return cleanRemoteText(decoded).slice(0, 300);
}

/** One step: send `line`, read the reply. */
function step(connection: SmtpConnection, line: string, timeoutMs: number): Promise<Reply> {
  return connection.command(line, timeoutMs, 'AUTH');
}

async function exchange(connection: SmtpConnection, mechanism: string, credentials: Credentials, timeoutMs: number): Promise<{ reply: Reply; detail: string | undefined }> {
  if (mechanism === 'PLAIN') {
    const reply = await step(connection, `AUTH PLAIN ${plainResponse(credentials)}`, timeoutMs);
    // We gave the initial response: a further challenge is not part of PLAIN; cancel it.
    return { reply: reply.code === SERVER_CHALLENGE ? await step(connection, CANCEL, timeoutMs) : reply, detail: undefined };
  }
  if (mechanism === 'LOGIN' && credentials.kind === 'password') {
    let reply = await step(connection, 'AUTH LOGIN', timeoutMs);
    if (reply.code === SERVER_CHALLENGE) reply = await step(connection, base64(credentials.username), timeoutMs);
    if (reply.code === SERVER_CHALLENGE) reply = await step(connection, base64(credentials.password), timeoutMs);
    return { reply: reply.code === SERVER_CHALLENGE ? await step(connection, CANCEL, timeoutMs) : reply, detail: undefined };
  }
  const reply = await step(connection, `AUTH XOAUTH2 ${xoauth2Response(credentials)}`, timeoutMs);
  if (reply.code !== SERVER_CHALLENGE) return { reply, detail: undefined };
  // The error comes as a challenge; the client answers it with an empty response and gets the final 5xx.
  const detail = xoauth2Error(reply);
  return { reply: await step(connection, '', timeoutMs), detail };
}

/**
 * Authenticates on an open (TLS) session with the first wanted mechanism the
 * server offers. Never rejects for remote or network failures.
 */
export async function authenticate(connection: SmtpConnection, offered: readonly string[], credentials: Credentials, timeoutMs: number): Promise<AuthResult> {
  const wanted = wantedMechanisms(credentials);
  const mechanism = wanted.find((name) => offered.includes(name));
  if (mechanism === undefined) return { kind: 'not-offered', wanted, offered };
  const forms = secretForms(credentials);
  try {
    const { reply: raw, detail } = await exchange(connection, mechanism, credentials, timeoutMs);
    const reply = redacted(raw, forms);
    // 235 2.7.0 (RFC 4954 §6); any 2xx counts.
    if (reply.code >= 200 && reply.code < 300) return { kind: 'authenticated', mechanism };
    if (reply.code >= 500) return { kind: 'rejected', mechanism, reply, detail: detail === undefined ? undefined : forms.reduce((text, form) => text.split(form).join('***'), detail) };
    if (reply.code >= 400) return { kind: 'temporary', mechanism, reply };
    return { kind: 'failed', error: connection.fail(new SessionError('protocol', 'AUTH', `unexpected reply ${reply.code} to AUTH ${mechanism}`)) };
  } catch (error) {
    if (!(error instanceof SessionError)) throw error;
    return { kind: 'failed', error };
  }
}
