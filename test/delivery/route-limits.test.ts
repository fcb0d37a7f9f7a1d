// Route limits through the real scheduler, spool and SMTP client against a
// fake smarthost: maxConnections counts sessions per route ("*" carries many
// domains), ratePerMinute paces messages on the injected clock, and a throttling
// reply (432 4.3.2) pauses the route and defers: nothing bounces.

import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_THROTTLE_PAUSE_MS, RouteLane, THROTTLE_PAUSE_MS, TokenBucket } from '../../src/delivery/route-lane.js';
import type { DsnRequest } from '../../src/dsn/types.js';
import { DeliveryScheduler } from '../../src/scheduler/scheduler.js';
import type { SchedulerSettings } from '../../src/scheduler/types.js';
import { Spool } from '../../src/spool/spool.js';
import type { EnvelopeRecord } from '../../src/spool/types.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog, type MemoryLog } from '../helpers/memory-log.js';
import { fakeDsnBuilder } from '../scheduler/fixtures.js';
import { fakeMtaPool, outboundMessage, outcomeOf, runJob } from './fixtures.js';
import { routeConfig, routedTransport } from './route-fixtures.js';
import type { FakeMta } from '../helpers/fake-mta.js';
import type { RoutePolicyConfig } from '../../src/config/types.js';

const fakeMta = fakeMtaPool(after);
const MINUTE_MS = 60_000;
const SETTINGS: SchedulerSettings = {
  retryDelaysMs: [5 * MINUTE_MS],
  maxQueueLifetimeMs: 24 * 60 * MINUTE_MS,
  delayWarningMs: 0,
  maxConcurrency: 20,
  concurrencyPerDomain: 5,
  recipientsPerTransaction: 50,
};

interface Relay {
  readonly clock: ManualClock;
  readonly spool: Spool;
  readonly scheduler: DeliveryScheduler;
  readonly log: MemoryLog;
  readonly dsns: DsnRequest[];
  /** Puts a message in the spool; the scheduler finds it when it starts. */
  commit(recipient: string): Promise<EnvelopeRecord>;
  /** Starts the scheduler: every committed message is due at once, all handed to the dispatcher together. */
  start(): Promise<void>;
  /** Moves the clock, then waits until nothing runs. */
  advance(ms: number): Promise<void>;
  close(): Promise<void>;
}

const relays: Relay[] = [];
afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.close()));
});

/** A scheduler on a real spool whose transport sends everything through the "*" route to `mta`. */
async function relayTo(mta: FakeMta, policy: Partial<RoutePolicyConfig>): Promise<Relay> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-route-limits-'));
  const clock = new ManualClock();
  const spool = await Spool.open({ dir, clock, logger: memoryLog().logger, recover: true });
  const { transport, log } = routedTransport(routeConfig(mta.port, { tls: 'none', ...policy }), {}, clock);
  const dsns: DsnRequest[] = [];
  const scheduler = new DeliveryScheduler({ spool, transport, buildDsn: fakeDsnBuilder(dsns), clock, logger: log.logger, random: () => 0, hostname: 'relay.outpost.test', delivery: SETTINGS });
  const relay: Relay = {
    clock,
    spool,
    scheduler,
    log,
    dsns,
    async commit(recipient) {
      const writer = await spool.begin();
      writer.body.write(Buffer.from(`Subject: to ${recipient}\r\n\r\nhello\r\n`));
      return writer.commit({ from: 'app@example.org', recipients: [recipient], smtputf8: false, body: '7BIT', client: { address: '127.0.0.1', helo: 'client.test', listener: 'submission', tls: null, auth: null } });
    },
    start: () => scheduler.start(),
    async advance(ms) {
      clock.advance(ms);
      await scheduler.idle();
    },
    async close() {
      const stopped = scheduler.stop(0);
      clock.advance(0);
      await stopped;
      await spool.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  relays.push(relay);
  return relay;
}

/** Lets sockets and promises run for a while without moving the clock. */
async function turns(count = 200): Promise<void> {
  for (let turn = 0; turn < count; turn += 1) await new Promise((resolve) => setImmediate(resolve));
}

const domains = ['a.test', 'b.test', 'c.test', 'd.test', 'e.test', 'f.test'];

describe('route limits through the scheduler', () => {
  it('keeps to maxConnections: 1 for a "*" route carrying six domains, and one session carries them all', async () => {
    const held: (() => void)[] = [];
    const mta = await fakeMta({ script: { greeting: () => new Promise<undefined>((resolve) => held.push(() => resolve(undefined))) } });
    const relay = await relayTo(mta, { maxConnections: 1 });
    for (const domain of domains) await relay.commit(`rcpt@${domain}`);
    await relay.start();
    await mta.waitForSessions(1);
    await turns();
    assert.equal(mta.sessions.length, 1, 'the other domains wait for the one session');
    assert.equal(relay.scheduler.status().runningByDestination['route:*'], 1);
    held.splice(0).forEach((release) => release());
    await mta.waitForMessages(domains.length);
    await relay.scheduler.idle();
    assert.equal(mta.maxConcurrentSessions, 1);
    assert.equal(mta.sessions.length, 1, 'messages for other domains of the route rode on the session');
    assert.deepEqual(await relay.spool.list(), []);
  });

  it('defers on 432 4.3.2, pauses the route, and delivers everything later without a bounce', async () => {
    let allowed = 3;
    const mta = await fakeMta({ script: { mail: () => (mta.messages.length >= allowed ? '432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded' : undefined) } });
    const relay = await relayTo(mta, { maxConnections: 1 });
    for (const domain of domains) await relay.commit(`rcpt@${domain}`);
    await relay.start();
    await relay.scheduler.idle();
    assert.equal(mta.messages.length, 3);
    const throttled = relay.log.messages('smarthost throttled the route')[0];
    assert.deepEqual([throttled?.['level'], throttled?.['route'], throttled?.['pauseMs']], [40, '*', THROTTLE_PAUSE_MS]);
    const waiting = await relay.spool.list();
    assert.equal(waiting.length, 3);
    const deferred = waiting.filter((record) => record.recipients[0]?.attempts === 1);
    assert.equal(deferred.length, 1, 'only the message that met the 432 was attempted');
    assert.match(deferred[0]?.recipients[0]?.lastReply ?? '', /^432 4\.3\.2 STOREDRV/);
    await relay.advance(THROTTLE_PAUSE_MS - 1);
    assert.equal(mta.sessions.length, 1, 'the route is paused');
    allowed = Infinity;
    await relay.advance(1);
    assert.equal(mta.messages.length, 5, 'the two waiting messages went when the pause ended');
    // The relay's session has ended; its socket's close reaches the fake MTA a little later.
    await mta.waitForIdle();
    await relay.advance(5 * MINUTE_MS);
    assert.equal(mta.messages.length, 6, 'the deferred message went at its retry');
    assert.deepEqual(await relay.spool.list(), []);
    assert.deepEqual(relay.dsns, [], 'nothing bounced');
    assert.equal(mta.maxConcurrentSessions, 1);
  });

  it('paces ratePerMinute on the injected clock: messages wait, none fails', async () => {
    const mta = await fakeMta();
    const relay = await relayTo(mta, { maxConnections: 1, ratePerMinute: 30 });
    for (const domain of domains.slice(0, 3)) await relay.commit(`rcpt@${domain}`);
    await relay.start();
    await mta.waitForMessages(1);
    await turns();
    assert.equal(mta.messages.length, 1, 'the next one waits for its slot');
    relay.clock.advance(1_999);
    await turns();
    assert.equal(mta.messages.length, 1);
    relay.clock.advance(1);
    await mta.waitForMessages(2);
    await turns();
    assert.equal(mta.messages.length, 2);
    relay.clock.advance(2_000);
    await mta.waitForMessages(3);
    await relay.scheduler.idle();
    assert.equal(mta.sessions.length, 1, 'one session waited for its slots');
    assert.deepEqual(await relay.spool.list(), []);
  });
});

describe('route lanes', () => {
  it('spaces tokens evenly: one now, the next after 60/ratePerMinute seconds', () => {
    const bucket = new TokenBucket(30);
    assert.equal(bucket.take(5, 0), 1);
    assert.equal(bucket.readyAtMs(0), 2_000);
    assert.equal(bucket.take(1, 1_999), 0);
    assert.equal(bucket.take(3, 2_000), 1);
    assert.equal(bucket.readyAtMs(2_000), 4_000);
    assert.equal(bucket.take(1, 100_000), 1, 'an idle bucket holds one token, not a burst');
    assert.equal(bucket.take(1, 100_000), 0);
  });

  it('adds nothing when the clock steps back', () => {
    const bucket = new TokenBucket(60);
    assert.equal(bucket.take(1, 10_000), 1);
    assert.equal(bucket.take(1, 5_000), 0);
    assert.equal(bucket.readyAtMs(5_000), 6_000);
  });

  it('pauses after throttling, doubling while it goes on, and starts over after a delivery', () => {
    const lane = new RouteLane({ route: '*', maxSessions: 3, ratePerMinute: undefined });
    assert.equal(lane.key, 'route:*');
    assert.equal(lane.take(4, 0), 4);
    assert.equal(lane.recordThrottle(0), THROTTLE_PAUSE_MS);
    assert.equal(lane.take(1, THROTTLE_PAUSE_MS - 1), 0);
    assert.equal(lane.readyAtMs(0), THROTTLE_PAUSE_MS);
    assert.equal(lane.take(1, THROTTLE_PAUSE_MS), 1);
    assert.equal(lane.recordThrottle(THROTTLE_PAUSE_MS), 2 * THROTTLE_PAUSE_MS);
    for (let round = 0; round < 10; round += 1) lane.recordThrottle(0);
    assert.equal(lane.recordThrottle(0), MAX_THROTTLE_PAUSE_MS);
    lane.recordDelivered();
    assert.equal(lane.recordThrottle(10 * MAX_THROTTLE_PAUSE_MS), THROTTLE_PAUSE_MS);
  });
});

describe('throttling replies on a route', () => {
  it('pauses the route on "421 4.3.2" in the greeting and defers, without trying harder', async () => {
    const mta = await fakeMta({ script: { greeting: () => '421 4.3.2 Service not available, too many concurrent connections' } });
    const { transport, clock, log, connector } = routedTransport(routeConfig(mta.port, { tls: 'none' }));
    const reports = await runJob(transport, 'dest.test', [outboundMessage('m1', ['a@dest.test']), outboundMessage('m2', ['b@dest.test'])]);
    for (const [id, rcpt] of [['m1', 'a@dest.test'], ['m2', 'b@dest.test']] as const) {
      const outcome = outcomeOf(reports, id, rcpt);
      assert.deepEqual([outcome.kind, outcome.status], ['transient', '4.3.2']);
    }
    assert.equal(connector.requests.length, 1);
    assert.equal(transport.lane('dest.test')?.readyAtMs(clock.now()), clock.now() + THROTTLE_PAUSE_MS);
    assert.equal(log.messages('smarthost throttled the route').length, 1);
  });

  it('leaves a "host:port" route as it always was: no pause', async () => {
    const mta = await fakeMta({ script: { mail: () => '432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded' } });
    const { transport, clock } = routedTransport({ host: 'plain.test', port: mta.port });
    const outcome = outcomeOf(await runJob(transport, 'dest.test', [outboundMessage('m1', ['a@dest.test'])]), 'm1', 'a@dest.test');
    assert.equal(outcome.status, '4.3.2');
    assert.equal(transport.lane('dest.test')?.readyAtMs(clock.now()), undefined);
  });
});
