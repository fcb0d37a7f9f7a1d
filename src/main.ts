// Composition root: builds the real parts from a validated Config (spool,
// resolver, SMTP transport, scheduler, SMTP listeners, control socket) and
// wires them together. Only this file and cli/ construct concrete parts.

import { randomInt } from 'node:crypto';
import { FailureLimiter } from './auth/failure-limiter.js';
import { loadUsersFile } from './auth/users-file.js';
import { access, constants } from 'node:fs/promises';
import { OutpostError } from './core/errors.js';
import { loadDomainsFile } from './config/load.js';
import { loadRecipientsFile, type RecipientList } from './config/recipients-file.js';
import { RecipientProber } from './delivery/recipient-probe.js';
import { CachingRecipientVerifier } from './verify/recipient-verifier.js';
import { loadTlsContexts, type TlsContexts } from './config/tls-files.js';
import type { TlsFilesConfig } from './config/types.js';
import { OpsHttpServer } from './observability/http-server.js';
import { Metrics, type QueueSnapshot } from './observability/metrics.js';
import { ProcessMetrics } from './observability/process-metrics.js';
import type { DeliveryObserver } from './scheduler/types.js';
import { systemClock, type Clock } from './core/clock.js';
import { NetworkSet, parseCidr, type Cidr } from './core/network.js';
import type { Config } from './config/types.js';
import { ControlServer, type QueueReader } from './control/control-server.js';
import { controlSocketPath, type QueueController } from './control/protocol.js';
import { NetConnector } from './delivery/connector.js';
import { SmtpTransport } from './delivery/transport.js';
import { providerNamingOf } from './delivery/provider-key.js';
import { ProviderLimits, type ProviderState } from './scheduler/provider-limits.js';
import { unknownProvider, type ProviderStateView } from './control/provider-protocol.js';
import { createOutboundTls, type OutboundTlsParts } from './delivery/outbound-tls-setup.js';
import type { Transport } from './delivery/types.js';
import { planDelivery, type DeliveryPlan } from './dns/next-hop.js';
import type { Resolver } from './dns/resolver.js';
import { interfaceAddresses, selfIdentity, type ListenEndpoint } from './dns/self-identity.js';
import { createResolver } from './dns/setup.js';
import { buildDsn } from './dsn/build.js';
import { MX_NOT_AUTHENTICATED, MX_SECURE_BY_DNSSEC } from './delivery/message-tls-screen.js';
import type { Logger } from './observability/logger.js';
import { DeliveryScheduler } from './scheduler/scheduler.js';
import { sendingParts } from './sending-setup.js';
import { SmtpServer, type BoundListener } from './server/smtp-server.js';
import { onEachCommit } from './spool/notifying-sink.js';
import { Spool, type QueueSummary } from './spool/spool.js';
import { cachedFreeSpace, diskReserveCheck, statfsFreeBytes } from './spool/free-space.js';
import { KeyRecordWatch } from './dkim/key-record-watch.js';
import { loadDkimKeys, type LoadedKeys } from './dkim/keys.js';
import { keyringSigner } from './dkim/message-signer.js';
import { SigningKeyring } from './dkim/signing-keyring.js';
import { DoctorMonitor } from './doctor/monitor.js';
import { runDoctorFromConfig } from './doctor/run.js';
import type { TlsReportRecorder } from './tlsrpt/types.js';
import { createTlsReportRecorder, createTlsReportSender } from './tlsrpt/setup.js';
import { recordStsFetchFailure } from './delivery/sts-fetch-report.js';
import { createWebhooks } from './webhooks/setup.js';
import { messageIdOf } from './webhooks/delivery-events.js';

/** How long sessions and deliveries may take to finish on SIGTERM (Docker waits 10 s before SIGKILL). */
export const SHUTDOWN_GRACE_MS = 8_000;

export interface RelayDependencies {
  readonly logger: Logger;
  readonly clock: Clock;
}

export interface RunningRelay {
  readonly listeners: readonly BoundListener[];
  /** Resolves with the error if the queue on disk cannot be loaded after the start (the relay should then stop); else never. */
  readonly failed: Promise<unknown>;
  /** SIGHUP: reloads the domains, users and recipients files and the TLS certificate; a broken file keeps the old data (logged). */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/** The next-hop planner for a destination domain: routes, MX, implicit MX, loop guard (RFC 5321 §5.1). */
export function deliveryPlanner(config: Config, resolver: Resolver, listeners: readonly ListenEndpoint[]): (domain: string, signal?: AbortSignal) => Promise<DeliveryPlan> {
  const self = selfIdentity(config.hostname, listeners, interfaceAddresses());
  return (domain, signal) =>
    planDelivery(domain, {
      ...(signal === undefined ? {} : { signal }),
      resolver,
      routes: config.delivery.routes,
      port: config.delivery.port,
      ipv6: config.dns.ipv6,
      self,
      randomInt: (maxExclusive) => randomInt(maxExclusive),
    });
}

function smtpTransport(
  config: Config,
  planner: (domain: string, signal: AbortSignal) => Promise<DeliveryPlan>,
  deps: RelayDependencies,
  metrics: Metrics,
  outbound: OutboundTlsParts,
  tlsReports: TlsReportRecorder | undefined,
): SmtpTransport {
  return new SmtpTransport({
    hostname: config.hostname,
    routes: config.delivery.routes,
    outboundTls: outbound.outboundTls,
    providerNaming: providerNamingOf(config.delivery),
    // REQUIRETLS (RFC 8689 §4.2.1) trusts the MX names of an answer a trusted validating resolver marked secure (dns.dnssec), or MTA-STS enforce.
    mxAuthenticated: config.dns.dnssec ? MX_SECURE_BY_DNSSEC : MX_NOT_AUTHENTICATED,
    ...(tlsReports === undefined ? {} : { tlsReports }),
    observer: {
      smarthostAuthFailed: (route) => metrics.smarthostAuthFailed(route),
      tlsPolicyFailure: (policy, result) => metrics.tlsPolicyFailure(policy, result),
      daneHostStatus: (status) => metrics.daneHostStatus(status),
      stsTestingFailure: () => metrics.mtaStsTestingFailure(),
    },
    planner,
    connector: new NetConnector({ clock: deps.clock, bind: config.delivery.bind }),
    clock: deps.clock,
    logger: deps.logger,
    timeouts: {
      connectTimeoutMs: config.delivery.connectTimeoutMs,
      commandTimeoutMs: config.delivery.commandTimeoutMs,
      dataDoneTimeoutMs: config.delivery.dataDoneTimeoutMs,
    },
  });
}

/**
 * RCPT verification of local recipients from unauthorized clients: the allow-list
 * (`list`), then a cached probe of the next hop as delivery would route it.
 * Undefined when neither is configured.
 */
function recipientVerifier(
  config: Config,
  planner: (domain: string, signal: AbortSignal) => Promise<DeliveryPlan>,
  list: () => RecipientList | undefined,
  deps: RelayDependencies,
  metrics: Metrics,
): CachingRecipientVerifier | undefined {
  const settings = config.verifyRecipients;
  if (!settings.probe && settings.file === undefined) return undefined;
  const prober = settings.probe
    ? new RecipientProber({
        hostname: config.hostname,
        planner,
        routes: config.delivery.routes,
        connector: new NetConnector({ clock: deps.clock, bind: config.delivery.bind }),
        clock: deps.clock,
        logger: deps.logger,
        timeouts: { connectTimeoutMs: config.delivery.connectTimeoutMs, commandTimeoutMs: config.delivery.commandTimeoutMs },
      })
    : undefined;
  return new CachingRecipientVerifier({
    settings,
    list,
    probe: prober === undefined ? undefined : (recipient, signal) => prober.probe(recipient, signal),
    clock: deps.clock,
    logger: deps.logger,
    observer: { verified: (result, source) => metrics.recipientVerified(result, source) },
  });
}

/** A provider's state as `outpost queue why` gets it over the control socket. */
function providerStateView(name: string, state: ProviderState | undefined): ProviderStateView {
  if (state === undefined) return unknownProvider(name);
  return {
    provider: name,
    known: true,
    maxSessions: state.maxSessions,
    allowedSessions: state.allowedSessions,
    running: state.running,
    pausedUntilMs: state.pausedUntilMs ?? null,
    throttledInARow: state.throttledInARow,
    throttledTotal: state.throttledTotal,
    lastThrottle: state.lastThrottle ?? null,
    rateReadyAtMs: state.rateReadyAtMs ?? null,
  };
}

/** Limits per mail provider (delivery.concurrencyPerProvider, delivery.providers), counted in `metrics`. */
function providerLimits(config: Config, deps: RelayDependencies, metrics: Metrics): ProviderLimits {
  const limits = new ProviderLimits({
    defaultMaxConnections: config.delivery.concurrencyPerProvider,
    providers: config.delivery.providers,
    clock: deps.clock,
    logger: deps.logger,
    observer: { throttled: (provider) => metrics.providerThrottled(provider) },
  });
  metrics.setProviderGauges(() => limits.states());
  return limits;
}

function scheduler(config: Config, spool: Spool, transport: Transport, deps: RelayDependencies, observer?: DeliveryObserver, providers?: ProviderLimits): DeliveryScheduler {
  return new DeliveryScheduler({
    ...(observer === undefined ? {} : { observer }),
    ...(providers === undefined ? {} : { providers }),
    spool,
    transport,
    buildDsn,
    clock: deps.clock,
    logger: deps.logger,
    random: Math.random,
    hostname: config.hostname,
    delivery: config.delivery,
    sessionReuseMs: config.delivery.connectionReuseTimeMs,
  });
}

/** Once at startup: whether DANE (RFC 7672) is on, and why not. */
function logDnssec(config: Config, logger: Logger): void {
  const servers = config.dns.servers.map((server) => `${server.host}:${server.port}`);
  if (config.dns.dnssec) logger.info({ component: 'delivery', dnsServers: servers }, 'dane on: dns.dnssec trusts the AD bit of the dns.servers, which must validate DNSSEC');
  else logger.info({ component: 'delivery' }, 'dane off: dns.dnssec is false (DNSSEC-secure TLSA records need a validating resolver such as a local unbound)');
}

export async function startRelay(config: Config, deps: RelayDependencies): Promise<RunningRelay> {
  const { logger, clock } = deps;
  // The queue already on disk is replayed in the background: mail is accepted meanwhile, delivery starts once it is loaded.
  const spool = await Spool.open({ dir: config.spoolDir, clock, logger, recover: true, loadInBackground: true });
  let domains = config.domains;
  let tlsContext = config.tls === undefined ? undefined : await tlsContextOf(config.tls);
  let users = config.usersFile === undefined ? undefined : await loadUsersFile(config.usersFile);
  const recipientsFile = config.verifyRecipients.file;
  let recipients = recipientsFile === undefined ? undefined : await loadRecipientsFile(recipientsFile);
  const trusted = new NetworkSet(config.trustedNetworks.map((text) => parseCidr(text)).filter((cidr): cidr is Cidr => cidr !== undefined));
  const resolver = await createResolver(config.dns, { clock });
  const dkimLog = logger.child({ component: 'dkim' });
  const keyLogSeen = new Set<string>();
  const keyring = new SigningKeyring(logKeys(await loadDkimKeys(config.dkim.keysFolder, (domain) => domains.has(domain)), dkimLog, keyLogSeen).keys);
  /** The keys folder again; a key file that became unusable keeps its key in use (logged). */
  const reloadKeys = async (): Promise<void> => {
    const loaded = logKeys(await loadDkimKeys(config.dkim.keysFolder, (domain) => domains.has(domain)), dkimLog, keyLogSeen);
    const broken = loaded.problems.map(({ file }) => file);
    const kept = keyring.status().map(({ key }) => key).filter((key) => broken.some((file) => key.file === file || key.file.startsWith(`${file}/`)));
    keyring.replaceKeys([...loaded.keys, ...kept]);
  };
  const keyWatch = new KeyRecordWatch({ keyring: () => keyring, resolver, clock, logger: dkimLog, reloadKeys });
  const metrics = new Metrics({ listeners: config.listen.map((listener) => listener.mode), logger });
  const processMetrics = new ProcessMetrics(metrics.registry, { logger });
  const doctor = new DoctorMonitor({
    run: () => runDoctorFromConfig({ ...config, domains }, resolver),
    clock,
    logger: logger.child({ component: 'doctor' }),
    onReport: (report) => metrics.doctorReport(report.checks),
  });
  let listeners: BoundListener[] = [];
  let planner = deliveryPlanner(config, resolver, config.listen);
  logDnssec(config, logger);
  // TLS reporting (RFC 8460): delivery and MTA-STS fetches record into it; the sender starts after the queue.
  const tlsReporting = config.tlsrpt.enabled ? createTlsReportRecorder(config.spoolDir, { clock, logger, observer: { sessionRecorded: (result) => metrics.tlsRptSessionRecorded(result) } }) : undefined;
  const outbound = await createOutboundTls(config.delivery, {
    spoolDir: config.spoolDir,
    resolver,
    ipv6: config.dns.ipv6,
    dnssec: config.dns.dnssec,
    clock,
    logger,
    observer: {
      policyFetchFailed: (domain, failure) => {
        metrics.mtaStsFetchFailed();
        if (tlsReporting !== undefined) recordStsFetchFailure(tlsReporting.recorder, domain, failure);
      },
    },
  });
  // Delivery events (webhooks): the hooks below append to the outbox in the spool before the state change is acknowledged.
  const webhooks = await createWebhooks(config.events.webhooks, {
    spoolDir: config.spoolDir,
    clock,
    logger,
    registry: metrics.registry,
    ca: outbound.trust.ca,
    facts: async (id) => ({ sender: (await spool.read(id))?.from ?? null, messageId: messageIdOf(await spool.readHeaders(id, 64 * 1024)) }),
  });
  const events = webhooks?.events;
  const sending = sendingParts(config, {
    clock,
    logger,
    registry: metrics.registry,
    isLocalDomain: (domain) => domains.has(domain),
    ...(events === undefined
      ? {}
      : { events: { onSuppressed: (entry) => events.suppressed(entry), onSuppressedRcpt: (entry, client) => events.suppressed(entry, client), onQuotaRefused: (refusal, sender) => events.quota(refusal, sender) } }),
  });
  await sending.suppressions.load();
  const transport = smtpTransport(config, (domain, signal) => planner(domain, signal), deps, metrics, outbound, tlsReporting?.recorder);
  const providers = providerLimits(config, deps, metrics);
  const queue = scheduler(config, spool, transport, deps, {
    recipientOutcome: (kind, overTls) => {
      metrics.delivery(kind);
      if (overTls) metrics.tlsSession('out');
    },
    dsnQueued: (action) => metrics.dsnSent(action),
    permanentFailure: (rcpt, status, reply) => sending.permanentFailure(rcpt, status, reply),
    ...(events === undefined ? {} : { outcomesDecided: (id, outcomes, info) => events.outcomes(id, outcomes, info), noticeQueued: (action, original, dsnId, rcpts) => events.notice(action, original, dsnId, rcpts) }),
  }, providers);
  const verifier = recipientVerifier(config, (domain, signal) => planner(domain, signal), () => recipients, deps, metrics);
  const freeSpaceBytes = cachedFreeSpace(() => statfsFreeBytes(config.spoolDir), clock);
  const queuedSpool = onEachCommit(webhooks?.recordQueued(spool, (id) => spool.readHeaders(id, 64 * 1024)) ?? spool, (record) => queue.enqueued(record.id, record));
  const dkimSigner = keyringSigner({ keyring: () => keyring, isLocalDomain: (domain) => domains.has(domain), clock });
  const reportSender =
    tlsReporting === undefined
      ? undefined
      : createTlsReportSender(config.tlsrpt, tlsReporting, {
          hostname: config.hostname.toLowerCase(),
          resolver,
          ipv6: config.dns.ipv6,
          ca: outbound.trust.ca,
          sink: queuedSpool,
          signer: dkimSigner,
          clock,
          random: Math.random,
          logger,
          observer: { reportSent: (method) => metrics.tlsRptReport(method, 'sent'), reportFailed: (method) => metrics.tlsRptReport(method, 'failed') },
        });
  const smtp = new SmtpServer({
    hostname: config.hostname,
    listeners: config.listen,
    limits: config.limits,
    tlsContext: (mode) => (mode === 'mta' ? tlsContext?.mta : tlsContext?.submission),
    spool: queuedSpool,
    freeSpaceBytes,
    clock,
    logger,
    observer: {
      sessionStarted: (mode) => metrics.sessionStarted(mode),
      sessionEnded: () => metrics.sessionEnded(),
      messageAccepted: (mode) => metrics.messageAccepted(mode),
      messageRejected: (reason) => metrics.messageRejected(reason),
      tlsEstablished: () => metrics.tlsSession('in'),
      authFailed: () => metrics.authFailed(),
    },
    auth: { users: () => users, limiter: new FailureLimiter({ clock }), clock },
    dkimSigner,
    ...(verifier === undefined ? {} : { recipientVerifier: verifier }),
    guards: sending.guards,
    isLocalDomain: (domain) => domains.has(domain),
    isTrusted: (address) => trusted.contains(address),
  });
  // While the queue on disk is still being replayed, its gauges are NaN (unknown): a scrape never waits for the replay.
  let queueLoaded = false;
  spool.loaded.then(
    (loaded) => (queueLoaded = loaded),
    () => undefined,
  );
  metrics.setQueueGauges(() => (queueLoaded ? queueSnapshot(spool.summary(), clock.now()) : { messages: NaN, oldestAgeSeconds: NaN }));
  metrics.setSpoolFreeSpace(freeSpaceBytes, config.limits.minFreeBytes);
  const http = new OpsHttpServer({
    http: config.http,
    metrics,
    checks: {
      listeners: () => smtp.listening,
      spool: () => spoolWritable(config.spoolDir),
      disk: () => diskReserveCheck(freeSpaceBytes, config.limits.minFreeBytes),
    },
    clock,
    logger,
  });
  let startQueue = (): void => undefined;
  const queueStarted = new Promise<void>((resolve) => (startQueue = resolve)).then(async () => {
    if (await spool.loaded) await queue.start();
  });
  const failed = queueStarted.then(
    () => new Promise<never>(() => undefined),
    (error: unknown) => {
      logger.fatal({ err: error }, 'queue not loaded');
      return error;
    },
  );
  const control = new ControlServer(controlSocketPath(config.spoolDir), afterStart(queue, queueStarted), logger, sending.controller, (name) => providerStateView(name, providers.providerState(name)), loadedReader(spool));
  try {
    listeners = await smtp.start();
    // The loop guard must know the ports actually bound (port 0 picks one).
    planner = deliveryPlanner(config, resolver, listeners);
    await control.start();
    // Again now that `outpost suppress` talks to this server: a change it made offline meanwhile is in the file.
    await sending.suppressions.load();
    startQueue();
    webhooks?.start();
    reportSender?.start();
    processMetrics.start();
    await http.start();
    keyWatch.start();
    doctor.start();
  } catch (error: unknown) {
    processMetrics.stop();
    verifier?.close();
    await smtp.stop(0);
    await reportSender?.stop();
    await queue.stop(0);
    await webhooks?.stop();
    await tlsReporting?.recorder.close();
    await outbound.policies?.close();
    await control.close().catch(() => undefined);
    await spool.close();
    throw error;
  }
  return {
    listeners,
    failed,
    async reload() {
      const reloaded: string[] = [];
      try {
        domains = await loadDomainsFile(config.domainsFile);
        reloaded.push('domains');
      } catch (error: unknown) {
        logger.error({ file: config.domainsFile, err: error }, 'domains reload failed, keeping the old list');
      }
      if (config.tls !== undefined) {
        try {
          tlsContext = await tlsContextOf(config.tls);
          reloaded.push('tls');
        } catch (error: unknown) {
          logger.error({ file: config.tls.certFile, err: error }, 'tls reload failed, keeping the old certificate');
        }
      }
      if (config.usersFile !== undefined) {
        try {
          users = await loadUsersFile(config.usersFile);
          reloaded.push('users');
        } catch (error: unknown) {
          logger.error({ file: config.usersFile, err: error }, 'users reload failed, keeping the old users');
        }
      }
      if (recipientsFile !== undefined) {
        try {
          recipients = await loadRecipientsFile(recipientsFile);
          reloaded.push('recipients');
        } catch (error: unknown) {
          logger.error({ file: recipientsFile, err: error }, 'recipients reload failed, keeping the old list');
        }
      }
      try {
        await sending.suppressions.load();
        reloaded.push('suppression');
      } catch (error: unknown) {
        logger.error({ spoolDir: config.spoolDir, err: error }, 'suppression list reload failed, keeping the old list');
      }
      try {
        await reloadKeys();
        keyWatch.checkSoon();
        reloaded.push('dkim');
      } catch (error: unknown) {
        logger.error({ folder: config.dkim.keysFolder, err: error }, 'dkim keys reload failed, keeping the old keys');
      }
      logger.info({ reloaded, domains: domains.size, users: users?.size ?? 0, recipients: recipients?.size ?? null, dkimKeys: keyring.size }, 'reloaded');
    },
    async stop() {
      await keyWatch.stop();
      await doctor.stop();
      // Sessions waiting for a probe get their answer (unavailable) now, then 421 on shutdown.
      verifier?.close();
      await smtp.stop(SHUTDOWN_GRACE_MS);
      // A stop during the startup's replay ends it (what was replayed is replayed again next time).
      await spool.stopLoading();
      await queueStarted.catch(() => undefined);
      // A report round under way ends (its unsent reports stay for the next start) before the queue stops.
      await reportSender?.stop();
      await queue.stop(SHUTDOWN_GRACE_MS);
      // Events not yet POSTed stay in the outbox for the next start.
      await webhooks?.stop();
      // Counts of the last sessions are written now (a crash loses at most the recorder's flush interval).
      await tlsReporting?.recorder.close();
      await outbound.policies?.close();
      await http.close();
      processMetrics.stop();
      await control.close();
      await spool.close();
    },
  };
}

/** Logs what the keys folder holds, each key, problem and warning once (`seen` remembers them across reloads). */
function logKeys(loaded: LoadedKeys, logger: Logger, seen: Set<string>): LoadedKeys {
  const first = (text: string): boolean => {
    if (seen.has(text)) return false;
    seen.add(text);
    return true;
  };
  for (const { file, problem } of loaded.problems) if (first(`problem ${file} ${problem}`)) logger.error({ file, problem }, 'dkim key not usable');
  for (const { file, problem } of loaded.warnings) if (first(`warning ${file} ${problem}`)) logger.warn({ file, problem }, 'dkim key warning');
  for (const key of loaded.keys) {
    if (first(`key ${key.file} ${key.publicKeyBase64}`)) logger.info({ domain: key.domain, selector: key.selector, algorithm: key.algorithm, bits: key.bits ?? null }, 'dkim key loaded');
  }
  return loaded;
}

async function tlsContextOf(files: TlsFilesConfig): Promise<TlsContexts> {
  const loaded = await loadTlsContexts(files);
  if (!loaded.ok) throw new OutpostError('ETLS', `tls.cert: ${loaded.problem}`);
  return loaded.value;
}

/** Queue operations over the control socket wait until the scheduler has started (the queue on disk is loaded). */
function afterStart(queue: QueueController, started: Promise<void>): QueueController {
  return {
    async flush(id) {
      await started;
      return queue.flush(id);
    },
    async deleteMessage(id) {
      await started;
      return queue.deleteMessage(id);
    },
    async bounceMessage(id) {
      await started;
      return queue.bounceMessage(id);
    },
  };
}

/** The spool as the control socket reads it: a list waits until the queue on disk is loaded (it would be short before). */
function loadedReader(spool: Spool): QueueReader {
  return {
    read: (id) => spool.read(id),
    readHeaders: (id, maxBytes) => spool.readHeaders(id, maxBytes),
    async *records() {
      await spool.loaded;
      yield* spool.records();
    },
  };
}

/** From the spool's in-memory index: no file is read per scrape. */
function queueSnapshot(summary: QueueSummary, nowMs: number): QueueSnapshot {
  const oldestMs = summary.oldestArrivalMs;
  return { messages: summary.messages, oldestAgeSeconds: oldestMs === undefined ? 0 : Math.max(0, (nowMs - oldestMs) / 1000) };
}

async function spoolWritable(dir: string): Promise<boolean> {
  try {
    await access(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Queue actions when no server is running: this process is then the spool's
 * only writer. A flush only makes messages due now (delivery is the server's
 * job); a bounce queues its DSN for the server to deliver.
 */
export function offlineQueueController(config: Config, spool: Spool, logger: Logger): QueueController {
  const noTransport: Transport = {
    run: () => Promise.reject(new Error('no deliveries without a running server')),
  };
  const queue = scheduler(config, spool, noTransport, { logger, clock: systemClock });
  return {
    async flush(id) {
      // Ids only (from memory): the records are read one at a time by the updates.
      const ids = id === undefined ? Array.from(spool.scheduleEntries(), (entry) => entry.id) : (await spool.read(id)) === undefined ? [] : [id];
      const now = new Date().toISOString();
      for (const queued of ids) await spool.update(queued, (current) => ({ ...current, nextAttempt: now }));
      return id === undefined || ids.length > 0;
    },
    deleteMessage: (id) => queue.deleteMessage(id),
    bounceMessage: (id) => queue.bounceMessage(id),
  };
}
