import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deferred, delivered, FakeTransport, failed, listIds, makeHarness, MINUTE_MS } from './fixtures.js';

test('concurrencyPerDomain and maxConcurrency are never exceeded, and destinations take turns', async (t) => {
  const h = await makeHarness({ settings: { maxConcurrency: 3, concurrencyPerDomain: 2 }, maxMessagesPerJob: 1 });
  t.after(() => h.close());
  h.transport.hold = true;
  for (let index = 0; index < 6; index += 1) {
    await h.commit([`r${index}@a.test`]);
    await h.commit([`r${index}@b.test`]);
  }
  await h.scheduler.start();
  await h.transport.until(() => h.transport.running === 3);
  assert.deepEqual(h.scheduler.status().running, 3);
  // Release the held jobs one at a time, each as soon as one is held.
  while (h.transport.deliveredTo().length < 12) {
    await h.transport.until(() => h.transport.heldJobs > 0 || h.transport.deliveredTo().length === 12);
    h.transport.releaseOne();
  }
  await h.scheduler.idle();
  assert.equal(h.transport.deliveredTo().length, 12);
  assert.equal(h.transport.maxRunning, 3);
  assert.equal(h.transport.maxRunningBy.get('a.test'), 2);
  assert.equal(h.transport.maxRunningBy.get('b.test'), 2);
  assert.deepEqual(await listIds(h.spool), []);
});

test('a destination failing at connection level is paused: a second message to it waits too', async (t) => {
  const h = await makeHarness({ settings: { retryDelaysMs: [10 * MINUTE_MS] } });
  t.after(() => h.close());
  h.transport.script = (destination) => (destination === 'dead.test' ? deferred('451 4.4.1 connection refused by mx.dead.test[127.0.0.9]', false) : delivered());
  await h.scheduler.start();
  const first = await h.submit(['x@dead.test']);
  await h.scheduler.idle();
  const startMs = h.clock.now();
  assert.deepEqual(h.scheduler.status().paused, [{ destination: 'dead.test', untilMs: startMs + 10 * MINUTE_MS, consecutiveFailures: 1 }]);
  assert.equal(h.log.messages('destination paused').length, 1);

  const second = await h.submit(['y@dead.test', 'z@alive.test']);
  await h.scheduler.idle();
  const attemptsOf = (id: string): number => h.transport.sent.filter((sent) => sent.id === id && sent.destination === 'dead.test').length;
  assert.equal(attemptsOf(first.id), 1);
  assert.equal(attemptsOf(second.id), 0, 'waits for the paused destination');
  assert.ok(h.transport.deliveredTo().includes(`${second.id} z@alive.test`), 'other destinations are not held up');
  assert.equal(h.scheduler.status().active, 1);

  await h.advance(10 * MINUTE_MS - 1);
  assert.equal(attemptsOf(first.id) + attemptsOf(second.id), 1);
  await h.advance(1);
  assert.equal(attemptsOf(first.id), 2);
  assert.equal(attemptsOf(second.id), 1);
  assert.equal(h.scheduler.status().paused[0]?.untilMs, startMs + 20 * MINUTE_MS, 'paused again');

  // An answer from the destination ends the pause.
  h.transport.script = () => delivered();
  await h.scheduler.flush();
  await h.scheduler.idle();
  assert.deepEqual(h.scheduler.status().paused, []);
  assert.deepEqual(await listIds(h.spool), []);
});

test('flush makes a deferred message due now; false for an unknown id; flush() makes all due', async (t) => {
  const h = await makeHarness({ settings: { retryDelaysMs: [60 * MINUTE_MS] } });
  t.after(() => h.close());
  h.transport.script = () => deferred();
  await h.scheduler.start();
  const one = await h.submit(['a@x.test']);
  const two = await h.submit(['b@y.test']);
  await h.scheduler.idle();
  assert.equal(h.transport.sent.length, 2);
  assert.equal(await h.scheduler.flush(one.id), true);
  await h.scheduler.idle();
  assert.deepEqual(h.transport.sent.map((sent) => sent.id), [one.id, two.id, one.id]);
  assert.equal(await h.scheduler.flush('nosuchmessage0'), false);
  assert.equal(await h.scheduler.flush('../etc'), false);
  assert.equal(await h.scheduler.flush(), true);
  await h.scheduler.idle();
  assert.equal(h.transport.sent.length, 5);
  assert.equal((await h.spool.read(one.id))?.attempts, 3);
});

test('delete removes a queued message without a DSN; false for an unknown id', async (t) => {
  const h = await makeHarness();
  t.after(() => h.close());
  h.transport.script = () => deferred();
  await h.scheduler.start();
  const record = await h.submit(['a@x.test']);
  await h.scheduler.idle();
  assert.equal(await h.scheduler.deleteMessage(record.id), true);
  assert.deepEqual(await listIds(h.spool), []);
  assert.equal(await h.scheduler.deleteMessage(record.id), false);
  await h.advance(60 * MINUTE_MS);
  assert.equal(h.transport.sent.length, 1, 'never attempted again');
  assert.equal(h.dsnRequests.length, 0);
  assert.equal(h.scheduler.status().queued, 0);
});

test('delete while a delivery runs for the message: removed when the attempt returns, its outcomes recorded first', async (t) => {
  const h = await makeHarness();
  t.after(() => h.close());
  h.transport.hold = true;
  h.transport.script = (_destination, rcpt) => (rcpt.startsWith('ok') ? delivered() : deferred());
  await h.scheduler.start();
  const record = await h.submit(['ok@x.test', 'later@x.test']);
  await h.transport.until(() => h.transport.heldJobs === 1);
  let settled = false;
  const deletion = h.scheduler.deleteMessage(record.id).then((result) => {
    settled = true;
    return result;
  });
  assert.equal(h.scheduler.status().active, 1, 'the job is still running');
  assert.equal(settled, false);
  assert.ok(await h.spool.read(record.id), 'still there while the job runs');
  h.transport.release();
  assert.equal(await deletion, true);
  await h.scheduler.idle();
  assert.deepEqual(await listIds(h.spool), []);
  assert.equal(h.log.messages('recipient delivered').length, 1);
  assert.equal(h.dsnRequests.length, 0);
  await h.advance(60 * MINUTE_MS);
  assert.equal(h.transport.sent.length, 2, 'not attempted again');
});

test('bounce fails the pending recipients with 5.0.0 and sends one DSN; delivered ones stay delivered', async (t) => {
  const h = await makeHarness();
  t.after(() => h.close());
  h.transport.script = (destination) => (destination === 'ok.test' ? delivered() : deferred('452 4.2.2 mailbox full'));
  await h.scheduler.start();
  const record = await h.submit(['r1@ok.test', 'r2@slow.test', 'r3@slow.test']);
  await h.scheduler.idle();
  assert.equal(await h.scheduler.bounceMessage(record.id), true);
  await h.scheduler.idle();
  assert.equal(h.dsnRequests.length, 1);
  assert.deepEqual(
    h.dsnRequests[0]?.recipients.map((recipient) => [recipient.address, recipient.action, recipient.status, recipient.diagnostic]),
    [
      ['r2@slow.test', 'failed', '5.0.0', '452 4.2.2 mailbox full'],
      ['r3@slow.test', 'failed', '5.0.0', '452 4.2.2 mailbox full'],
    ],
  );
  assert.equal(await h.spool.read(record.id), undefined);
  assert.equal(await h.scheduler.bounceMessage(record.id), false);
});

test('bounce of a message from <> removes it without a DSN; bounce while its delivery runs waits for it', async (t) => {
  const h = await makeHarness();
  t.after(() => h.close());
  h.transport.script = () => deferred();
  await h.scheduler.start();
  const nullSender = await h.submit(['r@slow.test'], { from: '' });
  await h.scheduler.idle();
  assert.equal(await h.scheduler.bounceMessage(nullSender.id), true);
  assert.equal(h.dsnRequests.length, 0);
  assert.equal(await h.spool.read(nullSender.id), undefined);

  h.transport.hold = (destination) => destination === 'slow.test';
  const running = await h.submit(['s@slow.test']);
  await h.transport.until(() => h.transport.heldJobs === 1);
  const bounce = h.scheduler.bounceMessage(running.id);
  h.transport.release();
  assert.equal(await bounce, true);
  await h.scheduler.idle();
  assert.deepEqual(h.dsnRequests.map((request) => request.recipients.map((recipient) => recipient.status)), [['5.0.0']]);
  assert.equal(await h.spool.read(running.id), undefined);
});

test('stop: no new sessions; a running job gets the grace period, then is aborted with its recipients left pending', async (t) => {
  const h = await makeHarness();
  t.after(() => h.close());
  h.transport.hold = true;
  await h.scheduler.start();
  const record = await h.submit(['a@x.test', 'b@x.test']);
  await h.transport.until(() => h.transport.heldJobs === 1);
  let stopped = false;
  const stopping = h.scheduler.stop(30_000).then(() => {
    stopped = true;
  });
  await h.submit(['c@y.test']);
  h.clock.advance(29_999);
  for (let turn = 0; turn < 50; turn += 1) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(stopped, false);
  h.clock.advance(1);
  await stopping;
  assert.equal(h.transport.jobs.length, 1, 'no new session after stop');
  const after = await h.spool.read(record.id);
  assert.ok(after);
  assert.deepEqual(after.recipients.map((recipient) => recipient.state), ['pending', 'pending']);
  assert.equal(after.attempts, 0, 'an aborted attempt does not count');
  assert.equal(after.nextAttempt, record.nextAttempt);
  assert.equal((await h.spool.list()).length, 2);
});

test('stop lets a job that ends within the grace period record its outcomes', async (t) => {
  const h = await makeHarness();
  t.after(() => h.close());
  h.transport.hold = true;
  await h.scheduler.start();
  const record = await h.submit(['a@x.test']);
  await h.transport.until(() => h.transport.heldJobs === 1);
  const stopping = h.scheduler.stop(30_000);
  h.transport.release();
  await stopping;
  assert.equal(await h.spool.read(record.id), undefined);
  assert.deepEqual(h.transport.deliveredTo(), [`${record.id} a@x.test`]);
});

test('after a crash, a new scheduler on the same spool never hands a delivered recipient to the transport again', async (t) => {
  const h = await makeHarness();
  t.after(() => h.close());
  const crashed = h.transport;
  crashed.hold = (destination) => destination === 'held.test';
  const record = await h.commit(['a@ok.test', 'b@held.test', 'c@ok.test']);
  await h.scheduler.start();
  await crashed.until(() => crashed.heldJobs === 1 && crashed.deliveredTo().length === 2);
  let recorded = 0; // both outcomes recorded
  await h.log.waitFor((entry) => entry['msg'] === 'recipient delivered' && ++recorded === 2);
  // The first scheduler is abandoned mid-delivery, as by kill -9; a new one starts on the same spool.
  const transport = new FakeTransport();
  const scheduler = h.restart(transport);
  await scheduler.start();
  await scheduler.idle();
  assert.deepEqual(transport.sent.map((sent) => sent.rcpt), ['b@held.test']);
  assert.equal(await h.spool.read(record.id), undefined);
});

test('at start, a failed recipient whose DSN was not queued yet is bounced, and a finished message is removed', async (t) => {
  const h = await makeHarness();
  t.after(() => h.close());
  const owed = await h.commit(['gone@far.test', 'ok@far.test']);
  const at = new Date(h.clock.now()).toISOString();
  await h.spool.update(owed.id, (record) => ({
    ...record,
    recipients: [
      { address: 'gone@far.test', state: 'failed', attempts: 1, lastReply: '550 5.1.1 no such user', history: [{ at, reply: '550 5.1.1 no such user', status: '5.1.1', mx: 'mx.far.test' }] },
      { address: 'ok@far.test', state: 'delivered', attempts: 1, lastReply: '250 ok', history: [{ at, reply: '250 ok', status: '2.0.0', mx: 'mx.far.test' }] },
    ],
  }));
  const done = await h.commit(['d@far.test']);
  await h.spool.update(done.id, (record) => ({
    ...record,
    recipients: record.recipients.map((recipient) => ({ ...recipient, state: 'delivered' as const })),
  }));
  await h.scheduler.start();
  await h.scheduler.idle();
  assert.deepEqual(h.dsnRequests.map((request) => request.recipients.map((recipient) => [recipient.address, recipient.status, recipient.remoteMta])), [
    [['gone@far.test', '5.1.1', 'mx.far.test']],
  ]);
  assert.deepEqual(h.transport.sent.map((sent) => sent.rcpt), ['sender@origin.test'], 'only the DSN is delivered');
  assert.deepEqual(await listIds(h.spool), []);
});

test('a permanent failure of a message with pending recipients is bounced once, marked durably', async (t) => {
  const h = await makeHarness();
  t.after(() => h.close());
  h.transport.script = (destination) => (destination === 'bad.test' ? failed() : deferred());
  await h.scheduler.start();
  const record = await h.submit(['x@bad.test', 'y@slow.test']);
  await h.scheduler.idle();
  const after = await h.spool.read(record.id);
  assert.deepEqual(after?.recipients.map((recipient) => [recipient.state, recipient.dsnSent]), [
    ['failed', true],
    ['pending', undefined],
  ]);
  await h.advance(MINUTE_MS);
  await h.advance(5 * MINUTE_MS);
  assert.equal(h.dsnRequests.length, 1);
});

test('delete and bounce work on a scheduler that was never started (the CLI without a running server)', async (t) => {
  const h = await makeHarness();
  t.after(() => h.close());
  const kept = await h.commit(['a@x.test']);
  const bounced = await h.commit(['b@x.test']);
  h.scheduler.enqueued(kept.id);
  assert.equal(await h.scheduler.deleteMessage(kept.id), true);
  assert.equal(await h.scheduler.bounceMessage(bounced.id), true);
  assert.equal(h.transport.jobs.length, 0, 'nothing is delivered before start');
  const records = await h.spool.list();
  assert.deepEqual(records.map((record) => [record.from, record.recipients.map((recipient) => recipient.address)]), [['', ['sender@origin.test']]]);
  assert.deepEqual(h.dsnRequests.map((request) => request.originalId), [bounced.id]);
});
