import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baseRetryDelayMs, retryDelayMs, RETRY_JITTER_FRACTION } from '../../src/scheduler/backoff.js';
import { DestinationLimits } from '../../src/scheduler/destination-limits.js';
import { DueQueue } from '../../src/scheduler/due-queue.js';
import { delayWarningDue, nextAttemptMs } from '../../src/scheduler/expiry.js';
import { destinationOf } from '../../src/scheduler/grouping.js';
import { dsnRecipient } from '../../src/scheduler/notices.js';
import { applyOutcomes, EXPIRED, failPending, HISTORY_LIMIT } from '../../src/scheduler/outcomes.js';
import type { EnvelopeRecord, RecipientRecord } from '../../src/spool/types.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { deferred, delivered, failed, MINUTE_MS } from './fixtures.js';

test('retry delay n is the n-th configured delay, the last one repeating', () => {
  const delays = [5, 10, 20];
  for (const [failedAttempts, expectedMs] of [[1, 5], [2, 10], [3, 20], [4, 20], [40, 20], [0, 5]] as const) {
    assert.equal(baseRetryDelayMs(failedAttempts, delays), expectedMs, `after ${failedAttempts}`);
    assert.equal(retryDelayMs(failedAttempts, delays, () => 0), expectedMs);
  }
  assert.throws(() => baseRetryDelayMs(1, []), RangeError);
});

test('retry jitter stays within [delay, delay * (1 + RETRY_JITTER_FRACTION)]', () => {
  const random = seededRandom(7);
  for (let index = 0; index < 1000; index += 1) {
    const delayMs = retryDelayMs(2, [MINUTE_MS, 10 * MINUTE_MS], random);
    assert.ok(delayMs >= 10 * MINUTE_MS && delayMs <= 10 * MINUTE_MS * (1 + RETRY_JITTER_FRACTION), String(delayMs));
  }
  assert.ok(retryDelayMs(1, [MINUTE_MS], () => 0.999) > MINUTE_MS);
});

test('the due queue fires at the earliest due time, in order, with replaced and removed entries honoured', () => {
  const clock = new ManualClock(0);
  const fired: string[][] = [];
  const queue: DueQueue = new DueQueue(clock, () => fired.push(queue.takeDue(clock.now())));
  queue.schedule('c', 300);
  queue.schedule('a', 100);
  queue.schedule('b', 200);
  queue.schedule('a', 250);
  queue.schedule('gone', 50);
  assert.equal(queue.remove('gone'), true);
  assert.equal(queue.size, 3);
  clock.advance(199);
  assert.deepEqual(fired, []);
  clock.advance(1);
  assert.deepEqual(fired, [['b']]);
  clock.advance(100);
  assert.deepEqual(fired, [['b'], ['a'], ['c']]);
  assert.equal(queue.size, 0);
  queue.schedule('x', 1000);
  queue.schedule('y', 1000);
  queue.close();
  clock.advance(5000);
  assert.equal(fired.length, 3, 'closed: never fires again');
});

test('the due queue re-arms long delays in steps and still fires on time', () => {
  const clock = new ManualClock(0);
  const fired: number[] = [];
  const queue: DueQueue = new DueQueue(clock, () => {
    queue.takeDue(clock.now());
    fired.push(clock.now());
  });
  const dueMs = 30 * 24 * 60 * MINUTE_MS;
  queue.schedule('far', dueMs);
  clock.advance(dueMs - 1);
  assert.deepEqual(fired, []);
  clock.advance(1);
  assert.deepEqual(fired, [dueMs]);
});

test('destination limits: per destination and total caps, pause after connection failures, cleared by an answer', () => {
  const limits = new DestinationLimits({ maxConcurrency: 3, concurrencyPerDomain: 2, pauseDelayMs: (failures) => failures * 100 });
  assert.equal(limits.canStart('a', 0), true);
  limits.acquire('a');
  limits.acquire('a');
  assert.equal(limits.canStart('a', 0), false);
  assert.equal(limits.canStart('b', 0), true);
  limits.acquire('b');
  assert.equal(limits.canStart('c', 0), false);
  assert.equal(limits.saturated(), true);
  limits.release('a');
  assert.equal(limits.canStart('c', 0), true);
  assert.deepEqual(limits.runningPerDestination(), { a: 1, b: 1 });

  limits.recordSession('d', true, 1000);
  assert.equal(limits.pausedUntilMs('d', 1000), 1100);
  assert.equal(limits.canStart('d', 1099), false);
  assert.equal(limits.canStart('d', 1100), true);
  limits.recordSession('d', true, 1100);
  assert.equal(limits.pausedUntilMs('d', 1100), 1300, 'longer after each failure in a row');
  limits.recordSession('d', false, 1200);
  assert.equal(limits.pausedUntilMs('d', 1200), undefined);
  limits.recordSession('e', true, 0);
  limits.resume();
  assert.deepEqual(limits.paused(0), []);
});

test('a recipient destination is its canonical domain', () => {
  for (const [address, destination] of [
    ['a@Example.COM', 'example.com'],
    ['a@example.com.', 'example.com'],
    ['"x@y"@Example.org', 'example.org'],
    ['a@bücher.example', 'xn--bcher-kva.example'],
    ['a@[192.0.2.1]', '[192.0.2.1]'],
    ['a@[IPv6:2001:DB8::1]', '[ipv6:2001:db8::1]'],
    ['Postmaster', 'relay.test'],
  ] as const) {
    assert.equal(destinationOf(address, 'relay.test'), destination, address);
  }
});

function sampleRecord(recipients: readonly RecipientRecord[]): EnvelopeRecord {
  return {
    version: 1,
    id: 'abc',
    from: 'a@origin.test',
    arrival: new Date(0).toISOString(),
    size: 10,
    smtputf8: false,
    body: '7BIT',
    client: { address: '127.0.0.1', helo: 'h', listener: 'mta', tls: null, auth: null },
    nextAttempt: new Date(0).toISOString(),
    attempts: 0,
    delayWarningSent: false,
    recipients,
  };
}

function pending(address: string): RecipientRecord {
  return { address, state: 'pending', attempts: 0, lastReply: null, history: [] };
}

test('outcomes update pending recipients only, never a delivered or failed one', () => {
  const record = sampleRecord([pending('a@x'), { ...pending('b@x'), state: 'delivered' }, pending('c@x'), pending('d@x')]);
  const outcomes = new Map([
    ['a@x', delivered()],
    ['b@x', failed()],
    ['c@x', failed('550 5.7.1 rejected')],
    ['d@x', deferred('451 4.4.1 refused', false)],
  ]);
  const next = applyOutcomes(record, outcomes, 60_000);
  assert.deepEqual(
    next.recipients.map((recipient) => [recipient.address, recipient.state, recipient.attempts, recipient.lastReply]),
    [
      ['a@x', 'delivered', 1, '250 2.0.0 Ok queued'],
      ['b@x', 'delivered', 0, null],
      ['c@x', 'failed', 1, '550 5.7.1 rejected'],
      ['d@x', 'pending', 1, '451 4.4.1 refused'],
    ],
  );
  assert.deepEqual(next.recipients[2]?.history, [{ at: '1970-01-01T00:01:00.000Z', reply: '550 5.7.1 rejected', status: '5.7.1', mx: 'mx.remote.test' }]);
  assert.deepEqual(next.recipients[3]?.history, [{ at: '1970-01-01T00:01:00.000Z', reply: '451 4.4.1 refused', status: '4.4.1' }], 'no mx for a local reply');
  assert.equal(record.recipients[0]?.state, 'pending', 'the input is not changed');
});

test('the history keeps the newest HISTORY_LIMIT entries', () => {
  let record = sampleRecord([pending('a@x')]);
  for (let index = 0; index < HISTORY_LIMIT + 5; index += 1) record = applyOutcomes(record, new Map([['a@x', deferred(`451 4.3.0 try ${index}`)]]), index);
  const history = record.recipients[0]?.history ?? [];
  assert.equal(history.length, HISTORY_LIMIT);
  assert.equal(history.at(-1)?.reply, `451 4.3.0 try ${HISTORY_LIMIT + 4}`);
  assert.equal(record.recipients[0]?.attempts, HISTORY_LIMIT + 5);
});

test('DSN fields of a recipient: the last SMTP reply as diagnostic, the status of the last entry', () => {
  const record = failPending(applyOutcomes(sampleRecord([pending('a@x')]), new Map([['a@x', deferred('451 4.4.1 refused', false)]]), 1000), EXPIRED, 2000);
  assert.deepEqual(dsnRecipient(record.recipients[0] as RecipientRecord, 'failed'), {
    address: 'a@x',
    action: 'failed',
    status: '4.4.7',
    diagnostic: '451 4.4.1 refused',
    diagnosticIsRemote: false,
    remoteMta: undefined,
    lastAttemptMs: 1000,
  });
  const noEnhanced: RecipientRecord = { ...pending('b@x'), state: 'failed', history: [{ at: new Date(5).toISOString(), reply: '550 go away', mx: 'mx.x' }] };
  assert.equal(dsnRecipient(noEnhanced, 'failed').status, '5.0.0');
  assert.equal(dsnRecipient(noEnhanced, 'failed').diagnosticIsRemote, true);
  assert.deepEqual(dsnRecipient(pending('c@x'), 'delayed'), {
    address: 'c@x',
    action: 'delayed',
    status: '4.0.0',
    diagnostic: 'no delivery attempt was made',
    diagnosticIsRemote: false,
    remoteMta: undefined,
    lastAttemptMs: undefined,
  });
});

test('the next attempt is never after the expiry, and the delay warning is due once, never for <>', () => {
  const record = sampleRecord([pending('a@x')]);
  assert.equal(nextAttemptMs(record, 10 * MINUTE_MS, MINUTE_MS, 2 * MINUTE_MS), 3 * MINUTE_MS);
  assert.equal(nextAttemptMs(record, 10 * MINUTE_MS, 9 * MINUTE_MS, 2 * MINUTE_MS), 10 * MINUTE_MS);
  assert.equal(nextAttemptMs(record, 10 * MINUTE_MS, 11 * MINUTE_MS, 2 * MINUTE_MS), 11 * MINUTE_MS);
  assert.equal(delayWarningDue(record, 4 * MINUTE_MS, 4 * MINUTE_MS - 1), false);
  assert.equal(delayWarningDue(record, 4 * MINUTE_MS, 4 * MINUTE_MS), true);
  assert.equal(delayWarningDue({ ...record, delayWarningSent: true }, 4 * MINUTE_MS, 5 * MINUTE_MS), false);
  assert.equal(delayWarningDue({ ...record, from: '' }, 4 * MINUTE_MS, 5 * MINUTE_MS), false);
  assert.equal(delayWarningDue(record, 0, 5 * MINUTE_MS), false);
});

test('a signed message carries its stored DKIM-Signature fields to send first, and its size counts them', async () => {
  const { Readable } = await import('node:stream');
  const { planTransactions } = await import('../../src/scheduler/grouping.js');
  const { newRecord } = await import('../../src/spool/record.js');
  const envelope = { from: 'a@example.org', recipients: ['b@example.net'], smtputf8: false, body: '7BIT' as const, client: { address: '127.0.0.1', helo: 'h', listener: 'mta', tls: null, auth: null } };
  const stored = 'Subject: hi\r\n\r\nbody\r\n';
  const signature = 'DKIM-Signature: v=1; a=rsa-sha256; d=example.org;\r\n b=xyz\r\n';
  const open = (): InstanceType<typeof Readable> => Readable.from([Buffer.from(stored.slice(0, 5)), Buffer.from(stored.slice(5))]);
  const read = async (stream: InstanceType<typeof Readable>): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  const [signed] = planTransactions(newRecord('m1', { ...envelope, dkimSignature: signature }, 0, stored.length), open, 50, 'relay.test');
  assert.equal(signed?.message.headerPrefix?.toString('utf8'), signature);
  assert.equal(await read(signed?.message.openBody() as InstanceType<typeof Readable>), stored);
  assert.equal(signed?.message.sizeBytes, signature.length + stored.length);
  const [unsigned] = planTransactions(newRecord('m2', envelope, 0, stored.length), open, 50, 'relay.test');
  assert.equal(await read(unsigned?.message.openBody() as InstanceType<typeof Readable>), stored);
  assert.equal(unsigned?.message.headerPrefix, undefined);
  assert.equal(unsigned?.message.sizeBytes, stored.length);
});
