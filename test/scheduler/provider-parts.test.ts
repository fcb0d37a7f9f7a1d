// The parts of provider-aware limits, each alone: registrable domains, the
// provider of an MX plan, the throttling classifier (a table of real provider
// replies), the sliding-window caps, and the adaptive backoff on the injected clock.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { registrableDomain } from '../../src/core/registrable-domain.js';
import { providerOfHost, providerOfPlan, providerNamingOf } from '../../src/delivery/provider-key.js';
import { throttleOf } from '../../src/delivery/throttle-reply.js';
import type { RecipientOutcome } from '../../src/delivery/types.js';
import type { PlanSuccess } from '../../src/dns/next-hop.js';
import type { ProviderConfig } from '../../src/config/types.js';
import { ProviderLimits } from '../../src/scheduler/provider-limits.js';
import { SlidingWindowCap } from '../../src/scheduler/provider-window.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog } from '../helpers/memory-log.js';

const MINUTE_MS = 60_000;

test('the registrable domain of MX hosts, with multi-label suffixes built in and added', () => {
  for (const [host, expected] of [
    ['aspmx.l.google.com', 'google.com'],
    ['alt1.aspmx.l.google.com.', 'google.com'],
    ['example-com.mail.protection.outlook.com', 'outlook.com'],
    ['mta5.am0.yahoodns.net', 'yahoodns.net'],
    ['mx.example.co.uk', 'example.co.uk'],
    ['MX1.Example.COM.AU', 'example.com.au'],
    ['example.com', 'example.com'],
    ['co.uk', 'co.uk'],
    ['localhost', 'localhost'],
    ['mx.example.ac.xx', 'ac.xx'],
  ] as const) {
    assert.equal(registrableDomain(host), expected, host);
  }
  assert.equal(registrableDomain('mx.example.ac.xx', new Set(['ac.xx'])), 'example.ac.xx');
});

function plan(source: PlanSuccess['source'], ...hosts: [string, number][]): PlanSuccess {
  return { ok: true, domain: 'dest.test', source, hosts: hosts.map(([host, preference]) => ({ host, preference, port: 25, addresses: ['192.0.2.1'], ttlSeconds: 300 })) };
}

test('the provider of a plan is that of its most preferred MX hosts; routes and literals have none', () => {
  assert.equal(providerOfPlan(plan('mx', ['aspmx.l.google.com', 1], ['alt1.aspmx.l.google.com', 5])), 'google.com');
  assert.equal(providerOfPlan(plan('mx', ['mx.backup.example', 20], ['mx1.primary.example', 10])), 'backup.example', 'plan order is preference order');
  assert.equal(providerOfPlan(plan('mx', ['mx1.primary.example', 10], ['mx.backup.example', 20])), 'primary.example');
  assert.equal(providerOfPlan(plan('mx', ['mx.b-provider.example', 10], ['mx.a-provider.example', 10])), 'a-provider.example', 'a tie is broken by name, not by the shuffle');
  assert.equal(providerOfPlan(plan('implicit', ['mail.example.org', 0])), 'example.org');
  assert.equal(providerOfPlan(plan('route', ['smarthost.example', 0])), undefined);
  assert.equal(providerOfPlan(plan('literal', ['192.0.2.1', 0])), undefined);
});

test('configured MX patterns name a provider; the longest pattern wins', () => {
  const providers = new Map<string, ProviderConfig>([
    ['microsoft', { maxConnections: 5, ratePerMinute: undefined, ratePerHour: undefined, mx: ['outlook.com', 'hotmail.com'] }],
    ['eu-hosting', { maxConnections: undefined, ratePerMinute: undefined, ratePerHour: undefined, mx: ['*.eu.outlook.com'] }],
  ]);
  const naming = providerNamingOf({ providers, publicSuffixes: ['ac.xx'] });
  assert.equal(providerOfHost('example-com.mail.protection.outlook.com', naming), 'microsoft');
  assert.equal(providerOfHost('mx4.hotmail.com', naming), 'microsoft');
  assert.equal(providerOfHost('outlook.com', naming), 'microsoft');
  assert.equal(providerOfHost('x.eu.outlook.com', naming), 'eu-hosting');
  assert.equal(providerOfHost('mx.example.ac.xx', naming), 'example.ac.xx');
});

function remote(reply: string, status: string): RecipientOutcome {
  return { kind: reply.startsWith('2') ? 'delivered' : reply.startsWith('5') ? 'permanent' : 'transient', reply, status, remote: true, remoteMta: 'mx.test' };
}

test('recognises the providers\' throttling replies and nothing else', () => {
  const cases: [RecipientOutcome, string | undefined][] = [
    [remote('421 4.7.0 Try again later, closing connection. (EHLO) - gsmtp', '4.7.0'), 'closing-channel'],
    [remote('421 4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from your IP address.', '4.7.28'), 'rate-limited'],
    [remote('450 4.7.28 Our system has detected an unusual rate of unsolicited mail', '4.7.28'), 'rate-limited'],
    [remote('451 4.7.650 The mail server [192.0.2.1] has been temporarily rate limited due to IP reputation.', '4.7.650'), 'ip-reputation'],
    [remote('451 4.7.651 The mail server [192.0.2.1] has been temporarily rate limited due to IP reputation.', '4.7.651'), 'ip-reputation'],
    [remote('421 4.7.0 [TS01] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints', '4.7.0'), 'closing-channel'],
    [remote('421 Too many concurrent SMTP connections from this IP address; please try again later', '4.0.0'), 'try-again-later'],
    [remote('451 4.7.0 Temporary server error, try again later', '4.7.0'), 'try-again-later'],
    // Not throttling: greylisting, a busy or closing server, a full mailbox, a refusal, a delivery, a local condition.
    [remote('450 4.7.1 <a@b.test>: Recipient address rejected: Greylisted, try again later', '4.7.1'), undefined],
    [remote('451 4.7.1 Please try again later (greylisting)', '4.7.1'), undefined],
    [remote('421 4.3.2 too busy', '4.3.2'), undefined],
    [remote('452 4.2.2 mailbox full', '4.2.2'), undefined],
    [remote('550 5.7.28 bulk mail refused', '5.7.28'), undefined],
    [remote('250 2.0.0 OK', '2.0.0'), undefined],
    [{ kind: 'transient', reply: '451 4.7.28 local', status: '4.7.28', remote: false, remoteMta: undefined }, undefined],
  ];
  for (const [outcome, reason] of cases) assert.equal(throttleOf(outcome)?.reason, reason, outcome.reply);
});

test('a sliding-window cap lets `limit` starts through per window', () => {
  const cap = new SlidingWindowCap(3, MINUTE_MS);
  assert.equal(cap.take(5, 0), 3);
  assert.equal(cap.take(1, 30_000), 0);
  assert.equal(cap.readyAtMs(30_000), MINUTE_MS);
  assert.equal(cap.take(5, MINUTE_MS), 3);
  assert.equal(cap.readyAtMs(MINUTE_MS), 2 * MINUTE_MS);
});

function limits(options: Partial<ConstructorParameters<typeof ProviderLimits>[0]> = {}): { providers: ProviderLimits; clock: ManualClock; log: ReturnType<typeof memoryLog>; throttled: string[] } {
  const clock = new ManualClock();
  const log = memoryLog('debug');
  const throttled: string[] = [];
  const providers = new ProviderLimits({ defaultMaxConnections: 8, clock, logger: log.logger, observer: { throttled: (provider) => throttled.push(provider) }, ...options });
  return { providers, clock, log, throttled };
}

test('throttling halves the sessions and pauses the provider, doubling on repeats up to an hour', () => {
  const { providers, clock, log, throttled } = limits();
  const t0 = clock.now();
  for (let index = 0; index < 8; index += 1) providers.acquire('google.com', t0);
  assert.equal(providers.canStart('google.com', t0), false, 'at its cap of 8');
  for (let index = 0; index < 8; index += 1) providers.release('google.com', t0);
  providers.recordThrottle('google.com', 'rate-limited', '421 4.7.28 slow down', t0);
  providers.recordThrottle('google.com', 'rate-limited', '421 4.7.28 slow down', t0 + 10);
  let state = providers.providerState('google.com');
  assert.equal(state?.allowedSessions, 4, 'one episode: sessions ending during the pause do not halve again');
  assert.equal(state?.pausedUntilMs, t0 + MINUTE_MS);
  assert.equal(state?.throttledTotal, 2);
  assert.deepEqual(throttled, ['google.com', 'google.com']);
  assert.equal(providers.canStart('google.com', t0 + MINUTE_MS - 1), false);
  assert.equal(providers.take('google.com', 5, t0 + MINUTE_MS - 1), 0);
  assert.equal(providers.readyAtMs('google.com', t0), t0 + MINUTE_MS);
  assert.equal(providers.canStart('google.com', t0 + MINUTE_MS), true);

  const pauses: number[] = [];
  let nowMs = t0 + MINUTE_MS;
  for (let episode = 0; episode < 8; episode += 1) {
    providers.recordThrottle('google.com', 'rate-limited', '421 4.7.28 slow down', nowMs);
    state = providers.providerState('google.com', nowMs);
    pauses.push(((state?.pausedUntilMs ?? 0) - nowMs) / MINUTE_MS);
    nowMs = state?.pausedUntilMs ?? nowMs;
  }
  assert.deepEqual(pauses, [2, 4, 8, 16, 32, 60, 60, 60]);
  assert.equal(providers.providerState('google.com', nowMs)?.allowedSessions, 1, 'never below one session');
  assert.ok(log.entries.some((entry) => entry.msg === 'provider throttled, paused' && entry['provider'] === 'google.com' && typeof entry['pausedUntil'] === 'string'));
  assert.ok(log.entries.some((entry) => entry.msg === 'provider pause ended'));
});

test('successes earn sessions back one at a time; at the cap the provider has recovered and the next pause starts over', () => {
  const { providers, clock, log } = limits({ defaultMaxConnections: 4, recoverySessions: 2 });
  const t0 = clock.now();
  providers.recordThrottle('p.test', 'rate-limited', '421 4.7.0 later', t0);
  assert.equal(providers.providerState('p.test')?.allowedSessions, 2);
  const t1 = t0 + MINUTE_MS;
  providers.recordSuccess('p.test', t1);
  assert.equal(providers.providerState('p.test', t1)?.allowedSessions, 3, 'a success a minute after the change earns one');
  providers.recordSuccess('p.test', t1 + 1);
  assert.equal(providers.providerState('p.test', t1 + 1)?.allowedSessions, 3);
  providers.recordSuccess('p.test', t1 + 2);
  assert.equal(providers.providerState('p.test', t1 + 2)?.allowedSessions, 4, 'two successes earn one');
  assert.equal(providers.providerState('p.test', t1 + 2)?.throttledInARow, 0);
  assert.ok(log.entries.some((entry) => entry.msg === 'provider recovering'));
  assert.ok(log.entries.some((entry) => entry.msg === 'provider recovered' && entry['provider'] === 'p.test'));
  providers.recordThrottle('p.test', 'rate-limited', '421 4.7.0 later', t1 + 3);
  assert.equal(providers.providerState('p.test', t1 + 3)?.pausedUntilMs, t1 + 3 + MINUTE_MS, 'the pause starts over at one minute');
});

test('per-provider rate caps: messages per minute and per hour', () => {
  const providers = new Map([['capped.test', { maxConnections: 2, ratePerMinute: 3, ratePerHour: 5 }]]);
  const { providers: limited, clock } = limits({ providers });
  const t0 = clock.now();
  assert.equal(limited.take('capped.test', 10, t0), 3);
  assert.equal(limited.take('capped.test', 1, t0 + 1), 0);
  assert.equal(limited.readyAtMs('capped.test', t0 + 1), t0 + MINUTE_MS);
  assert.equal(limited.take('capped.test', 10, t0 + MINUTE_MS), 2, 'the hour allows two more');
  assert.equal(limited.readyAtMs('capped.test', t0 + MINUTE_MS), t0 + 60 * MINUTE_MS);
  assert.equal(limited.take('uncapped.test', 10, t0), 10);
  assert.equal(limited.providerState('capped.test', t0)?.maxSessions, 2);
  assert.equal(limited.providerState('uncapped.test', t0)?.maxSessions, 8);
});
