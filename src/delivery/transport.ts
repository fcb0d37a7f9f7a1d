// The outbound SMTP client behind the Transport seam: walks the next-hop plan
// (RFC 5321 §5.1: hosts by preference, each address, at most 5 addresses),
// reuses one session for a job's messages and reports each message's outcomes;
// routes add required TLS (RFC 8314), AUTH (RFC 4954), pacing and throttling pauses;
// MX plans follow delivery.tlsPolicy, DANE (RFC 7672) and MTA-STS (RFC 8461), TLS per host;
// messages with REQUIRETLS or "TLS-Required: No" (RFC 8689) go in sessions of their own,
// screened for that; a provider's throttling reply ends the walk over that provider's
// hosts (the scheduler pauses it).

import { isIP, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { RouteConfig } from '../config/types.js';
import type { DeliveryPlan, PlanSuccess } from '../dns/next-hop.js';
import { ConnectError, type Connector } from './connector.js';
import type { Credentials } from './credentials.js';
import { abortedOutcome, allRecipients, connectFailureOutcome, localOutcome, planFailureOutcome, requireTlsNotOfferedOutcome, requireTlsRefusedOutcome, type Peer } from './outcomes.js';
import { DEFAULT_REPLY_LIMITS, type ReplyLimits } from './reply-reader.js';
import { isThrottling, prepareRoute, waitForLane } from './route-attempt.js';
import { providerOfHost, providerOfPlan, type ProviderNaming } from './provider-key.js';
import { throttleAmong, throttleOf } from './throttle-reply.js';
import { authenticateRoute, type TransportObserver as RouteAuthObserver } from './route-auth.js';
import { RoutePolicies, type RouteRuntime } from './route-policy.js';
import { MX_NOT_AUTHENTICATED, screenForMessages, type MxAuthentication, type OutboundTlsPolicies } from './message-tls-screen.js';
import { NO_TLS, openSession, type OpenResult, type OpenSession, type SessionSetup, type SessionTls } from './session-setup.js';
import type { TlsResult } from './smtp-connection.js';
import { retryOverIpv4 } from './ipv6-refusal.js';
import { runTransaction, type TransactionTimeouts } from './transaction.js';
import type { HostSessionTls, TlsPolicyObserver } from './tls-screen.js';
import { reportSession } from './tls-report-hook.js';
import type { TlsReportRecorder } from '../tlsrpt/types.js';
import type { AttemptInfo, DeliveryJob, DeliveryLane, OutboundMessage, RecipientOutcome, ReportOutcomes, Transport } from './types.js';
import type { TlsRequirement } from '../spool/types.js';

export interface TransportObserver extends RouteAuthObserver, TlsPolicyObserver {}

/** RFC 5321 §4.5.3.2 defaults for the optional timeouts. */
export const DEFAULT_DATA_INIT_TIMEOUT_MS = 2 * 60_000;
export const DEFAULT_DATA_BLOCK_TIMEOUT_MS = 3 * 60_000;
/** Like Postfix's smtp_mx_address_limit. */
export const DEFAULT_MAX_ADDRESSES_PER_ATTEMPT = 5;
export const DEFAULT_MAX_MESSAGES_PER_SESSION = 100;

export interface SmtpTimeouts {
  readonly connectTimeoutMs: number;
  /** Greeting, EHLO/HELO, STARTTLS and the handshake, MAIL, RCPT, RSET, QUIT. */
  readonly commandTimeoutMs: number;
  readonly dataInitTimeoutMs?: number;
  readonly dataBlockTimeoutMs?: number;
  readonly dataDoneTimeoutMs: number;
}

export interface SmtpTransportOptions {
  /** Our EHLO name. */
  readonly hostname: string;
  /** The next-hop plan for a destination (planDelivery with the real resolver, in main). */
  readonly planner: (destination: string, signal: AbortSignal) => Promise<DeliveryPlan>;
  readonly connector: Connector;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timeouts: SmtpTimeouts;
  readonly maxMessagesPerSession?: number;
  readonly maxAddressesPerAttempt?: number;
  readonly tls?: SessionSetup['tls'];
  readonly replyLimits?: ReplyLimits;
  /** delivery.routes: the TLS, AUTH and limits of each route ("host[:port]" routes: opportunistic, none); default none. */
  readonly routes?: ReadonlyMap<string, RouteConfig>;
  readonly observer?: TransportObserver;
  /** OAuth2 token endpoints (client-credentials routes): CA certificates trusted instead of the default ones, request timeout. */
  readonly tokenEndpoint?: { readonly ca?: string | Buffer; readonly timeoutMs?: number };
  /** delivery.tlsPolicy, DANE and MTA-STS for MX and implicit-MX plans (routes and address literals keep their own TLS); default opportunistic. */
  readonly outboundTls?: OutboundTlsPolicies;
  /** Whether an MX answer was DNSSEC-secure (REQUIRETLS trusts its names); default: never. */
  readonly mxAuthenticated?: MxAuthentication;
  /** How MX hosts name their provider (delivery.providers MX patterns, delivery.publicSuffixes); default: registrable domains, built-in suffixes. */
  readonly providerNaming?: ProviderNaming;
  /** TLS reporting (RFC 8460): sessions to MX hosts under MTA-STS, DANE or no policy are recorded here. */
  readonly tlsReports?: TlsReportRecorder;
}

/** One job's walk over the plan: what every session of it shares. */
interface Attempt {
  readonly destination: string;
  readonly route: RouteRuntime | undefined;
  /** Each host's TLS: the route's for all, per host under tlsPolicy, DANE and MTA-STS, or as the messages' TLS requirement asks. */
  readonly tlsOf: (host: string) => HostSessionTls;
  /** The messages carry REQUIRETLS: hosts must offer it after STARTTLS, failures to get verified TLS bounce. */
  readonly requireTls: boolean;
  readonly credentials: Credentials | undefined;
  readonly queue: OutboundMessage[];
  readonly report: ReportOutcomes;
  readonly signal: AbortSignal;
  /** True when a message is waiting: the job's own, else one queued meanwhile that the lane grants. */
  readonly hasNext: () => Promise<boolean>;
}

/** The messages of one TLS requirement (RFC 8689) walking the plan's hosts together. */
interface Walk {
  readonly requirement: TlsRequirement | undefined;
  readonly queue: OutboundMessage[];
  /** Messages of other requirements that `more` handed over meanwhile: the next walks'. */
  readonly later: OutboundMessage[];
  readonly startMs: number;
}

/** Why a host was left, with what to tell the messages if no other host does better. */
interface HostFailure {
  readonly outcome: RecipientOutcome;
  readonly info: AttemptInfo;
  /** A REQUIRETLS message was refused by this host's TLS or missing REQUIRETLS (not a temporary condition). */
  readonly requireTlsRefusal?: boolean;
}

interface SessionRun {
  /** At least one message got its final outcomes: trying the same address again makes progress. */
  readonly progressed: boolean;
  /** The server refused our IPv6 address (Gmail 5.7.25): the message at the head of the queue goes over IPv4 instead. */
  readonly ipv6Refused?: { readonly outcomes: ReadonlyMap<string, RecipientOutcome>; readonly info: AttemptInfo };
  readonly failure: HostFailure | undefined;
  readonly tlsFailed: boolean;
  /** Stop the attempt: the credentials were refused or the route is throttled; the rest get `failure`. */
  readonly final: boolean;
  /** An MX host throttled us: other hosts of its provider are not tried in this attempt. */
  readonly providerThrottled?: boolean;
}

/**
 * The failure the messages get if no host does better: the latest, except that a REQUIRETLS
 * refusal (permanent) never hides another host's temporary failure: that host may do better later.
 */
function keptFailure(last: HostFailure | undefined, next: HostFailure | undefined): HostFailure | undefined {
  if (next === undefined) return last;
  if (next.requireTlsRefusal === true && last !== undefined && last.outcome.kind === 'transient') return last;
  return next;
}

export function describeTls(tls: TlsResult | undefined): string | null {
  if (tls === undefined) return null;
  const check = tls.dane !== undefined ? `verified by ${tls.dane}` : tls.verified ? 'verified' : 'unverified';
  return `${tls.protocol} ${tls.cipher} (${check})`;
}

/** The plan's addresses in order (only one family's, when given), at most `limit`. */
export function candidates(plan: PlanSuccess, limit: number, family?: 4 | 6): Peer[] {
  return plan.hosts
    .flatMap((host) => host.addresses.filter((address) => family === undefined || isIP(address) === family).map((address) => ({ host: host.host, address, port: host.port })))
    .slice(0, limit);
}

export class SmtpTransport implements Transport {
  readonly #options: SmtpTransportOptions;
  readonly #log: Logger;
  readonly #setup: SessionSetup;
  readonly #timeouts: TransactionTimeouts;
  readonly #routes: RoutePolicies;

  constructor(options: SmtpTransportOptions) {
    this.#options = options;
    const token = options.tokenEndpoint;
    this.#routes = new RoutePolicies(options.routes ?? new Map(), {
      clock: options.clock,
      ...(token?.ca === undefined ? {} : { tokenEndpointCa: token.ca }),
      ...(token?.timeoutMs === undefined ? {} : { tokenTimeoutMs: token.timeoutMs }),
    });
    this.#log = options.logger.child({ component: 'delivery' });
    this.#setup = { hostname: options.hostname, clock: options.clock, replyLimits: options.replyLimits ?? DEFAULT_REPLY_LIMITS, commandTimeoutMs: options.timeouts.commandTimeoutMs, tls: options.tls ?? {} };
    this.#timeouts = {
      commandTimeoutMs: options.timeouts.commandTimeoutMs,
      dataInitTimeoutMs: options.timeouts.dataInitTimeoutMs ?? DEFAULT_DATA_INIT_TIMEOUT_MS,
      dataBlockTimeoutMs: options.timeouts.dataBlockTimeoutMs ?? DEFAULT_DATA_BLOCK_TIMEOUT_MS,
      dataDoneTimeoutMs: options.timeouts.dataDoneTimeoutMs,
    };
  }

  /** Destinations that take the same route share its lane (sessions, pacing, pauses). */
  lane(destination: string): DeliveryLane | undefined {
    return this.#routes.forDestination(destination)?.lane;
  }

  /** The provider of the destination's MX hosts; none for routes, literals and failed plans. */
  async provider(destination: string, signal: AbortSignal): Promise<string | undefined> {
    if (this.#routes.forDestination(destination) !== undefined) return undefined;
    const plan = await this.#plan(destination, signal);
    return plan.ok ? providerOfPlan(plan, this.#options.providerNaming) : undefined;
  }

  async run(job: DeliveryJob, report: ReportOutcomes, signal: AbortSignal): Promise<void> {
    const queue = [...job.messages];
    if (queue.length === 0) return;
    const startMs = this.#options.clock.now();
    const plan = await this.#plan(job.destination, signal);
    if (!plan.ok) {
      this.#log.info({ destination: job.destination, status: plan.status, reason: plan.reason }, 'no delivery plan');
      await this.#reportAll(queue, report, { outcome: planFailureOutcome(plan), info: this.#noSession(startMs) });
      return;
    }
    const route = this.#routes.forPlan(plan);
    const prepared = await prepareRoute(route, signal, this.#log);
    if (!prepared.ok) {
      await this.#reportAll(queue, report, { outcome: signal.aborted ? abortedOutcome() : prepared.outcome, info: this.#noSession(startMs) });
      return;
    }
    // Messages that ask for other TLS handling (RFC 8689) take sessions of their own, one walk each.
    let pending = queue;
    for (let walkStartMs = startMs; pending.length > 0; walkStartMs = this.#options.clock.now()) {
      const requirement = pending[0]?.tlsRequirement;
      const later = pending.filter((message) => message.tlsRequirement !== requirement);
      const walk = { requirement, queue: pending.filter((message) => message.tlsRequirement === requirement), later, startMs: walkStartMs };
      await this.#walk(job, plan, route, prepared, walk, report, signal);
      pending = later;
    }
  }

  /** Tries the plan's hosts for the messages of one TLS requirement; a message of another one `more` hands over goes to `walk.later`. */
  async #walk(job: DeliveryJob, plan: PlanSuccess, route: RouteRuntime | undefined, prepared: { readonly tls: SessionTls; readonly credentials: Credentials | undefined }, walk: Walk, report: ReportOutcomes, signal: AbortSignal): Promise<void> {
    const { requirement, queue, startMs } = walk;
    const screened = await screenForMessages(requirement, plan, prepared.tls, signal, {
      outboundTls: this.#options.outboundTls,
      mxAuthenticated: this.#options.mxAuthenticated ?? MX_NOT_AUTHENTICATED,
      log: this.#log,
      observer: this.#options.observer,
      ...(this.#options.tlsReports === undefined ? {} : { tlsReports: this.#options.tlsReports }),
    });
    if (!screened.ok) {
      await this.#reportAll(queue, report, { outcome: signal.aborted ? abortedOutcome() : screened.outcome, info: this.#noSession(startMs) });
      return;
    }
    const usable = screened.plan;
    let peers = candidates(usable, this.#options.maxAddressesPerAttempt ?? DEFAULT_MAX_ADDRESSES_PER_ATTEMPT);
    const more = job.more;
    const hasNext = async (): Promise<boolean> => {
      if (queue.length > 0 || more === undefined) return queue.length > 0;
      if (route !== undefined && job.queued?.() === true) await waitForLane(route.lane, this.#options.clock, signal);
      let next = signal.aborted ? undefined : more();
      // An idle session waits a little for the next message rather than QUIT now and connect again.
      if (next === undefined && !signal.aborted && job.awaitMore !== undefined) next = await job.awaitMore(signal);
      if (next !== undefined && next.tlsRequirement !== requirement) walk.later.push(next);
      else if (next !== undefined) queue.push(next);
      return queue.length > 0;
    };
    const { hosts } = screened;
    const fallbackTls: HostSessionTls = { tls: prepared.tls, enforcedBy: undefined, testing: undefined };
    const tlsOf = (host: string): HostSessionTls => hosts.get(host) ?? fallbackTls;
    const attempt: Attempt = { destination: job.destination, route, tlsOf, requireTls: requirement === 'requiretls', credentials: prepared.credentials, queue, report, signal, hasNext };
    const plaintextHosts = new Set<string>();
    let last: HostFailure | undefined;
    for (let index = 0; index < peers.length && queue.length > 0 && !signal.aborted; ) {
      const peer = peers[index] as Peer;
      const run = await this.#session(peer, attempt, plaintextHosts.has(peer.host));
      last = keptFailure(last, run.failure);
      if (run.final) break;
      if (run.providerThrottled === true) {
        // Its other hosts would say the same (a provider limits by sender, not by host): only other providers' hosts are tried.
        const throttledBy = providerOfHost(peer.host, this.#options.providerNaming);
        peers = peers.slice(index + 1).filter((other) => providerOfHost(other.host, this.#options.providerNaming) !== throttledBy);
        index = 0;
        continue;
      }
      if (run.ipv6Refused !== undefined) {
        const ipv4 = candidates(usable, this.#options.maxAddressesPerAttempt ?? DEFAULT_MAX_ADDRESSES_PER_ATTEMPT, 4);
        this.#log.warn({ mx: peer.host, address: peer.address, ipv4Addresses: ipv4.length }, 'ipv6 address refused, trying ipv4');
        if (ipv4.length > 0) {
          peers = ipv4;
          index = 0;
          continue;
        }
        const message = queue.shift() as OutboundMessage;
        await attempt.report(message.id, run.ipv6Refused.outcomes, run.ipv6Refused.info);
      }
      // Only opportunistic TLS falls back: a route that requires TLS never sends in clear.
      if (run.tlsFailed && attempt.tlsOf(peer.host).tls.mode === 'opportunistic' && !plaintextHosts.has(peer.host)) {
        // Like Postfix's "may": a failed handshake retries this host once in plaintext.
        plaintextHosts.add(peer.host);
        continue;
      }
      if (!run.progressed || queue.length === 0) index += 1;
    }
    const fallback = this.#noSession(startMs);
    if (signal.aborted) await this.#reportAll(queue, report, { outcome: abortedOutcome(), info: last?.info ?? fallback });
    else await this.#reportAll(queue, report, last ?? { outcome: localOutcome('transient', 451, '4.4.3', `${job.destination}: no usable mail server address`), info: fallback });
  }

  #noSession(startMs: number): AttemptInfo {
    return { mx: undefined, address: undefined, tls: null, durationMs: this.#options.clock.now() - startMs };
  }

  async #plan(destination: string, signal: AbortSignal): Promise<DeliveryPlan> {
    try {
      return await this.#options.planner(destination, signal);
    } catch (error) {
      this.#log.error({ err: error, destination }, 'delivery plan failed');
      return { ok: false, domain: destination, permanent: false, status: '4.4.3', reason: `DNS lookup failed: ${errorMessage(error)}` };
    }
  }

  async #reportAll(messages: OutboundMessage[], report: ReportOutcomes, failure: HostFailure): Promise<void> {
    while (messages.length > 0) {
      const message = messages.shift() as OutboundMessage;
      await report(message.id, allRecipients(message.recipients, failure.outcome), failure.info);
    }
  }

  /** One connection to `peer`, carrying queued messages until done, the cap, or a failure. */
  async #session(peer: Peer, attempt: Attempt, plaintext: boolean): Promise<SessionRun> {
    const { queue, signal } = attempt;
    const startMs = this.#options.clock.now();
    const info = (tls: TlsResult | undefined, fromMs: number): AttemptInfo => ({ mx: peer.host, address: peer.address, tls: describeTls(tls), durationMs: this.#options.clock.now() - fromMs });
    let socket: Socket;
    try {
      socket = await this.#options.connector.connect({ host: peer.address, port: peer.port, timeoutMs: this.#options.timeouts.connectTimeoutMs, signal });
    } catch (error) {
      if (!(error instanceof ConnectError)) throw error;
      return this.#skip(peer, queue, { outcome: connectFailureOutcome(error, peer), info: info(undefined, startMs) }, false, false);
    }
    const hostTls = attempt.tlsOf(peer.host);
    const localAddress = socket.localAddress;
    const opened = await openSession(socket, peer, this.#setup, signal, plaintext ? NO_TLS : hostTls.tls);
    const { route, credentials } = attempt;
    if (hostTls.testing !== undefined && !plaintext) this.#checkTesting(peer, hostTls.testing, opened);
    const tlsReports = this.#options.tlsReports;
    if (tlsReports !== undefined && hostTls.report !== undefined && !plaintext) reportSession(tlsReports, hostTls.report, peer, localAddress, opened);
    if (!opened.ok) {
      const failure = this.#tlsPolicyFailure(peer, attempt, hostTls, opened, queue[0]);
      // "421 4.3.2 too many connections" in the greeting is a smarthost's way to slow us down, too.
      const throttled = route?.isObject === true && isThrottling(opened.outcome) && this.#pause(route, peer, opened.outcome);
      const skipped = this.#skip(peer, queue, { ...failure, info: info(undefined, startMs) }, opened.tlsFailed, throttled);
      return route === undefined && throttleOf(opened.outcome) !== undefined ? { ...skipped, providerThrottled: true } : skipped;
    }
    if (attempt.requireTls && !opened.session.extensions.requireTls) {
      // RFC 8689 §4.2.1 step 4: the next hop must relay REQUIRETLS itself; leave before any transaction.
      this.#options.observer?.tlsPolicyFailure?.('requiretls', 'requiretls-not-supported');
      this.#log.warn({ qid: queue[0]?.id, mx: peer.host, address: peer.address, policy: 'requiretls', result: 'requiretls-not-supported', tls: describeTls(opened.session.tls) }, 'tls policy failure');
      await this.#end(opened.session, true);
      return this.#skip(peer, queue, { outcome: requireTlsNotOfferedOutcome(peer), info: info(opened.session.tls, startMs), requireTlsRefusal: true }, false, false);
    }
    if (route !== undefined && credentials !== undefined) {
      const context = { route, credentials, commandTimeoutMs: this.#timeouts.commandTimeoutMs, log: this.#log, observer: this.#options.observer };
      const authed = await authenticateRoute(opened.session, peer, context);
      if (!authed.ok) {
        await this.#end(opened.session, true);
        return this.#skip(peer, queue, { outcome: authed.outcome, info: info(opened.session.tls, startMs) }, false, authed.final);
      }
    }
    this.#logSession(peer, opened.session, plaintext, route, hostTls.tls);
    return this.#carry(peer, opened.session, attempt, startMs, info);
  }

  async #carry(peer: Peer, session: OpenSession, attempt: Attempt, startMs: number, info: (tls: TlsResult | undefined, fromMs: number) => AttemptInfo): Promise<SessionRun> {
    const { connection } = session;
    const { queue, signal, route } = attempt;
    const maxMessages = this.#options.maxMessagesPerSession ?? DEFAULT_MAX_MESSAGES_PER_SESSION;
    let usable = true;
    let progressed = false;
    let failure: HostFailure | undefined;
    let throttled = false;
    let providerThrottled = false;
    try {
      for (let sent = 0; sent < maxMessages && usable && !signal.aborted && (await attempt.hasNext()); sent += 1) {
        const messageStartMs = sent === 0 ? startMs : this.#options.clock.now();
        const message = queue[0] as OutboundMessage;
        // On a reused session RSET goes first (with the envelope when pipelining); if it fails, the message waits for a new session.
        const result = await runTransaction(connection, message, session.extensions, peer, this.#timeouts, { reset: sent > 0 });
        usable = result.sessionUsable && connection.failed === undefined;
        if (result.kind === 'reset-failed') break;
        const timing: AttemptInfo = { ...info(session.tls, messageStartMs), exchange: connection.exchange };
        if (result.kind === 'skip-host') {
          failure = { outcome: result.outcome, info: timing };
          this.#log.info({ qid: message.id, mx: peer.host, address: peer.address, tls: timing.tls, reply: result.outcome.reply, durationMs: timing.durationMs }, 'host skipped');
          throttled = route?.isObject === true && isThrottling(result.outcome) && this.#pause(route, peer, result.outcome);
          providerThrottled = route === undefined && throttleOf(result.outcome) !== undefined;
          break;
        }
        const blamed = retryOverIpv4(peer.address, result.outcomes);
        if (blamed !== undefined) {
          this.#log.info({ qid: message.id, mx: peer.host, address: peer.address, reply: blamed.reply }, 'host skipped');
          return { progressed, failure, tlsFailed: false, final: false, ipv6Refused: { outcomes: result.outcomes, info: timing } };
        }
        queue.shift();
        progressed = true;
        this.#logAttempt(message, result.outcomes, result.summary, timing);
        await attempt.report(message.id, result.outcomes, timing);
        if (route === undefined) {
          const slowDown = throttleAmong(result.outcomes.values());
          if (slowDown === undefined) continue;
          // The rest of the job is deferred with the provider's words; the scheduler pauses the provider.
          failure = { outcome: slowDown.outcome, info: timing };
          providerThrottled = true;
          break;
        }
        if (route.isObject !== true) continue;
        if ([...result.outcomes.values()].some((outcome) => outcome.kind === 'delivered')) route.lane.recordDelivered();
        const slowDown = [...result.outcomes.values()].find(isThrottling);
        if (slowDown !== undefined) {
          // The rest of the job waits for the route's pause to end; they are told what the smarthost said.
          failure = { outcome: slowDown, info: timing };
          throttled = this.#pause(route, peer, slowDown);
          break;
        }
      }
    } finally {
      await this.#end(session, usable);
    }
    return { progressed, failure, tlsFailed: false, final: throttled, providerThrottled };
  }

  /** QUIT on a healthy session, else close it. */
  async #end(session: OpenSession, usable: boolean): Promise<void> {
    if (usable && session.connection.failed === undefined) await session.connection.quit(this.#timeouts.commandTimeoutMs);
    else session.connection.close();
  }

  /** A throttling reply pauses the route's lane; returns true. */
  #pause(route: RouteRuntime, peer: Peer, outcome: RecipientOutcome): true {
    const pauseMs = route.lane.recordThrottle(this.#options.clock.now());
    this.#log.warn({ route: route.key, mx: peer.host, address: peer.address, reply: outcome.reply, pauseMs }, 'smarthost throttled the route');
    return true;
  }

  #skip(peer: Peer, queue: readonly OutboundMessage[], failure: HostFailure, tlsFailed: boolean, final: boolean): SessionRun {
    this.#log.info({ qid: queue[0]?.id, mx: peer.host, address: peer.address, reply: failure.outcome.reply, durationMs: failure.info.durationMs, tlsFailed }, 'host skipped');
    return { progressed: false, failure, tlsFailed, final };
  }

  /**
   * A session that did not open: TLS a policy requires that failed is counted, logged and handed
   * on for TLS reporting (RFC 8460), and for a REQUIRETLS message it is final (RFC 8689 §4.2.1:
   * 5.7.10, never sent without it).
   */
  #tlsPolicyFailure(peer: Peer, attempt: Attempt, hostTls: HostSessionTls, opened: Extract<OpenResult, { ok: false }>, head: OutboundMessage | undefined): Omit<HostFailure, 'info'> {
    const problem = opened.tlsFailure;
    const policy = hostTls.enforcedBy;
    if (problem === undefined || policy === undefined) return { outcome: opened.outcome };
    this.#options.observer?.tlsPolicyFailure?.(policy, problem.result);
    this.#options.observer?.tlsFailure?.({ resultType: problem.result, policy, domain: attempt.destination, mx: peer.host, address: peer.address, reason: problem.text });
    this.#log.warn({ qid: head?.id, destination: attempt.destination, mx: peer.host, address: peer.address, policy, result: problem.result, problem: problem.text }, 'tls policy failure');
    return attempt.requireTls ? { outcome: requireTlsRefusedOutcome(problem.text, peer.host), requireTlsRefusal: true } : { outcome: opened.outcome };
  }

  /** MTA-STS testing mode (RFC 8461 §5): a host without STARTTLS or a certificate valid for its name is logged, and used. */
  #checkTesting(peer: Peer, testing: { readonly domain: string; readonly id: string }, opened: Awaited<ReturnType<typeof openSession>>): void {
    let problem: string | undefined;
    if (!opened.ok) problem = opened.tlsFailed ? `TLS failed: ${opened.outcome.reply}` : undefined;
    else if (opened.session.tls === undefined) problem = opened.session.tlsSkipped ? 'STARTTLS refused' : 'no STARTTLS offered';
    else if (!opened.session.tls.verified) problem = `certificate does not verify for ${peer.host} (${opened.session.tls.verifyError ?? 'unverified'})`;
    if (problem === undefined) return;
    this.#options.observer?.stsTestingFailure?.();
    this.#log.warn({ destination: testing.domain, mtaStsId: testing.id, mx: peer.host, address: peer.address, problem }, 'mta-sts testing: policy would refuse this host');
  }

  #logSession(peer: Peer, session: OpenSession, plaintext: boolean, route: RouteRuntime | undefined, sessionTls: SessionTls): void {
    const { tls, connection } = session;
    if (connection.discardedBytes > 0) this.#log.warn({ mx: peer.host, address: peer.address, discardedBytes: connection.discardedBytes }, 'discarded data sent with the STARTTLS reply');
    const routeFields = route === undefined ? {} : { route: route.key, tlsMode: route.policy.tls };
    const requiredBy = sessionTls.requiredBy === undefined ? {} : { tlsRequiredBy: sessionTls.requiredBy };
    const tlsFields = { tls: describeTls(tls), tlsVerifyError: tls?.verifyError, plaintextRetry: plaintext, tlsSkipped: session.tlsSkipped };
    this.#log.info({ mx: peer.host, address: peer.address, ...routeFields, ...requiredBy, ...tlsFields, pipelining: session.extensions.pipelining, offersRequireTls: session.extensions.requireTls }, 'session open');
  }

  #logAttempt(message: OutboundMessage, outcomes: ReadonlyMap<string, RecipientOutcome>, summary: string, attempt: AttemptInfo): void {
    const counts = { delivered: 0, transient: 0, permanent: 0 };
    for (const outcome of outcomes.values()) counts[outcome.kind] += 1;
    const requirement = message.tlsRequirement === undefined ? {} : { tlsRequirement: message.tlsRequirement };
    this.#log.info({ qid: message.id, mx: attempt.mx, address: attempt.address, tls: attempt.tls, ...requirement, reply: summary, durationMs: attempt.durationMs, ...counts }, 'delivery attempt');
  }
}
