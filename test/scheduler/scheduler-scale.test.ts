import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deferred, delivered, listIds, makeHarness, MINUTE_MS } from './fixtures.js';

test('a large backlog is taken maxActiveRounds at a time, and a message received meanwhile is delivered without waiting behind it', async (t) => {
  const h = await makeHarness({ maxActiveRounds: 4, maxMessagesPerJob: 1, settings: { concurrencyPerDomain: 20, maxConcurrency: 40 } });
  t.after(() => h.close());
  h.transport.hold = (destination) => destination === 'slow.test';
  const backlog: string[] = [];
  for (let index = 0; index < 12; index += 1) backlog.push((await h.commit([`r${index}@slow.test`])).id);
  await h.scheduler.start();
  await h.transport.until(() => h.transport.heldJobs === 4);
  assert.deepEqual([h.scheduler.status().active, h.scheduler.status().queued], [4, 8]);

  const fresh = await h.submit(['someone@fast.test']);
  await h.transport.until(() => h.transport.deliveredTo().includes(`${fresh.id} someone@fast.test`));
  assert.equal(h.transport.heldJobs, 4, 'the backlog still holds its four rounds');

  let maxActive = 0;
  h.transport.script = () => {
    maxActive = Math.max(maxActive, h.scheduler.status().active);
    return delivered();
  };
  while (h.transport.deliveredTo().length < 13) {
    await h.transport.until(() => h.transport.heldJobs > 0 || h.transport.deliveredTo().length === 13);
    h.transport.releaseOne();
  }
  await h.scheduler.idle();
  // The backlog's 4, and the fresh message's round while it may still be settling.
  assert.ok(maxActive <= 5, `at most 4 + 1 rounds at once, saw ${maxActive}`);
  assert.deepEqual(new Set(h.transport.deliveredTo().map((entry) => entry.split(' ')[0])), new Set([...backlog, fresh.id]));
  assert.deepEqual(await listIds(h.spool), []);
});

test('flush() of many deferred messages makes them all due in one go, still taken maxActiveRounds at a time', async (t) => {
  const h = await makeHarness({ maxActiveRounds: 3, maxMessagesPerJob: 1, settings: { retryDelaysMs: [60 * MINUTE_MS], concurrencyPerDomain: 20, maxConcurrency: 40 } });
  t.after(() => h.close());
  h.transport.script = () => deferred();
  await h.scheduler.start();
  for (let index = 0; index < 10; index += 1) await h.submit([`r${index}@later.test`]);
  await h.scheduler.idle();
  assert.equal(h.transport.sent.length, 10);
  assert.deepEqual([h.scheduler.status().active, h.scheduler.status().queued], [0, 10]);

  h.transport.hold = true;
  h.transport.script = () => delivered();
  assert.equal(await h.scheduler.flush(), true);
  await h.transport.until(() => h.transport.heldJobs === 3);
  assert.deepEqual([h.scheduler.status().active, h.scheduler.status().queued], [3, 7]);
  while (h.transport.deliveredTo().length < 10) {
    await h.transport.until(() => h.transport.heldJobs > 0 || h.transport.deliveredTo().length === 10);
    h.transport.releaseOne();
  }
  await h.scheduler.idle();
  assert.deepEqual(await listIds(h.spool), []);
});
