// A relay's delivery side for end-to-end scheduler tests: the real scheduler,
// spool (temp folder), SMTP client and resolver (against the caller's in-process
// DNS server, whose MX records point at 127.0.0.1) delivering to one fake MTA,
// with provider limits and a ManualClock. No SMTP listener: tests commit straight
// into the spool.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetConnector } from '../../src/delivery/connector.js';
import { SmtpTransport } from '../../src/delivery/transport.js';
import { planDelivery } from '../../src/dns/next-hop.js';
import type { DsnRequest } from '../../src/dsn/types.js';
import { ProviderLimits, type ProviderSettings } from '../../src/scheduler/provider-limits.js';
import { DeliveryScheduler } from '../../src/scheduler/scheduler.js';
import type { SchedulerSettings } from '../../src/scheduler/types.js';
import { Spool } from '../../src/spool/spool.js';
import type { TestDnsServer } from '../helpers/dns-server.js';
import { resolverFor } from '../helpers/dns-resolver-setup.js';
import { FakeMta, type FakeMtaOptions, type Script } from '../helpers/fake-mta.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog, type MemoryLog } from '../helpers/memory-log.js';
import { TEST_TIMEOUTS } from '../delivery/fixtures.js';
import { fakeDsnBuilder } from './fixtures.js';

export interface MxRelay {
  readonly mta: FakeMta;
  readonly clock: ManualClock;
  readonly spool: Spool;
  readonly scheduler: DeliveryScheduler;
  readonly providers: ProviderLimits;
  readonly log: MemoryLog;
  readonly dsns: DsnRequest[];
  /** Commits a message to `recipient` and tells the scheduler, as the server's commit hook does. */
  commit(recipient: string): Promise<void>;
  /** Moves the clock, then waits until nothing runs. */
  advance(ms: number): Promise<void>;
  close(): Promise<void>;
}

export interface MxRelayOptions {
  readonly dns: TestDnsServer;
  readonly settings: SchedulerSettings;
  readonly script?: Script;
  /** What the fake MTA's EHLO announces (default: PIPELINING and 8BITMIME). */
  readonly extensions?: FakeMtaOptions['extensions'];
  /** The providers' default session cap (delivery.concurrencyPerProvider). */
  readonly providerMaxConnections: number;
  /** delivery.providers */
  readonly providerSettings?: ReadonlyMap<string, ProviderSettings>;
  readonly maxMessagesPerJob?: number;
  readonly sessionReuseMs?: number;
}

export async function startMxRelay(options: MxRelayOptions): Promise<MxRelay> {
  const mta = await FakeMta.start({ script: options.script ?? {}, ...(options.extensions === undefined ? {} : { extensions: options.extensions }) });
  const dir = await mkdtemp(join(tmpdir(), 'outpost-mx-relay-'));
  const clock = new ManualClock();
  const log = memoryLog('debug');
  const spool = await Spool.open({ dir, clock, logger: log.logger, recover: true });
  const { resolver } = resolverFor([options.dns], { clock });
  const planner = (domain: string, signal?: AbortSignal): ReturnType<typeof planDelivery> =>
    planDelivery(domain, { resolver, port: mta.port, ipv6: false, self: { hostnames: ['relay.outpost.test'], endpoints: [] }, randomInt: () => 0, ...(signal === undefined ? {} : { signal }) });
  const transport = new SmtpTransport({ hostname: 'relay.outpost.test', planner, connector: new NetConnector({ clock }), clock, logger: log.logger, timeouts: TEST_TIMEOUTS });
  const providers = new ProviderLimits({ defaultMaxConnections: options.providerMaxConnections, providers: new Map(options.providerSettings ?? []), clock, logger: log.logger });
  const dsns: DsnRequest[] = [];
  const scheduler = new DeliveryScheduler({
    spool, transport, providers, buildDsn: fakeDsnBuilder(dsns), clock, logger: log.logger, random: () => 0, hostname: 'relay.outpost.test', delivery: options.settings,
    maxMessagesPerJob: options.maxMessagesPerJob ?? 20,
    ...(options.sessionReuseMs === undefined ? {} : { sessionReuseMs: options.sessionReuseMs }),
  });
  return {
    mta, clock, spool, scheduler, providers, log, dsns,
    async commit(recipient) {
      const writer = await spool.begin();
      writer.body.write(Buffer.from(`Subject: to ${recipient}\r\n\r\nhello\r\n`));
      const record = await writer.commit({ from: 'app@example.org', recipients: [recipient], smtputf8: false, body: '7BIT', client: { address: '127.0.0.1', helo: 'client.test', listener: 'submission', tls: null, auth: null } });
      scheduler.enqueued(record.id, record);
    },
    async advance(ms) {
      clock.advance(ms);
      await scheduler.idle();
    },
    async close() {
      const stopped = scheduler.stop(0);
      clock.advance(0);
      await stopped;
      await spool.close();
      await mta.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
