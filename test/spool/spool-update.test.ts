import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fdatasync } from 'node:fs';
import type { EnvelopeRecord } from '../../src/spool/types.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { commitMessage, makeTempDir, openSpool, removeDir, sampleEnvelope } from './fixtures.js';

function recordAttempt(record: EnvelopeRecord, reply: string): EnvelopeRecord {
  const [first, ...rest] = record.recipients;
  if (first === undefined) throw new Error('no recipient');
  return {
    ...record,
    attempts: record.attempts + 1,
    recipients: [
      { ...first, attempts: first.attempts + 1, lastReply: reply, history: [...first.history, { at: record.arrival, reply }] },
      ...rest,
    ],
  };
}

test('concurrent updates of one message are serialized and each is durable when it resolves', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  let synced = 0;
  const fileSync = async (fd: number): Promise<void> => {
    synced += 1;
    await new Promise<void>((resolve, reject) => fdatasync(fd, (error) => (error === null ? resolve() : reject(error))));
  };
  const clock = new ManualClock();
  const spool = await openSpool(dir, { clock, fileSync });
  const record = await commitMessage(spool, 'Subject: x\r\n\r\nx\r\n', sampleEnvelope(['b@example.net', 'c@example.net']));
  synced = 0;

  const single = await spool.update(record.id, (current) => recordAttempt(current, '451 4.4.3 first'));
  assert.equal(synced, 1, 'the log is fdatasync\'d before update resolves');
  assert.equal(single.attempts, 1);

  const updates = Array.from({ length: 50 }, (_, index) =>
    spool.update(record.id, (current) => recordAttempt(current, `451 4.4.3 try ${index}`)),
  );
  const results = await Promise.all(updates);
  assert.deepEqual(
    results.map((result) => result.attempts),
    Array.from({ length: 50 }, (_, index) => index + 2),
  );
  await spool.close();

  const reopened = await openSpool(dir, { clock });
  const stored = await reopened.read(record.id);
  assert.equal(stored?.attempts, 51);
  assert.equal(stored?.recipients[0]?.history.length, 51);
  assert.equal(stored?.recipients[0]?.lastReply, '451 4.4.3 try 49');
  assert.deepEqual(stored?.recipients[1], record.recipients[1]);
  await reopened.close();
});

test('updates of different messages proceed together and share log fdatasyncs', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const spool = await openSpool(dir);
  const records = await Promise.all(Array.from({ length: 20 }, () => commitMessage(spool, 'Subject: x\r\n\r\nx\r\n')));
  const before = spool.commitStats;
  await Promise.all(records.map((record) => spool.update(record.id, (current) => ({ ...current, delayWarningSent: true }))));
  const after = spool.commitStats;
  assert.equal(after.appends - before.appends, 20);
  assert.ok(after.fileSyncs - before.fileSyncs < 20, JSON.stringify({ before, after }));
  for (const record of await spool.list()) assert.equal(record.delayWarningSent, true);
  await spool.close();
});

test('an update producing an invalid record or naming no message is rejected and changes nothing', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const spool = await openSpool(dir);
  const record = await commitMessage(spool, 'Subject: x\r\n\r\nx\r\n');
  await assert.rejects(spool.update(record.id, (current) => ({ ...current, id: 'other' })), {
    name: 'SpoolError',
    message: /invalid record/,
  });
  await assert.rejects(spool.update(record.id, (current) => ({ ...current, attempts: -1 })), { name: 'SpoolError' });
  await assert.rejects(spool.update('missing0001', (current) => current), { name: 'SpoolError', message: /no such message/ });
  await assert.rejects(spool.update('../escape', (current) => current), { name: 'SpoolError', message: /invalid queue id/ });
  assert.deepEqual(await spool.read(record.id), record);
  // A failing change function does not block later updates of the same id.
  await assert.rejects(
    spool.update(record.id, () => {
      throw new Error('delivery bug');
    }),
    /delivery bug/,
  );
  assert.equal((await spool.update(record.id, (current) => ({ ...current, attempts: 1 }))).attempts, 1);
  await spool.close();
});

test('remove takes the message out, is idempotent, waits behind pending updates and holds across a restart', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const spool = await openSpool(dir);
  const removed = await commitMessage(spool, 'Subject: gone\r\n\r\nx\r\n');
  const kept = await commitMessage(spool, 'Subject: kept\r\n\r\nx\r\n');
  const large = await commitMessage(spool, Buffer.alloc(300 * 1024, 'l'));
  const update = spool.update(removed.id, (current) => ({ ...current, attempts: 1 }));
  const removal = spool.remove(removed.id);
  assert.equal((await update).attempts, 1);
  await removal;
  await spool.remove(removed.id);
  assert.equal(await spool.read(removed.id), undefined);
  assert.deepEqual(await readdir(join(dir, 'body')), [large.id]);
  await spool.remove(large.id);
  assert.deepEqual(await readdir(join(dir, 'body')), [], 'a large body file goes with its message');
  assert.deepEqual(await spool.list(), [kept]);
  await spool.close();
  const reopened = await openSpool(dir);
  assert.deepEqual(await reopened.list(), [kept]);
  await reopened.close();
});

test('a non-durable remove resolves before its record is fdatasync\'d; close waits for it', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  let holding = false;
  let release = (): void => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const fileSync = async (): Promise<void> => {
    if (holding) await released;
  };
  const spool = await openSpool(dir, { fileSync });
  const message = await commitMessage(spool, 'Subject: delivered\r\n\r\nx\r\n');
  holding = true;
  await spool.remove(message.id, { durable: false });
  assert.deepEqual(await spool.list(), []);
  assert.equal(spool.commitStats.appends, 1, 'the removal record is not durable yet');
  release();
  await spool.close();
  assert.equal(spool.commitStats.appends, 2);
  const reopened = await openSpool(dir);
  assert.deepEqual(await reopened.list(), []);
  await reopened.close();
});
