// Connection reuse (delivery.connectionReuseTime, like Postfix's connection cache):
// the real scheduler, spool, SMTP client and resolver (in-process DNS server) against
// a fake MTA. A session whose messages are done waits for the next message to its
// destination instead of QUIT, carries it after RSET, and QUITs when the reuse time
// runs out on the injected clock, on stop, or when its slot is needed by another
// destination of the same provider. Injected clock, no sleeps.

import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DeliveryScheduler } from '../../src/scheduler/scheduler.js';
import type { SchedulerSettings } from '../../src/scheduler/types.js';
import { startDnsServer, type TestDnsServer, type Zones } from '../helpers/dns-server.js';
import type { FakeMta } from '../helpers/fake-mta.js';
import { startMxRelay, type MxRelay } from './mx-relay.js';

const REUSE_MS = 2000;
const SETTINGS: SchedulerSettings = {
  retryDelaysMs: [60_000],
  maxQueueLifetimeMs: 86_400_000,
  delayWarningMs: 0,
  maxConcurrency: 100,
  concurrencyPerDomain: 10,
  recipientsPerTransaction: 50,
};

let dns: TestDnsServer;
before(async () => {
  const zones: Zones = { 'mx.provider.test': { A: ['127.0.0.1'] } };
  for (const domain of ['a.test', 'b.test']) zones[domain] = { MX: [{ preference: 10, exchange: 'mx.provider.test' }] };
  dns = await startDnsServer({ zones });
});
after(() => dns.close());

const relays: MxRelay[] = [];
afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.close()));
});

async function relay(options: { readonly reuseMs?: number; readonly providerMaxConnections?: number; readonly pipelining?: boolean } = {}): Promise<MxRelay> {
  const made = await startMxRelay({
    dns,
    settings: SETTINGS,
    providerMaxConnections: options.providerMaxConnections ?? 20,
    sessionReuseMs: options.reuseMs ?? REUSE_MS,
    ...(options.pipelining === false ? { extensions: { pipelining: false, eightBitMime: true } } : {}),
  });
  relays.push(made);
  await made.scheduler.start();
  return made;
}

const quitted = (mta: FakeMta, session: number): boolean => mta.sessions[session]?.commands.includes('QUIT') === true;

/** Lets sockets and promises run (no clock moves) until `count` sessions wait for more mail. */
async function idleSessions(scheduler: DeliveryScheduler, count: number): Promise<void> {
  while (scheduler.status().idleSessions < count) await new Promise((resolve) => setImmediate(resolve));
}

describe('outbound connection reuse', () => {
  it('a message queued while the session idles rides on it after RSET; QUIT comes when the reuse time is over', async () => {
    const { mta, clock, scheduler, commit } = await relay();
    await commit('one@a.test');
    await idleSessions(scheduler, 1);
    await commit('two@a.test');
    await mta.waitForMessages(2);
    await idleSessions(scheduler, 1);
    assert.equal(mta.sessions.length, 1, 'both messages on one connection');
    assert.equal(mta.sessions[0]?.rsets, 1);
    assert.ok(!quitted(mta, 0), 'the session waits for more');
    clock.advance(REUSE_MS - 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(!quitted(mta, 0), 'still waiting before the reuse time is over');
    clock.advance(1);
    await mta.until(() => quitted(mta, 0));
    await mta.waitForIdle();
    assert.equal(mta.sessions.length, 1);
  });

  it('without reuse time each message gets its own connection, ended with QUIT at once', async () => {
    const { mta, commit } = await relay({ reuseMs: 0 });
    await commit('one@a.test');
    await mta.waitForMessages(1);
    await mta.until(() => quitted(mta, 0));
    await commit('two@a.test');
    await mta.waitForMessages(2);
    await mta.until(() => quitted(mta, 1));
    assert.equal(mta.sessions.length, 2);
  });

  it('an idle session of one destination makes room when the provider limit holds back another destination', async () => {
    const { mta, scheduler, commit } = await relay({ providerMaxConnections: 1 });
    await commit('one@a.test');
    await idleSessions(scheduler, 1);
    // The only provider slot is held by a.test's idle session: b.test's message ends that wait (clock not moved).
    await commit('two@b.test');
    await mta.waitForMessages(2);
    assert.ok(quitted(mta, 0), "a.test's idle session ended with QUIT");
    assert.equal(mta.sessions.length, 2);
    assert.deepEqual(mta.messages.map((message) => message.recipients[0]), ['one@a.test', 'two@b.test']);
  });

  it('a session the server dropped while it idled is replaced by a new connection: the message is delivered, not deferred', async () => {
    const made = await relay();
    const { mta, scheduler, commit } = made;
    let drops = 1;
    mta.script.rset = () => (drops-- > 0 ? 'disconnect' : undefined);
    await commit('one@a.test');
    await idleSessions(scheduler, 1);
    await commit('two@a.test');
    await mta.waitForMessages(2);
    assert.equal(mta.sessions.length, 2, 'a second connection after the first one was dropped at RSET');
    assert.deepEqual(mta.messages.map((message) => [message.sessionId, message.recipients[0]]), [
      [1, 'one@a.test'],
      [2, 'two@a.test'],
    ]);
    assert.equal(scheduler.status().queued, 0, 'nothing waits for a retry');
  });

  for (const pipelining of [true, false]) {
    it(`the RSET before a reused session's next message ${pipelining ? 'leads its pipelined envelope (one round trip)' : 'goes alone without PIPELINING'}`, async () => {
      const { mta, scheduler, commit } = await relay({ pipelining });
      await commit('one@a.test');
      await idleSessions(scheduler, 1);
      await commit('two@a.test');
      await mta.waitForMessages(2);
      const session = mta.sessions[0];
      assert.equal(session?.rsets, 1);
      const chunk = session?.chunks.find((text) => text.startsWith('RSET'));
      if (pipelining) assert.equal(chunk, 'RSET\r\nMAIL FROM:<app@example.org>\r\nRCPT TO:<two@a.test>\r\nDATA\r\n');
      else assert.equal(chunk, 'RSET\r\n');
    });
  }

  it('a RSET refused with 421 on a reused session: the message goes over a new connection, not deferred', async () => {
    const { mta, scheduler, commit } = await relay();
    let refusals = 1;
    mta.script.rset = () => (refusals-- > 0 ? '421 4.3.2 shutting down' : undefined);
    await commit('one@a.test');
    await idleSessions(scheduler, 1);
    await commit('two@a.test');
    await mta.waitForMessages(2);
    assert.deepEqual(mta.messages.map((message) => [message.sessionId, message.recipients[0]]), [
      [1, 'one@a.test'],
      [2, 'two@a.test'],
    ]);
    assert.equal(mta.sessions[0]?.transactions, 1, 'nothing was sent after the refused RSET');
    assert.equal(scheduler.status().queued, 0);
  });

  it('stop ends idle sessions with QUIT without waiting for the reuse time', async () => {
    const { mta, scheduler, commit } = await relay();
    await commit('one@a.test');
    await idleSessions(scheduler, 1);
    await scheduler.stop(60_000);
    await mta.until(() => quitted(mta, 0));
  });
});
