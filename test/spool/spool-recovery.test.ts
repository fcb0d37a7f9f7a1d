import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog } from '../helpers/memory-log.js';
import { commitMessage, makeTempDir, openSpool, removeDir } from './fixtures.js';

test('recovery removes temp files, orphan bodies and bodiless state files but keeps committed messages', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const clock = new ManualClock();
  const first = await openSpool(dir, { clock });
  const kept = [await commitMessage(first, 'Subject: 1\r\n\r\none\r\n'), await commitMessage(first, 'Subject: 2\r\n\r\ntwo\r\n')];
  await first.close();
  // What a crash can leave: a half-written temp, a body whose commit never finished,
  // a state file whose body folder entry was lost.
  await writeFile(join(dir, 'tmp', 'abc.1234.json'), '{"vers');
  await writeFile(join(dir, 'body', 'orphan0001'), 'Subject: lost\r\n\r\n');
  await copyFile(join(dir, 'state', `${kept[0]?.id}.json`), join(dir, 'state', 'nobody0001.json'));

  const readOnly = await openSpool(dir, { clock, recover: false });
  assert.deepEqual(await readdir(join(dir, 'tmp')), ['abc.1234.json']);
  assert.ok((await readdir(join(dir, 'body'))).includes('orphan0001'));
  await readOnly.close();

  const log = memoryLog();
  const recovered = await openSpool(dir, { clock, logger: log.logger });
  assert.deepEqual(await readdir(join(dir, 'tmp')), []);
  assert.deepEqual((await readdir(join(dir, 'body'))).sort(), kept.map((record) => record.id).sort());
  assert.deepEqual((await readdir(join(dir, 'state'))).sort(), kept.map((record) => `${record.id}.json`).sort());
  assert.deepEqual(await recovered.list(), kept);
  const summary = log.entries.find((entry) => entry['msg'] === 'spool recovered');
  assert.equal(summary?.['tempFilesRemoved'], 1);
  assert.equal(summary?.['orphanBodiesRemoved'], 1);
  assert.equal(summary?.['bodilessStatesRemoved'], 1);
  assert.equal(summary?.['queued'], 2);
  await recovered.close();
});

test('a corrupt or unknown-version state file is logged and skipped, never a crash', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const log = memoryLog();
  const spool = await openSpool(dir, { logger: log.logger, recover: false });
  const good = await commitMessage(spool, 'Subject: ok\r\n\r\nok\r\n');
  const stateText = JSON.parse(
    await import('node:fs/promises').then((fs) => fs.readFile(join(dir, 'state', `${good.id}.json`), 'utf8')),
  ) as Record<string, unknown>;
  await writeFile(join(dir, 'body', 'broken0001'), 'x');
  await writeFile(join(dir, 'state', 'broken0001.json'), '{"version":1,"id":');
  await writeFile(join(dir, 'body', 'future0001'), 'x');
  await writeFile(join(dir, 'state', 'future0001.json'), JSON.stringify({ ...stateText, id: 'future0001', version: 2 }));
  await writeFile(join(dir, 'state', 'not-an-id.json'), 'ignored');

  assert.deepEqual(await spool.list(), [good]);
  assert.equal(await spool.read('broken0001'), undefined);
  const skipped = log.entries.filter((entry) => entry['msg'] === 'invalid state file skipped');
  assert.deepEqual(skipped.map((entry) => entry['qid']).sort(), ['broken0001', 'broken0001', 'future0001']);
  assert.match(String(skipped.find((entry) => entry['qid'] === 'future0001')?.['problem']), /unknown version 2/);
  await assert.rejects(spool.update('broken0001', (record) => record), { name: 'SpoolError' });
  await spool.close();
});
