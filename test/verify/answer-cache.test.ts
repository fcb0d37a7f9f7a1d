// The probe-answer cache: each result lives for its own TTL on the injected
// clock, a TTL of 0 stores nothing, and the least recently used entry goes
// first when the cache is full. The probe slots: a cap with a waiting line.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnswerCache } from '../../src/verify/answer-cache.js';
import { ProbeSlots } from '../../src/verify/probe-slots.js';
import { ManualClock } from '../helpers/manual-clock.js';

const HOUR = 3_600_000;

test('answer cache: valid and invalid answers expire after their own TTLs', () => {
  const clock = new ManualClock();
  const cache = new AnswerCache({ clock, maxEntries: 10, positiveTtlMs: 24 * HOUR, negativeTtlMs: 3 * HOUR });
  cache.set('alice@example.org', 'valid', '250 ok');
  cache.set('nobody@example.org', 'invalid', '550 5.1.1 unknown');
  clock.advance(3 * HOUR - 1);
  assert.equal(cache.get('nobody@example.org')?.result, 'invalid');
  clock.advance(1);
  assert.equal(cache.get('nobody@example.org'), undefined);
  assert.equal(cache.get('alice@example.org')?.detail, '250 ok');
  clock.advance(21 * HOUR);
  assert.equal(cache.get('alice@example.org'), undefined);
  assert.equal(cache.size, 0, 'expired entries are dropped when read');
});

test('answer cache: a TTL of 0 caches nothing, and a new answer replaces the old', () => {
  const clock = new ManualClock();
  const cache = new AnswerCache({ clock, maxEntries: 10, positiveTtlMs: HOUR, negativeTtlMs: 0 });
  cache.set('a@example.org', 'valid', '250');
  cache.set('a@example.org', 'invalid', '550');
  assert.equal(cache.get('a@example.org'), undefined, 'the invalid answer (TTL 0) removed the valid one');
  cache.set('a@example.org', 'valid', '250 again');
  assert.equal(cache.get('a@example.org')?.detail, '250 again');
});

test('answer cache: bounded; the least recently used entry is evicted first', () => {
  const clock = new ManualClock();
  const cache = new AnswerCache({ clock, maxEntries: 3, positiveTtlMs: HOUR, negativeTtlMs: HOUR });
  for (const name of ['a', 'b', 'c']) cache.set(`${name}@example.org`, 'valid', name);
  assert.ok(cache.get('a@example.org'), 'a is now the most recently used');
  cache.set('d@example.org', 'invalid', 'd');
  assert.equal(cache.size, 3);
  assert.equal(cache.get('b@example.org'), undefined, 'b was the least recently used');
  for (const name of ['a', 'c', 'd']) assert.ok(cache.get(`${name}@example.org`), name);
});

test('answer cache: keeps a short detail only', () => {
  const cache = new AnswerCache({ clock: new ManualClock(), maxEntries: 1, positiveTtlMs: HOUR, negativeTtlMs: HOUR });
  cache.set('a@example.org', 'invalid', 'x'.repeat(5000));
  assert.equal(cache.get('a@example.org')?.detail.length, 200);
});

test('probe slots: at most `max` at once; the next in line takes a freed slot; an aborted wait takes none', async () => {
  const slots = new ProbeSlots(2);
  const never = new AbortController().signal;
  assert.equal(await slots.acquire(never), true);
  assert.equal(await slots.acquire(never), true);
  const order: string[] = [];
  const third = slots.acquire(never).then((granted) => order.push(`third ${granted}`));
  const giveUp = new AbortController();
  const fourth = slots.acquire(giveUp.signal).then((granted) => order.push(`fourth ${granted}`));
  giveUp.abort();
  await fourth;
  slots.release();
  await third;
  assert.deepEqual(order, ['fourth false', 'third true']);
  assert.equal(slots.taken, 2);
  slots.release();
  slots.release();
  assert.equal(slots.taken, 0);
});
