// kill -9 at random moments while mail flows in and out (short form; the long
// form is bench/crash-loop.ts): nothing answered 250 is lost, and duplicates
// (a kill between the sink's 250 and outpost's record of it) are counted.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { runCrashLoop } from '../helpers/crash-loop.js';

it('loses no acknowledged message over 10 kill -9 cycles with deliveries under way', { timeout: 180_000 }, async (t) => {
  const result = await runCrashLoop({ cycles: 10, seed: 11, senders: 3, maxAcksPerCycle: 12, bodyBytes: 2000 });
  t.diagnostic(JSON.stringify(result));
  assert.ok(result.acknowledged >= 10, `acknowledged ${result.acknowledged}`);
  assert.deepEqual(result.lost, []);
  assert.ok(result.delivered >= result.acknowledged);
  // A duplicate needs a kill inside one delivery's window: at most a few per kill.
  assert.ok(result.duplicates <= 10 * 3, `duplicates ${result.duplicates}`);
});
