// The recipient-verification test rig: the real SMTP listener with the real
// verifier and prober, a fake next-hop MTA on 127.0.0.2 that knows a few
// users and refuses the rest with 550 5.1.1, the in-process DNS server, and
// one manual clock for TTLs and timeouts.

import { createServer } from 'node:net';
import type { RecipientList } from '../../src/config/recipients-file.js';
import type { RouteConfig } from '../../src/config/types.js';
import { NetConnector } from '../../src/delivery/connector.js';
import { RecipientProber } from '../../src/delivery/recipient-probe.js';
import { planDelivery } from '../../src/dns/next-hop.js';
import { Metrics } from '../../src/observability/metrics.js';
import { CachingRecipientVerifier, type VerifierSettings } from '../../src/verify/recipient-verifier.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { resolverFor } from '../helpers/dns-resolver-setup.js';
import { FakeMta, type Script } from '../helpers/fake-mta.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog, type MemoryLog } from '../helpers/memory-log.js';
import { startHarness, type Harness, type HarnessOptions } from '../helpers/relay-harness.js';
import { SmtpTestClient, type ParsedReply } from '../helpers/smtp-client.js';

/** The users the next hop knows; everyone else gets 550 5.1.1. */
export const KNOWN_USERS: ReadonlySet<string> = new Set(['alice@example.org', 'bob@example.org', 'carol@third.example']);
export const LOCAL_DOMAINS = ['example.org', 'other.example', 'third.example'];

export const DEFAULT_SETTINGS: VerifierSettings = {
  positiveTtlMs: 7 * 24 * 3_600_000,
  negativeTtlMs: 3 * 3_600_000,
  whenUnavailable: 'defer',
  probeTimeoutMs: 30_000,
  maxProbes: 20,
  cacheSize: 1000,
};

/** How the local domains reach the next hop: a route, MX records, a dead route, or a route back to this listener. */
export type NextHop = 'route' | 'mx' | 'down' | 'self';

export interface RigOptions {
  readonly nextHop?: NextHop;
  readonly settings?: Partial<VerifierSettings>;
  readonly list?: RecipientList;
  /** Extra fake MTA script (the RCPT handler is the rig's own unless given). */
  readonly script?: Script;
  /** The next hop offers STARTTLS with this key and certificate. */
  readonly mtaTls?: { readonly key: string; readonly cert: string };
  readonly harness?: Omit<HarnessOptions, 'recipientVerifier' | 'clock' | 'domains'>;
}

export interface Rig {
  readonly harness: Harness;
  readonly mta: FakeMta;
  readonly dns: TestDnsServer;
  readonly clock: ManualClock;
  readonly verifier: CachingRecipientVerifier;
  readonly metrics: Metrics;
  /** What the verifier and prober logged. */
  readonly verifyLog: MemoryLog;
  /** Probe sessions the next hop saw. */
  probes(): number;
  close(): Promise<void>;
}

export function nextHopRcpt(argument: string): string | undefined {
  return KNOWN_USERS.has(argument.toLowerCase()) ? undefined : `550 5.1.1 <${argument}>: Recipient address rejected: User unknown in local recipient table`;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 1;
}

export async function startRig(options: RigOptions = {}): Promise<Rig> {
  const clock = new ManualClock();
  const mta = await FakeMta.start({
    host: '127.0.0.2',
    name: 'next-hop.test',
    script: { rcpt: ({ argument }) => nextHopRcpt(argument), ...options.script },
    ...(options.mtaTls === undefined ? {} : { tls: options.mtaTls }),
  });
  const dns = await startDnsServer({
    zones: Object.fromEntries([...LOCAL_DOMAINS.map((domain) => [domain, { MX: [{ preference: 10, exchange: 'inbound.example.net' }] }]), ['inbound.example.net', { A: ['127.0.0.2'] }]]),
  });
  const { resolver } = resolverFor([dns], { clock });
  const nextHop = options.nextHop ?? 'route';
  let listenerPort = 0;
  const deadPort = nextHop === 'down' ? await closedPort() : 0;
  const routeTo = (host: string, port: number): Map<string, RouteConfig> => new Map(LOCAL_DOMAINS.map((domain) => [domain, { host, port }]));
  const routes = (): Map<string, RouteConfig> => {
    switch (nextHop) {
      case 'route':
        return routeTo('127.0.0.2', mta.port);
      case 'down':
        return routeTo('127.0.0.2', deadPort);
      case 'self':
        return routeTo('127.0.0.1', listenerPort);
      case 'mx':
        return new Map();
    }
  };
  const planner = (domain: string, signal: AbortSignal) =>
    planDelivery(domain, {
      signal,
      resolver,
      routes: routes(),
      port: mta.port,
      ipv6: false,
      self: { hostnames: ['mx.example.org'], endpoints: [{ address: '127.0.0.1', port: listenerPort }] },
      randomInt: () => 0,
    });
  const metrics = new Metrics();
  const verifyLog = memoryLog('debug');
  const prober = new RecipientProber({
    hostname: 'mx.example.org',
    planner,
    connector: new NetConnector({ clock }),
    clock,
    logger: verifyLog.logger,
    timeouts: { connectTimeoutMs: 60_000, commandTimeoutMs: 60_000 },
  });
  const list = options.list;
  const verifier = new CachingRecipientVerifier({
    settings: { ...DEFAULT_SETTINGS, ...options.settings },
    list: () => list,
    probe: (recipient, signal) => prober.probe(recipient, signal),
    clock,
    logger: verifyLog.logger,
    observer: { verified: (result, source) => metrics.recipientVerified(result, source) },
  });
  const harness = await startHarness({ trustedNetworks: ['192.0.2.0/24'], ...options.harness, clock, domains: LOCAL_DOMAINS, recipientVerifier: verifier });
  listenerPort = harness.port;
  return {
    harness,
    mta,
    dns,
    clock,
    verifier,
    metrics,
    verifyLog,
    probes: () => mta.sessions.length,
    async close() {
      verifier.close();
      await harness.close();
      await Promise.all([mta.close(), dns.close()]);
    },
  };
}

/** A client past EHLO and MAIL FROM (a foreign sender, as spam and real mail from outside have). */
export async function openTransaction(port: number, from = 'sender@example.net'): Promise<SmtpTestClient> {
  const client = await SmtpTestClient.connect(port);
  await client.reply();
  await client.command('EHLO client.example.net');
  const mail = await client.command(`MAIL FROM:<${from}>`);
  if (mail.code !== 250) throw new Error(`MAIL refused: ${mail.text}`);
  return client;
}

/** The RCPT reply for one recipient in a fresh session. */
export async function rcptReply(port: number, recipient: string): Promise<ParsedReply> {
  const client = await openTransaction(port);
  const reply = await client.command(`RCPT TO:<${recipient}>`);
  await client.command('QUIT');
  client.close();
  return reply;
}
