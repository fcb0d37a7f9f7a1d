// Opening an outbound SMTP session on a connected socket: greeting, EHLO with
// HELO fallback (RFC 5321 §4.1.1.1, §3.2), opportunistic STARTTLS (RFC 3207,
// RFC 7435) and the fresh EHLO after it, forgetting all pre-TLS state (§4.2).

import type { Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { isIP } from 'node:net';
import type { Clock } from '../core/clock.js';
import type { Reply } from '../smtp/reply.js';
import { NO_EXTENSIONS, parseExtensions, type Extensions } from './extensions.js';
import { sessionFailureOutcome, skippedHostOutcome, type Peer } from './outcomes.js';
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
  /** Extra TLS client options (e.g. `ca`); verification is never required (opportunistic). */
  readonly tls: Pick<ConnectionOptions, 'ca' | 'minVersion' | 'ciphers'>;
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
  | { readonly ok: false; readonly outcome: RecipientOutcome; readonly tlsFailed: boolean };

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

/**
 * Reads the greeting and says hello; upgrades to TLS when offered unless
 * `plaintext` (the retry after a failed handshake). Never rejects for remote
 * or network failures: they come back as the outcome for skipping this host.
 */
export async function openSession(socket: Socket, peer: Peer, setup: SessionSetup, signal: AbortSignal, plaintext: boolean): Promise<OpenResult> {
  const connection = new SmtpConnection(socket, { clock: setup.clock, replyLimits: setup.replyLimits, signal });
  try {
    const greeting = await connection.readReply(setup.commandTimeoutMs, 'greeting');
    if (greeting.code !== SERVICE_READY) return await refused(connection, greeting, peer, setup);
    let said = await hello(connection, setup);
    if (!said.ok) return await refused(connection, said.reply, peer, setup);
    if (!said.extensions.startTls || plaintext) return { ok: true, session: { connection, extensions: said.extensions, tls: undefined, tlsSkipped: said.extensions.startTls } };
    connection.send(['STARTTLS'], 'STARTTLS');
    const ready = await connection.readReply(setup.commandTimeoutMs, 'STARTTLS', { discardAfterCode: SERVICE_READY });
    if (ready.code === 421) return await refused(connection, ready, peer, setup);
    // Opportunistic (RFC 7435): a refused STARTTLS leaves the session in plaintext.
    if (ready.code !== SERVICE_READY) return { ok: true, session: { connection, extensions: said.extensions, tls: undefined, tlsSkipped: true } };
    const servername = isIP(peer.host) === 0 ? peer.host : undefined;
    const tls = await connection.startTls({ ...setup.tls, ...(servername === undefined ? {} : { servername }) }, setup.commandTimeoutMs);
    said = await hello(connection, setup);
    if (!said.ok) return await refused(connection, said.reply, peer, setup);
    return { ok: true, session: { connection, extensions: said.extensions, tls, tlsSkipped: false } };
  } catch (error) {
    if (!(error instanceof SessionError)) {
      connection.close();
      throw error;
    }
    connection.close();
    return { ok: false, outcome: sessionFailureOutcome(error, peer), tlsFailed: error.failure === 'tls' };
  }
}
