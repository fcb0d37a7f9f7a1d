import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deferred, delivered, failed, listIds, makeHarness, MINUTE_MS } from './fixtures.js';

test('delivers the messages in the spool at start and a newly enqueued one at once, then removes them', async (t) => {
  const h = await makeHarness();
  t.after(() => h.close());
  const first = await h.commit(['a@one.test']);
  const second = await h.commit(['b@one.test', 'c@two.test']);
  await h.scheduler.start();
  await h.scheduler.idle();
  assert.deepEqual(h.transport.deliveredTo().sort(), [`${first.id} a@one.test`, `${second.id} b@one.test`, `${second.id} c@two.test`].sort());
  assert.equal(h.transport.jobs.filter((job) => job.destination === 'one.test').length, 1, 'due messages to one destination share a job');
  assert.deepEqual(await listIds(h.spool), []);

  const third = await h.submit(['d@three.test']);
  await h.scheduler.idle();
  assert.ok(h.transport.deliveredTo().includes(`${third.id} d@three.test`));
  assert.deepEqual(await listIds(h.spool), []);
  const line = h.log.messages('recipient delivered').find((entry) => entry['rcpt'] === 'd@three.test');
  assert.ok(line);
  assert.equal(line['qid'], third.id);
  assert.equal(line['mx'], 'mx.three.test');
  assert.equal(line['address'], '127.0.0.1');
  assert.equal(line['reply'], '250 2.0.0 Ok queued');
  assert.equal(line['attempt'], 1);
  assert.equal(line['durationMs'], 5);
  assert.equal(h.log.messages('message done').length, 3);
});

test('groups recipients by canonical domain, at most recipientsPerTransaction per transaction, each sent once', async (t) => {
  const h = await makeHarness({ settings: { recipientsPerTransaction: 2 } });
  t.after(() => h.close());
  const record = await h.commit(['a@Big.Test', 'b@big.test', 'c@BIG.test', 'd@big.test', 'e@big.test', 'a@Big.Test', 'x@other.test']);
  await h.scheduler.start();
  await h.scheduler.idle();
  const bigJobs = h.transport.jobs.filter((job) => job.destination === 'big.test');
  assert.equal(bigJobs.length, 1);
  const transactions = bigJobs[0]?.messages ?? [];
  assert.deepEqual(
    transactions.map((message) => message.recipients),
    [['a@Big.Test', 'b@big.test'], ['c@BIG.test', 'd@big.test'], ['e@big.test']],
  );
  assert.ok(transactions.every((message) => message.id === record.id && message.from === 'sender@origin.test' && message.sizeBytes === record.size));
  assert.equal(h.transport.sent.length, 6);
  assert.deepEqual(await listIds(h.spool), []);
});

test('a 550 for one of three recipients: the other two are delivered and one DSN to the sender lists the failed one', async (t) => {
  const h = await makeHarness();
  t.after(() => h.close());
  h.transport.script = (_destination, rcpt) => (rcpt === 'bad@far.test' ? failed('550 5.1.1 <bad@far.test>: no such user') : delivered());
  const original = await h.submit(['good1@far.test', 'bad@far.test', 'good2@near.test']);
  await h.scheduler.start();
  await h.scheduler.idle();

  assert.equal(h.dsnRequests.length, 1);
  const request = h.dsnRequests[0];
  assert.ok(request);
  assert.equal(request.originalId, original.id);
  assert.equal(request.originalSender, 'sender@origin.test');
  assert.equal(request.hostname, 'relay.outpost.test');
  assert.equal(request.originalHeaders, 'Subject: hello\r\n');
  assert.equal(request.arrivalMs, Date.parse(original.arrival));
  assert.equal(request.willRetryUntilMs, undefined);
  assert.deepEqual(request.recipients, [
    {
      address: 'bad@far.test',
      action: 'failed',
      status: '5.1.1',
      diagnostic: '550 5.1.1 <bad@far.test>: no such user',
      diagnosticIsRemote: true,
      remoteMta: 'mx.remote.test',
      lastAttemptMs: h.clock.now(),
    },
  ]);
  // The DSN was queued from <> to the sender and delivered like any other message.
  const dsnDelivery = h.transport.sent.find((sent) => sent.rcpt === 'sender@origin.test');
  assert.ok(dsnDelivery);
  assert.notEqual(dsnDelivery.id, original.id);
  const dsnJob = h.transport.jobs.find((job) => job.destination === 'origin.test');
  assert.equal(dsnJob?.messages[0]?.from, '');
  assert.deepEqual(h.transport.deliveredTo().filter((line) => line.startsWith(original.id)).sort(), [
    `${original.id} good1@far.test`,
    `${original.id} good2@near.test`,
  ]);
  assert.deepEqual(await listIds(h.spool), []);
  assert.equal(h.log.messages('DSN queued').length, 1);
  assert.equal(h.log.messages('recipient failed')[0]?.['rcpt'], 'bad@far.test');
});

test('the DSN is in the spool (from <> to the sender) before the failed message leaves it', async (t) => {
  const h = await makeHarness();
  t.after(() => h.close());
  h.transport.script = (destination) => (destination === 'far.test' ? failed() : deferred());
  const original = await h.submit(['bad@far.test']);
  await h.scheduler.start();
  await h.scheduler.idle();
  const records = await h.spool.list();
  assert.equal(records.length, 1, 'only the DSN is left (its delivery is deferred)');
  const dsn = records[0];
  assert.ok(dsn);
  assert.notEqual(dsn.id, original.id);
  assert.equal(dsn.from, '');
  assert.deepEqual(dsn.recipients.map((recipient) => recipient.address), ['sender@origin.test']);
  const body = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    h.spool.openBody(dsn.id).on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => resolve(Buffer.concat(chunks).toString())).on('error', reject);
  });
  assert.match(body, /bad@far\.test failed 5\.1\.1 550 5\.1\.1 no such user/);
});

test('a failing message from <> is dropped without a DSN', async (t) => {
  const h = await makeHarness();
  t.after(() => h.close());
  h.transport.script = () => failed();
  await h.submit(['gone@far.test'], { from: '' });
  await h.scheduler.start();
  await h.scheduler.idle();
  assert.equal(h.dsnRequests.length, 0);
  assert.deepEqual(await listIds(h.spool), []);
  assert.equal(h.log.messages('failed message from <> is not bounced').length, 1);
});

test('retries follow delivery.retry (the last delay repeats), counted per message, until delivered', async (t) => {
  const h = await makeHarness({ settings: { retryDelaysMs: [1 * MINUTE_MS, 5 * MINUTE_MS, 10 * MINUTE_MS] } });
  t.after(() => h.close());
  let attempts = 0;
  h.transport.script = () => (++attempts <= 4 ? deferred(`451 4.3.0 busy ${attempts}`) : delivered());
  const record = await h.commit(['r@slow.test']);
  const arrivalMs = Date.parse(record.arrival);
  await h.scheduler.start();
  await h.scheduler.idle();

  const expectedNextMs = [1, 6, 16, 26].map((minutes) => arrivalMs + minutes * MINUTE_MS);
  for (const [index, nextMs] of expectedNextMs.entries()) {
    const current = await h.spool.read(record.id);
    assert.ok(current);
    assert.equal(current.attempts, index + 1);
    assert.equal(current.nextAttempt, new Date(nextMs).toISOString());
    assert.equal(current.recipients[0]?.state, 'pending');
    assert.equal(current.recipients[0]?.attempts, index + 1);
    assert.equal(current.recipients[0]?.lastReply, `451 4.3.0 busy ${index + 1}`);
    assert.equal(current.recipients[0]?.history.length, index + 1);
    await h.advance(nextMs - 1 - h.clock.now());
    assert.equal(attempts, index + 1, 'not before its time');
    await h.advance(1);
    assert.equal(attempts, index + 2, 'at its time');
  }
  assert.deepEqual(await listIds(h.spool), []);
  const deferredLine = h.log.messages('recipient deferred')[0];
  assert.equal(deferredLine?.['nextAttempt'], new Date(expectedNextMs[0] ?? 0).toISOString());
});

test('past maxQueueLifetime the pending recipients fail with 4.4.7 and bounce with the last reply', async (t) => {
  const h = await makeHarness({ settings: { retryDelaysMs: [2 * MINUTE_MS], maxQueueLifetimeMs: 5 * MINUTE_MS } });
  t.after(() => h.close());
  h.transport.script = (destination) => (destination === 'never.test' ? deferred('451 4.7.1 greylisted, try later') : delivered());
  const record = await h.commit(['r@never.test', 'ok@fine.test']);
  await h.scheduler.start();
  await h.scheduler.idle();
  // Attempts at 0, 2 and 4 minutes, a last one at the expiry (5), then the bounce.
  for (const minutes of [2, 4]) {
    await h.advance(minutes * MINUTE_MS - (h.clock.now() - Date.parse(record.arrival)));
    assert.equal(h.dsnRequests.length, 0);
  }
  assert.equal((await h.spool.read(record.id))?.nextAttempt, new Date(Date.parse(record.arrival) + 5 * MINUTE_MS).toISOString());
  await h.advance(MINUTE_MS);
  assert.equal(h.transport.sent.filter((sent) => sent.rcpt === 'r@never.test').length, 4);
  assert.equal(h.dsnRequests.length, 1);
  assert.deepEqual(
    h.dsnRequests[0]?.recipients.map((recipient) => [recipient.address, recipient.action, recipient.status, recipient.diagnostic, recipient.diagnosticIsRemote]),
    [['r@never.test', 'failed', '4.4.7', '451 4.7.1 greylisted, try later', true]],
  );
  assert.equal(await h.spool.read(record.id), undefined);
});

test('one delay warning after delayWarning while recipients are pending, never a second', async (t) => {
  const h = await makeHarness({ settings: { retryDelaysMs: [MINUTE_MS], delayWarningMs: 2 * MINUTE_MS, maxQueueLifetimeMs: 60 * MINUTE_MS } });
  t.after(() => h.close());
  h.transport.script = (destination) => (destination === 'slow.test' ? deferred('452 4.2.2 mailbox full') : delivered());
  const record = await h.commit(['r@slow.test']);
  await h.scheduler.start();
  await h.scheduler.idle();
  await h.advance(MINUTE_MS);
  assert.equal(h.dsnRequests.length, 0);
  await h.advance(MINUTE_MS);
  assert.equal(h.dsnRequests.length, 1);
  const warning = h.dsnRequests[0];
  assert.equal(warning?.willRetryUntilMs, Date.parse(record.arrival) + 60 * MINUTE_MS);
  assert.deepEqual(warning?.recipients.map((recipient) => [recipient.address, recipient.action, recipient.status]), [['r@slow.test', 'delayed', '4.2.2']]);
  assert.equal((await h.spool.read(record.id))?.delayWarningSent, true);
  await h.advance(MINUTE_MS);
  await h.advance(MINUTE_MS);
  assert.equal(h.dsnRequests.length, 1);
  assert.equal((await h.spool.read(record.id))?.recipients[0]?.state, 'pending');
});

test('a message handed over at commit and delivered in one transaction is never read back from the spool', async (t) => {
  const h = await makeHarness();
  t.after(() => h.close());
  await h.scheduler.start();
  const record = await h.submit(['a@one.test', 'b@one.test']);
  await h.scheduler.idle();
  assert.deepEqual(h.transport.deliveredTo().sort(), [`${record.id} a@one.test`, `${record.id} b@one.test`]);
  assert.deepEqual(await listIds(h.spool), []);
  assert.deepEqual(h.reads.filter((id) => id === record.id), []);
  const split = await h.submit(['c@one.test', 'd@two.test']);
  await h.scheduler.idle();
  assert.deepEqual(await listIds(h.spool), []);
  assert.ok(h.reads.includes(split.id), 'two transactions: the last one reads the record the first one updated');
});
