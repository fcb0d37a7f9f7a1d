// Asks a domain's next hop whether it takes a recipient, the way delivery
// would reach it (route or MX, STARTTLS, a route's AUTH), without sending a
// message: EHLO, MAIL FROM:<>, RCPT TO, RSET, QUIT (RFC 5321 §3.3, §4.1.1.5;
// Postfix verify(8), Exim callouts). 2xx valid, 5xx unknown user, else unavailable.

import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { RouteConfig } from '../config/types.js';
import { isLoopFailure, type DeliveryPlan } from '../dns/next-hop.js';
import { replyText, type Reply } from '../smtp/reply.js';
import { ConnectError, type Connector } from './connector.js';
import { connectFailureOutcome, describePeer, sessionFailureOutcome, type Peer } from './outcomes.js';
import { DEFAULT_REPLY_LIMITS } from './reply-reader.js';
import { prepareRoute } from './route-attempt.js';
import { authenticateRoute } from './route-auth.js';
import { RoutePolicies, type RouteRuntime } from './route-policy.js';
import { NO_TLS, openSession, type OpenSession, type SessionSetup, type SessionTls } from './session-setup.js';
import { SessionError } from './session-error.js';
import type { Credentials } from './credentials.js';
import { candidates, DEFAULT_MAX_ADDRESSES_PER_ATTEMPT } from './transport.js';

export type ProbeResult = 'valid' | 'invalid' | 'unavailable' | 'unverifiable';

export interface RecipientProbeAnswer {
  readonly result: ProbeResult;
  /** One line for logs: the reply and who gave it, or why no one was asked. */
  readonly detail: string;
}

export interface RecipientProberOptions {
  /** Our EHLO name. */
  readonly hostname: string;
  /** The same next-hop planner delivery uses (routes, MX, loop guard). */
  readonly planner: (domain: string, signal: AbortSignal) => Promise<DeliveryPlan>;
  readonly connector: Connector;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timeouts: { readonly connectTimeoutMs: number; readonly commandTimeoutMs: number };
  /** delivery.routes: a route's TLS and AUTH apply to its probes as to its deliveries. */
  readonly routes?: ReadonlyMap<string, RouteConfig>;
  readonly maxAddresses?: number;
  readonly tls?: SessionSetup['tls'];
}

interface Prepared {
  readonly route: RouteRuntime | undefined;
  readonly tls: SessionTls;
  readonly credentials: Credentials | undefined;
}

/** One host asked: an answer, or why we went on (and whether going on is pointless). */
type HostStep =
  | { readonly kind: 'answer'; readonly answer: RecipientProbeAnswer }
  | { readonly kind: 'skip'; readonly detail: string; readonly tlsFailed: boolean; readonly final: boolean };

const isPositive = (reply: Reply): boolean => reply.code >= 200 && reply.code < 300;
const SERVICE_CLOSING = 421;

function skip(detail: string, options: { tlsFailed?: boolean; final?: boolean } = {}): HostStep {
  return { kind: 'skip', detail, tlsFailed: options.tlsFailed ?? false, final: options.final ?? false };
}

function answer(result: ProbeResult, detail: string): HostStep {
  return { kind: 'answer', answer: { result, detail } };
}

export class RecipientProber {
  readonly #options: RecipientProberOptions;
  readonly #routes: RoutePolicies;
  readonly #setup: SessionSetup;
  readonly #log: Logger;

  constructor(options: RecipientProberOptions) {
    this.#options = options;
    this.#routes = new RoutePolicies(options.routes ?? new Map(), { clock: options.clock });
    const { commandTimeoutMs } = options.timeouts;
    this.#setup = { hostname: options.hostname, clock: options.clock, replyLimits: DEFAULT_REPLY_LIMITS, commandTimeoutMs, tls: options.tls ?? {} };
    this.#log = options.logger.child({ component: 'probe' });
  }

  /** Asks the next hop of `recipient.domain` about `recipient.address`; never rejects for remote, DNS or network failures. */
  async probe(recipient: { readonly address: string; readonly domain: string }, signal: AbortSignal): Promise<RecipientProbeAnswer> {
    let plan: DeliveryPlan;
    try {
      plan = await this.#options.planner(recipient.domain, signal);
    } catch (error: unknown) {
      return { result: 'unavailable', detail: `DNS lookup failed: ${errorMessage(error)}` };
    }
    if (!plan.ok) {
      // The next hop is this host: nothing to ask (delivery's loop handling applies).
      if (isLoopFailure(plan)) return { result: 'unverifiable', detail: `${plan.domain}: ${plan.reason}` };
      return { result: 'unavailable', detail: `${plan.status} ${plan.domain}: ${plan.reason}` };
    }
    const route = this.#routes.forPlan(plan);
    const ready = await prepareRoute(route, signal, this.#log);
    if (!ready.ok) return { result: 'unavailable', detail: ready.outcome.reply };
    const prepared: Prepared = { route, tls: ready.tls, credentials: ready.credentials };
    const peers = candidates(plan, this.#options.maxAddresses ?? DEFAULT_MAX_ADDRESSES_PER_ATTEMPT);
    const plaintextHosts = new Set<string>();
    let last = `${recipient.domain}: no usable mail server address`;
    for (let index = 0; index < peers.length && !signal.aborted; ) {
      const peer = peers[index] as Peer;
      const step = await this.#ask(peer, recipient.address, prepared, signal, plaintextHosts.has(peer.host));
      if (step.kind === 'answer') {
        this.#log.debug({ rcpt: recipient.address, mx: peer.host, address: peer.address, result: step.answer.result, reply: step.answer.detail }, 'probe answered');
        return step.answer;
      }
      this.#log.debug({ rcpt: recipient.address, mx: peer.host, address: peer.address, reason: step.detail }, 'probe skipped host');
      last = step.detail;
      if (step.final) break;
      // As delivery does: a failed opportunistic handshake retries the host once in plaintext.
      if (step.tlsFailed && prepared.tls.mode === 'opportunistic' && !plaintextHosts.has(peer.host)) {
        plaintextHosts.add(peer.host);
        continue;
      }
      index += 1;
    }
    return { result: 'unavailable', detail: last };
  }

  async #ask(peer: Peer, address: string, prepared: Prepared, signal: AbortSignal, plaintext: boolean): Promise<HostStep> {
    const { connectTimeoutMs, commandTimeoutMs } = this.#options.timeouts;
    let socket;
    try {
      socket = await this.#options.connector.connect({ host: peer.address, port: peer.port, timeoutMs: connectTimeoutMs, signal });
    } catch (error: unknown) {
      if (!(error instanceof ConnectError)) throw error;
      return skip(connectFailureOutcome(error, peer).reply);
    }
    const opened = await openSession(socket, peer, this.#setup, signal, plaintext ? NO_TLS : prepared.tls);
    if (!opened.ok) return skip(opened.outcome.reply, { tlsFailed: opened.tlsFailed });
    const { route, credentials } = prepared;
    if (route !== undefined && credentials !== undefined) {
      const authed = await authenticateRoute(opened.session, peer, { route, credentials, commandTimeoutMs, log: this.#log, observer: undefined });
      if (!authed.ok) {
        opened.session.connection.close();
        return skip(authed.outcome.reply, { final: authed.final });
      }
    }
    try {
      return await this.#dialog(opened.session, peer, address);
    } catch (error: unknown) {
      opened.session.connection.close();
      if (!(error instanceof SessionError)) throw error;
      return skip(sessionFailureOutcome(error, peer).reply);
    }
  }

  /** MAIL FROM:<>, RCPT TO, then RSET and QUIT; throws SessionError when the session fails. */
  async #dialog(session: OpenSession, peer: Peer, address: string): Promise<HostStep> {
    const { connection, extensions } = session;
    const { commandTimeoutMs } = this.#options.timeouts;
    const said = (reply: Reply): string => `${replyText(reply)} (${describePeer(peer)})`;
    const utf8 = /[^\x00-\x7f]/.test(address) && extensions.smtpUtf8;
    const mail = await connection.command(utf8 ? 'MAIL FROM:<> SMTPUTF8' : 'MAIL FROM:<>', commandTimeoutMs, 'MAIL');
    if (!isPositive(mail)) {
      await connection.quit(commandTimeoutMs);
      // A server that refuses the null sender refuses bounces too; it cannot be asked, but that says nothing of the address.
      return mail.code >= 500 ? answer('unverifiable', `the next hop refuses probes: MAIL FROM:<> answered ${said(mail)}`) : skip(said(mail));
    }
    const rcpt = await connection.command(`RCPT TO:<${address}>`, commandTimeoutMs, 'RCPT');
    if (rcpt.code === SERVICE_CLOSING) {
      connection.close();
      return skip(said(rcpt));
    }
    await connection.command('RSET', commandTimeoutMs, 'RSET').catch(() => undefined);
    await connection.quit(commandTimeoutMs);
    if (isPositive(rcpt)) return answer('valid', said(rcpt));
    return answer(rcpt.code >= 500 ? 'invalid' : 'unavailable', said(rcpt));
  }
}
