// Opening an outbound SMTP session on a connected socket: greeting, EHLO with
// HELO fallback (RFC 5321 §4.1.1.1, §3.2), STARTTLS (RFC 3207) opportunistic
// (RFC 7435) or required, implicit TLS (RFC 8314 §3.3), and the fresh EHLO after TLS (§4.2).

import type { Socket } from 'node:net';
import { checkServerIdentity, type ConnectionOptions, type SecureContext } from 'node:tls';
import { isIP } from 'node:net';
import type { Clock } from '../core/clock.js';
import { errnoCode } from '../core/errors.js';
import type { RouteTlsMode } from '../config/types.js';
import { replyText, type Reply } from '../smtp/reply.js';
import { NO_EXTENSIONS, parseExtensions, type Extensions } from './extensions.js';
import { describePeer, sessionFailureOutcome, skippedHostOutcome, tlsRequiredOutcome, type Peer } from './outcomes.js';
import type { ReplyLimits } from './reply-reader.js';
import { SessionError } from './session-error.js';
import { SmtpConnection, type TlsResult } from './smtp-connection.js';
import type { RecipientOutcome } from './types.js';

const SERVICE_READY = 220;

export interface SessionSetup {
  /** Our name in EHLO/HELO. */
  readonly hostname: string;
  readonly clock: Clock;
  readonly replyLimits: ReplyLimits;
  readonly commandTimeoutMs: number;
  /** Extra TLS client options (e.g. `ca`); verification is required only by a session's SessionTls. */
  readonly tls: Pick<ConnectionOptions, 'ca' | 'minVersion' | 'ciphers'>;
}

/** How one session uses TLS. */
export interface SessionTls {
  /** opportunistic: STARTTLS when offered; none: never; starttls: required; implicit: TLS from the first byte. */
  readonly mode: RouteTlsMode;
  /** starttls/implicit: the certificate must verify against the host name. */
  readonly verify: boolean;
  /** CA certificates (PEM) trusted instead of the setup's. */
  readonly ca: string | undefined;
  /** A ready context holding the trusted CAs (Node's and delivery.caFile), used instead of `ca` and the setup's options. */
  readonly secureContext?: SecureContext;
  /** What requires the TLS, named in deferrals ("the MTA-STS policy of example.net"); a route's TLS names nothing. */
  readonly requiredBy?: string;
}

export const OPPORTUNISTIC_TLS: SessionTls = Object.freeze({ mode: 'opportunistic', verify: false, ca: undefined });
export const NO_TLS: SessionTls = Object.freeze({ mode: 'none', verify: false, ca: undefined });

export function tlsRequired(tls: SessionTls): boolean {
  return tls.mode === 'starttls' || tls.mode === 'implicit';
}

export interface OpenSession {
  readonly connection: SmtpConnection;
  readonly extensions: Extensions;
  readonly tls: TlsResult | undefined;
  /** The server offered STARTTLS and we did not use it (plaintext retry or refused STARTTLS). */
  readonly tlsSkipped: boolean;
}

/** Why TLS did not come about, as TLS reporting (RFC 8460 §4.3) needs it. */
export type TlsShortfall =
  | { readonly kind: 'starttls-not-offered' }
  | { readonly kind: 'starttls-refused'; readonly replyCode: number | undefined }
  /** The handshake failed; `code` is Node's error code when there is one. */
  | { readonly kind: 'handshake'; readonly code: string | undefined }
  /** The certificate did not verify; `code` is Node's (CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID...). */
  | { readonly kind: 'unverified'; readonly code: string };

export type OpenResult =
  | { readonly ok: true; readonly session: OpenSession }
  | { readonly ok: false; readonly outcome: RecipientOutcome; readonly tlsFailed: boolean; readonly tlsShortfall?: TlsShortfall };

type Hello = { readonly ok: true; readonly extensions: Extensions } | { readonly ok: false; readonly reply: Reply };

const isPositive = (reply: Reply): boolean => reply.code >= 200 && reply.code < 300;

/** EHLO, and HELO when EHLO gets a 5xx (RFC 5321 §3.2). */
async function hello(connection: SmtpConnection, setup: SessionSetup): Promise<Hello> {
  const ehlo = await connection.command(`EHLO ${setup.hostname}`, setup.commandTimeoutMs, 'EHLO');
  if (isPositive(ehlo)) return { ok: true, extensions: parseExtensions(ehlo) };
  if (ehlo.code < 500) return { ok: false, reply: ehlo };
  const helo = await connection.command(`HELO ${setup.hostname}`, setup.commandTimeoutMs, 'HELO');
  return isPositive(helo) ? { ok: true, extensions: NO_EXTENSIONS } : { ok: false, reply: helo };
}

/** The host refused us with a reply: say goodbye unless it is already closing (421). */
async function refused(connection: SmtpConnection, reply: Reply, peer: Peer, setup: SessionSetup): Promise<OpenResult> {
  if (reply.code === 421) connection.close();
  else await connection.quit(setup.commandTimeoutMs);
  return { ok: false, outcome: skippedHostOutcome(reply, peer), tlsFailed: false };
}

/** Required TLS is not to be had: leave (QUIT carries nothing) and defer with 4.7.5. */
async function withoutTls(connection: SmtpConnection, peer: Peer, setup: SessionSetup, tls: SessionTls, why: string, tlsShortfall: TlsShortfall): Promise<OpenResult> {
  await connection.quit(setup.commandTimeoutMs);
  return { ok: false, outcome: tlsRequiredOutcome(peer, `${tlsRequiredWith(peer, tls)}, but ${why}`), tlsFailed: false, tlsShortfall };
}

function tlsRequiredWith(peer: Peer, tls: SessionTls): string {
  return `TLS is required${tls.requiredBy === undefined ? '' : ` by ${tls.requiredBy}`} with ${describePeer(peer)}`;
}

function tlsOptions(peer: Peer, setup: SessionSetup, tls: SessionTls): ConnectionOptions {
  const servername = isIP(peer.host) === 0 ? peer.host : undefined;
  return {
    ...setup.tls,
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls.secureContext === undefined ? {} : { secureContext: tls.secureContext }),
    ...(servername === undefined ? {} : { servername }),
    // The route's host name (or IP address) is what the certificate must name (RFC 6125).
    ...(tls.verify ? { checkServerIdentity: (_name: string, certificate: Parameters<typeof checkServerIdentity>[1]) => checkServerIdentity(peer.host, certificate) } : {}),
  };
}

/** Why a handshake does not satisfy `tls`, or undefined when it does. */
function unverified(result: TlsResult, peer: Peer, tls: SessionTls): string | undefined {
  if (!tlsRequired(tls) || !tls.verify || result.verified) return undefined;
  return `its certificate does not verify for ${peer.host} (${result.verifyError ?? 'unverified'})`;
}

/**
 * Reads the greeting and says hello, with TLS as `tls` says. Never rejects for
 * remote or network failures: they come back as the outcome for skipping this host.
 */
export async function openSession(socket: Socket, peer: Peer, setup: SessionSetup, signal: AbortSignal, tls: SessionTls): Promise<OpenResult> {
  const connection = new SmtpConnection(socket, { clock: setup.clock, replyLimits: setup.replyLimits, signal });
  try {
    if (tls.mode === 'implicit') return await openImplicit(connection, peer, setup, tls);
    const greeting = await connection.readReply(setup.commandTimeoutMs, 'greeting');
    if (greeting.code !== SERVICE_READY) return await refused(connection, greeting, peer, setup);
    let said = await hello(connection, setup);
    if (!said.ok) return await refused(connection, said.reply, peer, setup);
    if (tls.mode === 'starttls' && !said.extensions.startTls) return await withoutTls(connection, peer, setup, tls, 'it does not offer STARTTLS', { kind: 'starttls-not-offered' });
    if (!said.extensions.startTls || tls.mode === 'none') return { ok: true, session: { connection, extensions: said.extensions, tls: undefined, tlsSkipped: said.extensions.startTls } };
    connection.send(['STARTTLS'], 'STARTTLS');
    const ready = await connection.readReply(setup.commandTimeoutMs, 'STARTTLS', { discardAfterCode: SERVICE_READY });
    if (ready.code === 421) return await refused(connection, ready, peer, setup);
    if (ready.code !== SERVICE_READY) {
      if (tls.mode === 'starttls') return await withoutTls(connection, peer, setup, tls, `it refused STARTTLS: ${replyText(ready)}`, { kind: 'starttls-refused', replyCode: ready.code });
      // Opportunistic (RFC 7435): a refused STARTTLS leaves the session in plaintext.
      return { ok: true, session: { connection, extensions: said.extensions, tls: undefined, tlsSkipped: true } };
    }
    const secured = await connection.startTls(tlsOptions(peer, setup, tls), setup.commandTimeoutMs);
    const problem = unverified(secured, peer, tls);
    if (problem !== undefined) return closeUnverified(connection, peer, tls, problem, secured);
    said = await hello(connection, setup);
    if (!said.ok) return await refused(connection, said.reply, peer, setup);
    return { ok: true, session: { connection, extensions: said.extensions, tls: secured, tlsSkipped: false } };
  } catch (error) {
    connection.close();
    if (!(error instanceof SessionError)) throw error;
    const tlsFailed = error.failure === 'tls';
    return { ok: false, outcome: sessionFailureOutcome(error, peer), tlsFailed, ...(tlsFailed ? { tlsShortfall: { kind: 'handshake', code: errnoCode(error.cause) } } : {}) };
  }
}

/** Implicit TLS (RFC 8314 §3.3): the handshake first, then the greeting over TLS. */
async function openImplicit(connection: SmtpConnection, peer: Peer, setup: SessionSetup, tls: SessionTls): Promise<OpenResult> {
  const secured = await connection.startTls(tlsOptions(peer, setup, tls), setup.commandTimeoutMs);
  const problem = unverified(secured, peer, tls);
  if (problem !== undefined) return closeUnverified(connection, peer, tls, problem, secured);
  const greeting = await connection.readReply(setup.commandTimeoutMs, 'greeting');
  if (greeting.code !== SERVICE_READY) return refused(connection, greeting, peer, setup);
  const said = await hello(connection, setup);
  if (!said.ok) return refused(connection, said.reply, peer, setup);
  return { ok: true, session: { connection, extensions: said.extensions, tls: secured, tlsSkipped: false } };
}

/** Not one byte more to a host whose certificate failed: close at once. */
function closeUnverified(connection: SmtpConnection, peer: Peer, tls: SessionTls, problem: string, secured: TlsResult): OpenResult {
  connection.close();
  const tlsShortfall: TlsShortfall = { kind: 'unverified', code: secured.verifyError ?? 'unverified' };
  return { ok: false, outcome: tlsRequiredOutcome(peer, `${tlsRequiredWith(peer, tls)}, but ${problem}`), tlsFailed: true, tlsShortfall };
}
