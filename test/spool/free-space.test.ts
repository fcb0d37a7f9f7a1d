// The spool free-space reading: statfs of a real folder, and the short cache
// on the injected clock that keeps a busy server from calling statfs per command.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { cachedFreeSpace, FREE_SPACE_CACHE_MS, statfsFreeBytes } from '../../src/spool/free-space.js';
import { ManualClock } from '../helpers/manual-clock.js';

test('statfsFreeBytes reads a positive whole number of bytes for a real folder', async () => {
  const bytes = await statfsFreeBytes(tmpdir());
  assert.ok(Number.isSafeInteger(bytes) && bytes > 0, String(bytes));
});

test('a free-space reading is reused for under a second of the injected clock, then read again', async () => {
  const clock = new ManualClock();
  let reads = 0;
  const cached = cachedFreeSpace(async () => 1000 + ++reads, clock);
  assert.equal(await cached(), 1001);
  clock.advance(FREE_SPACE_CACHE_MS - 1);
  assert.equal(await cached(), 1001);
  clock.advance(1);
  assert.equal(await cached(), 1002);
  clock.setNow(clock.now() - 60_000);
  assert.equal(await cached(), 1003, 'a clock stepped backwards reads again');
  assert.equal(reads, 3);
});

test('callers asking at once share one reading, and a failed reading is not kept', async () => {
  const clock = new ManualClock();
  let reads = 0;
  let fail = true;
  const cached = cachedFreeSpace(async () => {
    reads += 1;
    if (fail) throw new Error('statfs failed');
    return 42;
  }, clock);
  const [first, second] = await Promise.allSettled([cached(), cached()]);
  assert.equal(first.status, 'rejected');
  assert.equal(second.status, 'rejected');
  assert.equal(reads, 1);
  fail = false;
  assert.equal(await cached(), 42);
  assert.equal(reads, 2);
});
