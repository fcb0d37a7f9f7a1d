// Provider-aware limits end to end: the real scheduler, spool, SMTP client and
// resolver against the in-process DNS server, whose recipient domains all have
// their MX at one fake provider (mx1/mx2.fakeprovider.net -> one fake MTA).
// Sessions to the provider stay within its cap; its throttling replies pause it
// (no connection during the pause), the pause grows on repeats, and mail is
// deferred, never bounced; a per-provider rate cap paces messages. Injected clock, no sleeps.

import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ProviderSettings } from '../../src/scheduler/provider-limits.js';
import type { SchedulerSettings } from '../../src/scheduler/types.js';
import { startDnsServer, type TestDnsServer, type Zones } from '../helpers/dns-server.js';
import type { Script } from '../helpers/fake-mta.js';
import { startMxRelay, type MxRelay } from './mx-relay.js';

const MINUTE_MS = 60_000;
const PROVIDER = 'fakeprovider.net';
const DOMAINS = ['d1.test', 'd2.test', 'd3.test', 'd4.test', 'd5.test', 'd6.test'];
const SETTINGS: SchedulerSettings = {
  retryDelaysMs: [10_000],
  maxQueueLifetimeMs: 24 * 60 * MINUTE_MS,
  delayWarningMs: 0,
  maxConcurrency: 100,
  concurrencyPerDomain: 10,
  recipientsPerTransaction: 50,
};

let dns: TestDnsServer;
before(async () => {
  const zones: Zones = { 'mx1.fakeprovider.net': { A: ['127.0.0.1'] }, 'mx2.fakeprovider.net': { A: ['127.0.0.1'] } };
  for (const domain of DOMAINS) zones[domain] = { MX: [{ preference: 10, exchange: 'mx1.fakeprovider.net' }, { preference: 20, exchange: 'mx2.fakeprovider.net' }] };
  dns = await startDnsServer({ zones });
});
after(() => dns.close());

const relays: MxRelay[] = [];
afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.close()));
});

async function relay(script: Script, options: { readonly maxConnections?: number; readonly provider?: ProviderSettings; readonly maxMessagesPerJob?: number } = {}): Promise<MxRelay> {
  const made = await startMxRelay({
    dns,
    script,
    settings: SETTINGS,
    providerMaxConnections: options.maxConnections ?? 3,
    providerSettings: new Map(options.provider === undefined ? [] : [[PROVIDER, options.provider]]),
    maxMessagesPerJob: options.maxMessagesPerJob ?? 20,
  });
  relays.push(made);
  return made;
}

/** Lets sockets and promises run for a while without moving the clock. */
async function turns(count = 300): Promise<void> {
  for (let turn = 0; turn < count; turn += 1) await new Promise((resolve) => setImmediate(resolve));
}

describe('provider-aware delivery limits', () => {
  it('never opens more sessions to one provider than its cap, for six domains of 10 messages each', async () => {
    const held: (() => void)[] = [];
    let holding = true;
    // SMTP sessions from greeting to QUIT: the fake MTA's own count ends at the socket's close, which
    // on loopback can come after our next connection has been accepted.
    let open = 0;
    let maxOpen = 0;
    const r = await relay(
      {
        greeting: () => {
          open += 1;
          maxOpen = Math.max(maxOpen, open);
          return holding ? new Promise<undefined>((resolve) => held.push(() => resolve(undefined))) : undefined;
        },
        quit: () => {
          open -= 1;
          return undefined;
        },
      },
      { maxConnections: 3 },
    );
    for (const domain of DOMAINS) for (let index = 0; index < 10; index += 1) await r.commit(`rcpt${index}@${domain}`);
    await r.scheduler.start();
    await r.mta.waitForSessions(3);
    await turns();
    assert.equal(r.mta.sessions.length, 3, 'the other domains of the provider wait (concurrencyPerDomain alone would allow 60)');
    assert.equal(r.providers.providerState(PROVIDER)?.running, 3);
    holding = false;
    held.splice(0).forEach((release) => release());
    await r.mta.waitForMessages(60);
    await r.scheduler.idle();
    assert.equal(maxOpen, 3, 'never more than three SMTP sessions at once');
    assert.ok(r.mta.maxConcurrentSessions <= 4, `TCP connections at once: ${r.mta.maxConcurrentSessions}`);
    assert.equal(r.mta.sessions.length, 6, 'one session per domain: each carried its domain\'s ten messages');
    assert.deepEqual(await r.spool.list(), []);
    assert.equal(r.providers.providerState(PROVIDER)?.running, 0);
  });

  it('pauses a provider answering 421 4.7.28: no connection during the pause, a longer pause on a repeat, deferred not bounced, then recovery', async () => {
    let throttling = true;
    const r = await relay({ mail: () => (throttling ? '421 4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from your IP address.' : undefined) }, { maxConnections: 4, maxMessagesPerJob: 1 });
    for (const domain of DOMAINS) await r.commit(`rcpt@${domain}`);
    await r.scheduler.start();
    await r.scheduler.idle();
    const firstWave = r.mta.sessions.length;
    assert.ok(firstWave >= 1 && firstWave <= 4, `at most the cap in the first wave (${firstWave})`);
    let state = r.providers.providerState(PROVIDER);
    assert.equal(state?.pausedUntilMs, (state?.lastThrottle?.atMs ?? 0) + MINUTE_MS, 'paused for a minute');
    assert.equal(state?.allowedSessions, 2, 'half the sessions');
    assert.equal(state?.lastThrottle?.reason, 'rate-limited');
    assert.equal(r.mta.sessions.length, firstWave, 'the second MX of the same provider was not tried');
    const pausedUntil = state?.pausedUntilMs ?? 0;
    assert.ok(r.log.entries.some((entry) => entry.msg === 'provider throttled, paused' && entry['provider'] === PROVIDER));

    // Retries fall due every 10 s during the pause: they wait without connecting.
    for (let step = 0; step < 5; step += 1) await r.advance(10_000);
    await r.advance(pausedUntil - r.clock.now() - 1);
    assert.equal(r.mta.sessions.length, firstWave, 'no connection during the pause');
    assert.equal(r.dsns.length, 0);
    assert.equal((await r.spool.list()).length, DOMAINS.length);

    await r.advance(1);
    assert.ok(r.mta.sessions.length > firstWave, 'sessions again once the pause ends');
    state = r.providers.providerState(PROVIDER);
    assert.equal((state?.pausedUntilMs ?? 0) - r.clock.now(), 2 * MINUTE_MS, 'throttled again: twice as long');
    assert.equal(state?.allowedSessions, 1);
    assert.equal(state?.throttledInARow, 2);
    const secondWave = r.mta.sessions.length;
    assert.ok(secondWave - firstWave <= 2, 'within the halved session count');
    await r.advance(2 * MINUTE_MS - 1);
    assert.equal(r.mta.sessions.length, secondWave, 'no connection during the longer pause');

    throttling = false;
    await r.advance(1);
    for (let step = 0; step < 10 && (await r.spool.list()).length > 0; step += 1) await r.advance(10_000);
    assert.equal(r.mta.messages.length, DOMAINS.length, 'everything delivered in the end');
    assert.equal(r.dsns.length, 0, 'nothing bounced for the throttling');
    assert.ok(r.mta.maxConcurrentSessions <= 4);
    state = r.providers.providerState(PROVIDER);
    assert.ok((state?.allowedSessions ?? 0) > 1, 'sessions come back after successes');
    assert.equal(state?.pausedUntilMs, undefined);
  });

  it('recognises Microsoft\'s 451 4.7.650 at RCPT: the provider pauses and the job\'s other messages are deferred with its reply', async () => {
    const r = await relay({ rcpt: () => '451 4.7.650 The mail server [127.0.0.1] has been temporarily rate limited due to IP reputation.' }, { maxConnections: 1 });
    for (let index = 0; index < 3; index += 1) await r.commit(`rcpt${index}@d1.test`);
    await r.scheduler.start();
    await r.scheduler.idle();
    assert.equal(r.mta.sessions.length, 1, 'one session, the other messages were not tried on it nor on the second MX');
    const state = r.providers.providerState(PROVIDER);
    assert.equal(state?.lastThrottle?.reason, 'ip-reputation');
    assert.equal((state?.pausedUntilMs ?? 0) - (state?.lastThrottle?.atMs ?? 0), MINUTE_MS);
    const records = await r.spool.list();
    assert.equal(records.length, 3);
    for (const record of records) {
      assert.equal(record.recipients[0]?.state, 'pending');
      assert.match(record.recipients[0]?.lastReply ?? '', /^451 4\.7\.650 /);
    }
    assert.equal(r.dsns.length, 0);
  });

  it('keeps to a per-provider rate cap of two messages a minute', async () => {
    const r = await relay({}, { provider: { maxConnections: 10, ratePerMinute: 2 } });
    for (const domain of DOMAINS) await r.commit(`rcpt@${domain}`);
    await r.scheduler.start();
    await r.scheduler.idle();
    assert.equal(r.mta.messages.length, 2);
    await r.advance(MINUTE_MS - 1);
    assert.equal(r.mta.messages.length, 2);
    await r.advance(1);
    assert.equal(r.mta.messages.length, 4);
    await r.advance(MINUTE_MS);
    assert.equal(r.mta.messages.length, 6);
    assert.deepEqual(await r.spool.list(), []);
  });
});
