import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fdatasync } from 'node:fs';
import { ManualClock } from '../helpers/manual-clock.js';
import { commitMessage, makeTempDir, nextTurn, openSpool, readAll, removeDir, sampleEnvelope, writeBody } from './fixtures.js';

test('a committed message lists and reads back with its record and exact body bytes', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const clock = new ManualClock();
  const spool = await openSpool(dir, { clock });
  // 300 KiB with 8-bit bytes, so the body crosses the stream's high-water mark.
  const body = Buffer.concat([Buffer.from('Subject: caf\u00e9\r\nFrom: a@example.org\r\n\r\n'), Buffer.alloc(300 * 1024, 0xe9)]);
  const envelope = sampleEnvelope(['b@example.net', 'c@example.com']);
  const record = await commitMessage(spool, body, envelope);

  assert.equal(record.size, body.length);
  assert.equal(record.arrival, new Date(clock.now()).toISOString());
  assert.equal(record.from, envelope.from);
  assert.deepEqual(
    record.recipients.map((recipient) => [recipient.address, recipient.state]),
    [
      ['b@example.net', 'pending'],
      ['c@example.com', 'pending'],
    ],
  );
  assert.deepEqual(await spool.list(), [record]);
  assert.deepEqual(await spool.read(record.id), record);
  assert.deepEqual(await readAll(spool.openBody(record.id)), body);
  assert.equal(await spool.readHeaders(record.id), 'Subject: caf\u00e9\r\nFrom: a@example.org\r\n');
  // Over the inline limit (256 KiB): the body keeps a file of its own, the record is in the log.
  assert.deepEqual(await readdir(join(dir, 'body')), [record.id]);
  assert.equal((await readdir(join(dir, 'log'))).length, 1);
  await spool.close();

  const reopened = await openSpool(dir, { clock });
  assert.deepEqual(await reopened.list(), [record]);
  await reopened.close();
});

test('list is ordered by arrival, oldest first', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const clock = new ManualClock();
  const spool = await openSpool(dir, { clock });
  const ids: string[] = [];
  for (let index = 0; index < 5; index += 1) {
    ids.push((await commitMessage(spool, `Subject: ${index}\r\n\r\nx\r\n`)).id);
    clock.advance(1000);
  }
  assert.deepEqual((await spool.list()).map((record) => record.id), ids);
  await spool.close();
});

test('ids from many concurrent begins are unique and sorted in call order', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const spool = await openSpool(dir);
  const writers = await Promise.all(Array.from({ length: 100 }, () => spool.begin()));
  const ids = writers.map((writer) => writer.id);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids);
  await Promise.all(writers.map((writer) => writer.abort()));
  await spool.close();
});

test('200 concurrent commits all land while sharing log fdatasyncs', { timeout: 60_000 }, async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  // The first fdatasync is held until every other commit waits for the log,
  // so the rest must be served by a single shared batch.
  let held: Array<() => void> | undefined = [];
  let fileSyncCalls = 0;
  const fileSync = async (fd: number): Promise<void> => {
    fileSyncCalls += 1;
    if (held !== undefined) await new Promise<void>((resolve) => held?.push(resolve));
    await new Promise<void>((resolve, reject) => fdatasync(fd, (error) => (error === null ? resolve() : reject(error))));
  };
  const spool = await openSpool(dir, { fileSync });
  const commits = Array.from({ length: 200 }, (_, index) =>
    commitMessage(spool, `Subject: message ${index}\r\n\r\nbody ${index}\r\n`),
  );
  while (fileSyncCalls < 1 || spool.commitStats.waiting < 199) await nextTurn();
  const release = held;
  held = undefined;
  for (const resolve of release) resolve();
  const records = await Promise.all(commits);

  assert.equal(new Set(records.map((record) => record.id)).size, 200);
  assert.equal((await spool.list()).length, 200);
  assert.deepEqual(await readdir(join(dir, 'body')), [], 'small bodies are inline in the log');
  assert.deepEqual(spool.commitStats, { batches: 2, fileSyncs: 2, appends: 200, waiting: 0 });
  assert.equal(fileSyncCalls, 2);
  await spool.close();
  const reopened = await openSpool(dir);
  assert.deepEqual(await reopened.list(), [...records].sort((a, b) => (a.id < b.id ? -1 : 1)));
  await reopened.close();
});

test('concurrent commits without a gate still use far fewer fdatasyncs than messages', { timeout: 60_000 }, async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const spool = await openSpool(dir);
  await Promise.all(Array.from({ length: 200 }, (_, index) => commitMessage(spool, `Subject: ${index}\r\n\r\nx\r\n`)));
  assert.equal(spool.commitStats.appends, 200);
  assert.ok(spool.commitStats.fileSyncs < 200, JSON.stringify(spool.commitStats));
  await spool.close();
});

test('abort leaves no file behind', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const spool = await openSpool(dir);
  const writer = await spool.begin();
  await writeBody(writer, Buffer.from('Subject: x\r\n\r\npartial'));
  await writer.abort();
  await writer.abort();
  await assert.rejects(writer.commit(sampleEnvelope()), { name: 'SpoolError' });
  for (const folder of ['body', 'log']) assert.deepEqual(await readdir(join(dir, folder)), [], folder);
  assert.deepEqual(await spool.list(), []);
  // A large body spilled into a file of its own is removed as well.
  const large = await spool.begin();
  await writeBody(large, Buffer.alloc(400 * 1024, 'x'));
  assert.deepEqual(await readdir(join(dir, 'body')), [large.id]);
  await large.abort();
  assert.deepEqual(await readdir(join(dir, 'body')), []);
  await spool.close();
});

test('the header section is capped at a byte limit and cut at a full line', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const spool = await openSpool(dir);
  const headersOnly = await commitMessage(spool, 'Subject: only headers\r\nX-A: 1\r\n');
  const emptyHeaders = await commitMessage(spool, '\r\nbody\r\n');
  const long = await commitMessage(spool, `Subject: a\r\nX-Long: ${'y'.repeat(100)}\r\n\r\nbody\r\n`);
  assert.equal(await spool.readHeaders(headersOnly.id), 'Subject: only headers\r\nX-A: 1\r\n');
  assert.equal(await spool.readHeaders(emptyHeaders.id), '');
  assert.equal(await spool.readHeaders(long.id, 50), 'Subject: a\r\n');
  await spool.close();
});
