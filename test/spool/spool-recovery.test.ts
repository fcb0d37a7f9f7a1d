// Startup: the index is rebuilt from the log, a torn tail is dropped, files
// nobody uses are removed, and a spool in the old layout (state/<id>.json
// beside body/<id>) is read as is by queue commands and migrated by serve.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EnvelopeRecord } from '../../src/spool/types.js';
import { newRecord } from '../../src/spool/record.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog } from '../helpers/memory-log.js';
import { commitMessage, makeTempDir, openSpool, readAll, removeDir, sampleEnvelope } from './fixtures.js';

test('recovery removes orphan body files and drops a torn log tail but keeps committed messages', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const clock = new ManualClock();
  const first = await openSpool(dir, { clock });
  const kept = [await commitMessage(first, 'Subject: 1\r\n\r\none\r\n'), await commitMessage(first, 'Subject: 2\r\n\r\ntwo\r\n')];
  await first.close();
  // What a crash can leave: a body spilled by a commit that never finished, half a record.
  await writeFile(join(dir, 'body', 'orphan0001'), 'Subject: lost\r\n\r\n');
  const [segment] = await readdir(join(dir, 'log'));
  const segmentPath = join(dir, 'log', segment ?? '');
  const sizeBefore = (await stat(segmentPath)).size;
  await appendFile(segmentPath, Buffer.from('OPQ1\u0001garbage'));

  const readOnly = await openSpool(dir, { clock, recover: false });
  assert.deepEqual(await readOnly.list(), kept);
  assert.ok((await readdir(join(dir, 'body'))).includes('orphan0001'), 'queue commands change nothing');
  await readOnly.close();

  const log = memoryLog();
  const recovered = await openSpool(dir, { clock, logger: log.logger });
  assert.deepEqual(await readdir(join(dir, 'body')), []);
  assert.equal((await stat(segmentPath)).size, sizeBefore, 'the torn tail is cut off');
  assert.deepEqual(await recovered.list(), kept);
  const summary = log.entries.find((entry) => entry['msg'] === 'spool recovered');
  assert.equal(summary?.['orphanBodiesRemoved'], 1);
  assert.equal(summary?.['tornSegments'], 1);
  assert.equal(summary?.['queued'], 2);
  assert.ok(log.entries.some((entry) => entry['msg'] === 'torn queue log tail dropped'));
  await recovered.close();
});

/** Writes a message in the layout before the queue log. */
async function writeLegacyMessage(dir: string, id: string, body: string, change: (record: EnvelopeRecord) => EnvelopeRecord = (r) => r): Promise<EnvelopeRecord> {
  const record = change(newRecord(id, sampleEnvelope(['b@example.net', 'c@example.net']), Date.parse('2026-01-02T03:04:05Z'), Buffer.byteLength(body)));
  await mkdir(join(dir, 'state'), { recursive: true });
  await mkdir(join(dir, 'body'), { recursive: true });
  await mkdir(join(dir, 'tmp'), { recursive: true });
  await writeFile(join(dir, 'body', id), body);
  await writeFile(join(dir, 'state', `${id}.json`), `${JSON.stringify(record)}\n`);
  return record;
}

test('a spool in the old layout is read by queue commands unchanged and migrated into the log by serve', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const delivered = (record: EnvelopeRecord): EnvelopeRecord => ({
    ...record,
    attempts: 1,
    recipients: record.recipients.map((recipient, index) => (index === 0 ? { ...recipient, state: 'delivered', attempts: 1, lastReply: '250 ok' } : recipient)),
  });
  const first = await writeLegacyMessage(dir, 'legacy0001', 'Subject: one\r\n\r\nfirst\r\n', delivered);
  const second = await writeLegacyMessage(dir, 'legacy0002', 'Subject: two\r\n\r\nsecond\r\n');
  await writeFile(join(dir, 'tmp', 'legacy0003.ab12.json'), '{"vers');
  await writeFile(join(dir, 'state', 'broken0001.json'), '{"version":1,"id":');
  await writeFile(join(dir, 'body', 'broken0001'), 'x');
  await writeFile(join(dir, 'state', 'nobody0001.json'), JSON.stringify({ ...second, id: 'nobody0001' }));

  const readOnly = await openSpool(dir, { recover: false });
  assert.deepEqual(await readOnly.list(), [first, second]);
  assert.equal(await readOnly.readHeaders(first.id), 'Subject: one\r\n');
  await readOnly.close();
  assert.equal((await readdir(join(dir, 'state'))).length, 4, 'queue commands migrate nothing');

  const log = memoryLog();
  const spool = await openSpool(dir, { logger: log.logger });
  assert.deepEqual(await spool.list(), [first, second]);
  assert.deepEqual((await readAll(spool.openBody(second.id))).toString(), 'Subject: two\r\n\r\nsecond\r\n');
  const entries = await readdir(dir);
  assert.ok(!entries.includes('state') && !entries.includes('tmp'), `old folders removed: ${entries.join(', ')}`);
  assert.deepEqual((await readdir(join(dir, 'body'))).sort(), [first.id, second.id], 'old bodies stay as files, leftovers go');
  const summary = log.entries.find((entry) => entry['msg'] === 'spool recovered');
  assert.equal(summary?.['migrated'], 2);
  assert.equal(summary?.['bodilessStatesRemoved'], 1);
  assert.ok(log.entries.some((entry) => entry['msg'] === 'invalid state file skipped' && entry['qid'] === 'broken0001'));
  // The migrated messages take updates and removals like any other.
  await spool.update(second.id, (record) => ({ ...record, delayWarningSent: true }));
  await spool.remove(first.id);
  await spool.close();

  const reopened = await openSpool(dir);
  assert.deepEqual(await reopened.list(), [{ ...second, delayWarningSent: true }]);
  assert.deepEqual(await readdir(join(dir, 'body')), [second.id]);
  await reopened.close();
});

test('a corrupt record in the middle of a log (not a torn tail) is skipped with everything after it, logged', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const spool = await openSpool(dir);
  const good = await commitMessage(spool, 'Subject: ok\r\n\r\nok\r\n');
  const later = await commitMessage(spool, 'Subject: later\r\n\r\nlater\r\n');
  await spool.close();
  const [segment] = await readdir(join(dir, 'log'));
  const path = join(dir, 'log', segment ?? '');
  const data = await readFile(path);
  const secondStart = data.indexOf('OPQ1', 4);
  data[secondStart + 30] = (data[secondStart + 30] ?? 0) ^ 0xff;
  await writeFile(path, data);
  const log = memoryLog();
  const reopened = await openSpool(dir, { logger: log.logger, recover: false });
  assert.deepEqual(await reopened.list(), [good]);
  assert.equal(await reopened.read(later.id), undefined);
  await reopened.close();
});
