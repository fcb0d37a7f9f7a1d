// Shared pieces of the delivery tests: messages with in-memory bodies, fixed
// plans, a connector that counts, and a runner that collects the reports.

import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { NetConnector, type ConnectRequest, type Connector } from '../../src/delivery/connector.js';
import { SmtpTransport, type SmtpTransportOptions } from '../../src/delivery/transport.js';
import type { AttemptInfo, OutboundMessage, RecipientOutcome } from '../../src/delivery/types.js';
import type { DeliveryPlan } from '../../src/dns/next-hop.js';
import { FakeMta, type FakeMtaOptions } from '../helpers/fake-mta.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog, type MemoryLog } from '../helpers/memory-log.js';

export function outboundMessage(
  id: string,
  recipients: readonly string[],
  body: string | readonly Buffer[] = 'Subject: test\r\n\r\nhello\r\n',
  options: { from?: string; eightBit?: boolean; smtputf8?: boolean; sizeBytes?: number } = {},
): OutboundMessage {
  const chunks = typeof body === 'string' ? [Buffer.from(body)] : body;
  return {
    id,
    from: options.from ?? 'sender@origin.test',
    recipients,
    sizeBytes: options.sizeBytes ?? chunks.reduce((total, chunk) => total + chunk.length, 0),
    eightBit: options.eightBit ?? false,
    smtputf8: options.smtputf8 ?? false,
    openBody: () => Readable.from(chunks),
  };
}

export interface HostSpec {
  readonly host: string;
  readonly addresses: readonly string[];
  readonly port: number;
}

/** A planner that always answers with these hosts, in this order. */
export function fixedPlan(...hosts: HostSpec[]): (domain: string) => Promise<DeliveryPlan> {
  return (domain) =>
    Promise.resolve({ ok: true, domain, source: 'mx', hosts: hosts.map((host, index) => ({ ...host, preference: index * 10, ttlSeconds: 300 })) });
}

/** The real connector, counting attempts and successful connections. */
export class CountingConnector implements Connector {
  readonly requests: ConnectRequest[] = [];
  connected = 0;
  readonly #inner: NetConnector;
  #waiters: { readonly count: number; readonly resolve: () => void }[] = [];

  constructor(clock: ManualClock) {
    this.#inner = new NetConnector({ clock });
  }

  async connect(request: ConnectRequest): Promise<Socket> {
    this.requests.push(request);
    const socket = await this.#inner.connect(request);
    this.connected += 1;
    const ready = this.#waiters.filter((waiter) => waiter.count <= this.connected);
    this.#waiters = this.#waiters.filter((waiter) => waiter.count > this.connected);
    for (const waiter of ready) waiter.resolve();
    return socket;
  }

  /** Resolves once `count` connections have been made (handed to the client). */
  waitForConnections(count: number): Promise<void> {
    if (this.connected >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }
}

export interface TransportUnderTest {
  readonly transport: SmtpTransport;
  readonly clock: ManualClock;
  readonly connector: CountingConnector;
  readonly log: MemoryLog;
}

export const TEST_TIMEOUTS = { connectTimeoutMs: 30_000, commandTimeoutMs: 300_000, dataDoneTimeoutMs: 600_000 } as const;

export function transportFor(planner: SmtpTransportOptions['planner'], options: Partial<Omit<SmtpTransportOptions, 'planner' | 'clock' | 'connector' | 'logger'>> = {}): TransportUnderTest {
  const clock = new ManualClock();
  const connector = new CountingConnector(clock);
  const log = memoryLog('debug');
  const transport = new SmtpTransport({ hostname: 'outpost.test', timeouts: TEST_TIMEOUTS, ...options, planner, clock, connector, logger: log.logger });
  return { transport, clock, connector, log };
}

export interface Reported {
  readonly outcomes: ReadonlyMap<string, RecipientOutcome>;
  readonly info: AttemptInfo;
}

/** Runs one job and returns the reports by message id, in report order. */
export async function runJob(transport: SmtpTransport, destination: string, messages: readonly OutboundMessage[], signal = new AbortController().signal): Promise<Map<string, Reported>> {
  const reports = new Map<string, Reported>();
  await transport.run({ destination, messages }, (id, outcomes, info) => {
    if (reports.has(id)) throw new Error(`message ${id} reported twice`);
    reports.set(id, { outcomes, info });
    return Promise.resolve();
  }, signal);
  return reports;
}

/** The outcome of one recipient of one message, or a failure naming what is missing. */
export function outcomeOf(reports: Map<string, Reported>, id: string, recipient: string): RecipientOutcome {
  const outcome = reports.get(id)?.outcomes.get(recipient);
  if (outcome === undefined) throw new Error(`no outcome for ${recipient} of ${id}`);
  return outcome;
}

/** Starts fake MTAs for a test file and closes them all in the file's `after` hook. */
export function fakeMtaPool(after: (hook: () => Promise<void>) => void): (options?: FakeMtaOptions) => Promise<FakeMta> {
  const started: FakeMta[] = [];
  after(async () => {
    await Promise.all(started.map((mta) => mta.close()));
  });
  return async (options = {}) => {
    const mta = await FakeMta.start(options);
    started.push(mta);
    return mta;
  };
}

/** A plan whose one host is this fake MTA. */
export function planTo(mta: FakeMta, host = 'mx1.dest.test'): ReturnType<typeof fixedPlan> {
  return fixedPlan({ host, addresses: [mta.host], port: mta.port });
}
