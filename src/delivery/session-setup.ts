// Opening an outbound SMTP session on a connected socket: greeting, EHLO with
// HELO fallback (RFC 5321 §4.1.1.1, §3.2), STARTTLS (RFC 3207) opportunistic
// (RFC 7435) or required, implicit TLS (RFC 8314 §3.3), the certificate checked
// against CAs or DANE TLSA records (RFC 7672 §3), and the fresh EHLO after TLS (§4.2).

import type { Socket } from 'node:net';
import { checkServerIdentity, type ConnectionOptions, type SecureContext } from 'node:tls';
import { isIP } from 'node:net';
import type { Clock } from '../core/clock.js';
import { errnoCode } from '../core/errors.js';
import type { RouteTlsMode } from '../config/types.js';
import { verifyDane, type DaneCheck } from '../dane/verify.js';
import { replyText, type Reply } from '../smtp/reply.js';
import { NO_EXTENSIONS, parseExtensions, type Extensions } from './extensions.js';
import { describePeer, sessionFailureOutcome, skippedHostOutcome, tlsRequiredOutcome, type Peer } from './outcomes.js';
import type { ReplyLimits } from './reply-reader.js';
import { SessionError } from './session-error.js';
import { SmtpConnection, type TlsResult } from './smtp-connection.js';
import { certificateFailure, type TlsFailure } from './tls-failure.js';
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
  /**
   * DANE (RFC 7672 §3): the certificate must match one of these TLSA records; CAs and `verify`
   * play no part. Goes with `mode: 'starttls'` and a context trusting no CA (the chain as sent).
   */
  readonly dane?: DaneCheck;
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

export type OpenResult =
  | { readonly ok: true; readonly session: OpenSession }
  | {
      readonly ok: false;
      readonly outcome: RecipientOutcome;
      readonly tlsFailed: boolean;
      /** TLS was not to be had as `tls` asks (no STARTTLS, refused, failed handshake, certificate not verified or matching no TLSA record). */
      readonly tlsFailure?: TlsFailure;
    };

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
async function withoutTls(connection: SmtpConnection, peer: Peer, setup: SessionSetup, tls: SessionTls, why: string, code: string): Promise<OpenResult> {
  await connection.quit(setup.commandTimeoutMs);
  const text = `${tlsRequiredWith(peer, tls)}, but ${why}`;
  return { ok: false, outcome: tlsRequiredOutcome(peer, text), tlsFailed: false, tlsFailure: { result: 'starttls-not-supported', text, code } };
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

type Checked = { readonly ok: true; readonly tls: TlsResult } | { readonly ok: false; readonly failure: TlsFailure };

/**
 * Whether a handshake satisfies `tls`: the certificate against the TLSA records (DANE; a match
 * makes the session `verified`, as REQUIRETLS asks, RFC 8689 §4.2.1), or against CAs and the host name when verified.
 */
function checkCertificate(connection: SmtpConnection, result: TlsResult, peer: Peer, tls: SessionTls, setup: SessionSetup): Checked {
  if (tls.dane !== undefined) {
    const verdict = verifyDane(connection.peerCertificateChain(), tls.dane, setup.clock.now());
    if (verdict.ok) return { ok: true, tls: { ...result, verified: true, verifyError: undefined, dane: verdict.matched } };
    const text = `${tlsRequiredWith(peer, tls)}, but its certificate matches none of the TLSA records (${verdict.reason})`;
    return { ok: false, failure: { result: 'validation-failure', text, code: 'tlsa-mismatch' } };
  }
  if (!tlsRequired(tls) || !tls.verify || result.verified) return { ok: true, tls: result };
  const text = `${tlsRequiredWith(peer, tls)}, but its certificate does not verify for ${peer.host} (${result.verifyError ?? 'unverified'})`;
  return { ok: false, failure: { result: certificateFailure(result.verifyError), text, code: result.verifyError ?? 'unverified' } };
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
    if (tls.mode === 'starttls' && !said.extensions.startTls) return await withoutTls(connection, peer, setup, tls, 'it does not offer STARTTLS', 'starttls-not-offered');
    if (!said.extensions.startTls || tls.mode === 'none') return { ok: true, session: { connection, extensions: said.extensions, tls: undefined, tlsSkipped: said.extensions.startTls } };
    connection.send(['STARTTLS'], 'STARTTLS');
    const ready = await connection.readReply(setup.commandTimeoutMs, 'STARTTLS', { discardAfterCode: SERVICE_READY });
    if (ready.code === 421) return await refused(connection, ready, peer, setup);
    if (ready.code !== SERVICE_READY) {
      if (tls.mode === 'starttls') return await withoutTls(connection, peer, setup, tls, `it refused STARTTLS: ${replyText(ready)}`, `starttls-reply-${ready.code}`);
      // Opportunistic (RFC 7435): a refused STARTTLS leaves the session in plaintext.
      return { ok: true, session: { connection, extensions: said.extensions, tls: undefined, tlsSkipped: true } };
    }
    const checked = checkCertificate(connection, await connection.startTls(tlsOptions(peer, setup, tls), setup.commandTimeoutMs), peer, tls, setup);
    if (!checked.ok) return closeUnverified(connection, peer, checked.failure);
    said = await hello(connection, setup);
    if (!said.ok) return await refused(connection, said.reply, peer, setup);
    return { ok: true, session: { connection, extensions: said.extensions, tls: checked.tls, tlsSkipped: false } };
  } catch (error) {
    connection.close();
    if (!(error instanceof SessionError)) throw error;
    const outcome = sessionFailureOutcome(error, peer);
    if (error.failure !== 'tls') return { ok: false, outcome, tlsFailed: false };
    // A failed handshake (RFC 8460 has no better type for it); counted only where a policy requires the TLS.
    return { ok: false, outcome, tlsFailed: true, tlsFailure: { result: 'validation-failure', text: `TLS with ${describePeer(peer)} failed: ${error.message}`, code: errnoCode(error.cause) ?? 'tls-handshake-failed' } };
  }
}

/** Implicit TLS (RFC 8314 §3.3): the handshake first, then the greeting over TLS. */
async function openImplicit(connection: SmtpConnection, peer: Peer, setup: SessionSetup, tls: SessionTls): Promise<OpenResult> {
  const checked = checkCertificate(connection, await connection.startTls(tlsOptions(peer, setup, tls), setup.commandTimeoutMs), peer, tls, setup);
  if (!checked.ok) return closeUnverified(connection, peer, checked.failure);
  const greeting = await connection.readReply(setup.commandTimeoutMs, 'greeting');
  if (greeting.code !== SERVICE_READY) return refused(connection, greeting, peer, setup);
  const said = await hello(connection, setup);
  if (!said.ok) return refused(connection, said.reply, peer, setup);
  return { ok: true, session: { connection, extensions: said.extensions, tls: checked.tls, tlsSkipped: false } };
}

/** Not one byte more to a host whose certificate failed: close at once. */
function closeUnverified(connection: SmtpConnection, peer: Peer, failure: TlsFailure): OpenResult {
  connection.close();
  return { ok: false, outcome: tlsRequiredOutcome(peer, failure.text), tlsFailed: true, tlsFailure: failure };
}
