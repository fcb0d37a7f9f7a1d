import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientKey, FailureLimiter } from '../../src/auth/failure-limiter.js';
import { ManualClock } from '../helpers/manual-clock.js';

const MINUTE_MS = 60_000;

function limiter(clock: ManualClock, overrides: Partial<ConstructorParameters<typeof FailureLimiter>[0]> = {}): FailureLimiter {
  return new FailureLimiter({ clock, windowMs: 10 * MINUTE_MS, maxFailures: 5, lockoutMs: 30 * MINUTE_MS, baseDelayMs: 1000, maxDelayMs: 4000, maxClients: 100, ...overrides });
}

test('failed AUTH delays grow 0, 1s, 2s, 4s and are capped; the fifth failure locks out', () => {
  const clock = new ManualClock();
  const limits = limiter(clock);
  assert.equal(limits.delayMsFor('192.0.2.1'), 0);
  const verdicts = [1, 2, 3, 4].map(() => limits.recordFailure('192.0.2.1'));
  assert.deepEqual(verdicts.map((verdict) => verdict.delayMs), [0, 1000, 2000, 4000]);
  assert.deepEqual(verdicts.map((verdict) => verdict.lockedOut), [false, false, false, false]);
  assert.equal(limits.delayMsFor('192.0.2.1'), 4000);
  assert.equal(limits.isLockedOut('192.0.2.1'), false);
  const fifth = limits.recordFailure('192.0.2.1');
  assert.deepEqual(fifth, { failures: 5, delayMs: 4000, lockedOut: true });
  assert.equal(limits.isLockedOut('192.0.2.1'), true);
  assert.equal(limits.lockedUntilMs('192.0.2.1'), clock.now() + 30 * MINUTE_MS);
  assert.equal(limits.isLockedOut('192.0.2.2'), false, 'other clients are not affected');
});

test('the lockout ends after lockoutMs and the client starts afresh', () => {
  const clock = new ManualClock();
  const limits = limiter(clock);
  for (let i = 0; i < 5; i += 1) limits.recordFailure('192.0.2.1');
  clock.advance(30 * MINUTE_MS - 1);
  assert.equal(limits.isLockedOut('192.0.2.1'), true);
  clock.advance(1);
  assert.equal(limits.isLockedOut('192.0.2.1'), false);
  assert.equal(limits.delayMsFor('192.0.2.1'), 0);
  assert.deepEqual(limits.recordFailure('192.0.2.1'), { failures: 1, delayMs: 0, lockedOut: false });
});

test('failures older than the window no longer count', () => {
  const clock = new ManualClock();
  const limits = limiter(clock);
  for (let i = 0; i < 4; i += 1) {
    limits.recordFailure('192.0.2.1');
    clock.advance(3 * MINUTE_MS);
  }
  // Now 12 minutes after the first: only the failures at 3, 6 and 9 minutes are in the 10-minute window.
  assert.deepEqual(limits.recordFailure('192.0.2.1'), { failures: 4, delayMs: 4000, lockedOut: false });
  clock.advance(11 * MINUTE_MS);
  assert.equal(limits.delayMsFor('192.0.2.1'), 0);
  assert.equal(limits.size, 0, 'a client with nothing left to remember is forgotten');
});

test('memory is bounded: beyond maxClients the least recently failing client is forgotten', () => {
  const clock = new ManualClock();
  const limits = limiter(clock, { maxClients: 3 });
  for (const address of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) {
    limits.recordFailure(address);
    limits.recordFailure(address);
  }
  limits.recordFailure('192.0.2.1');
  limits.recordFailure('192.0.2.4');
  assert.equal(limits.size, 3);
  assert.equal(limits.delayMsFor('192.0.2.2'), 0, 'the oldest was evicted');
  assert.equal(limits.delayMsFor('192.0.2.1'), 2000);
  assert.equal(limits.delayMsFor('192.0.2.3'), 1000);
});

test('IPv6 clients are counted per /64 and IPv4-mapped addresses as IPv4', () => {
  assert.equal(clientKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(clientKey('2001:DB8:1:2:bbbb:0:0:2'), '2001:db8:1:2::/64');
  assert.equal(clientKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(clientKey('::1'), '0:0:0:0::/64');
  assert.equal(clientKey('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(clientKey('192.0.2.7'), '192.0.2.7');
  const clock = new ManualClock();
  const limits = limiter(clock);
  limits.recordFailure('2001:db8:1:2::1');
  limits.recordFailure('2001:db8:1:2::ffff');
  assert.equal(limits.delayMsFor('2001:db8:1:2::42'), 1000);
  assert.equal(limits.delayMsFor('2001:db8:1:3::1'), 0);
});
