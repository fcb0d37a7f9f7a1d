import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fdatasync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SpoolError } from '../../src/core/errors.js';
import { toSpoolError } from '../../src/spool/io.js';
import { memoryLog } from '../helpers/memory-log.js';
import { commitMessage, makeTempDir, openSpool, removeDir, sampleEnvelope, writeBody } from './fixtures.js';

function errnoError(code: string): Error {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

function realSync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (error) => (error === null ? resolve() : reject(error))));
}

test('a body stream error (disk full) rejects commit with a no-space SpoolError and leaves nothing', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const spool = await openSpool(dir);
  const writer = await spool.begin();
  await writeBody(writer, Buffer.from('Subject: x\r\n\r\n'));
  writer.body.destroy(errnoError('ENOSPC'));
  const failure = await writer.commit(sampleEnvelope()).then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.ok(failure instanceof SpoolError);
  assert.equal(failure.noSpace, true);
  assert.equal(failure.code, 'ESPOOLFULL');
  assert.equal((failure.cause as { code?: string }).code, 'ENOSPC');
  assert.deepEqual(await readdir(join(dir, 'body')), []);
  assert.deepEqual(await spool.list(), []);
  // The process and the spool keep working.
  const record = await commitMessage(spool, 'Subject: after\r\n\r\nx\r\n');
  assert.deepEqual(await spool.list(), [record]);
  await spool.close();
});

test('a failed log fdatasync rejects every commit of the batch; later commits go to a new segment and survive a restart', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  let failing = false;
  const fileSync = async (fd: number): Promise<void> => {
    if (failing) throw errnoError('EIO');
    await realSync(fd);
  };
  const spool = await openSpool(dir, { fileSync, logger: memoryLog().logger });
  const kept = await commitMessage(spool, 'Subject: before\r\n\r\nx\r\n');
  failing = true;
  const failed = await Promise.allSettled([commitMessage(spool, 'Subject: a\r\n\r\nx\r\n'), commitMessage(spool, 'Subject: b\r\n\r\nx\r\n')]);
  failing = false;
  for (const outcome of failed) {
    assert.equal(outcome.status, 'rejected');
    assert.ok(outcome.status === 'rejected' && outcome.reason instanceof SpoolError);
    assert.match(String(outcome.reason.message), /cannot commit message/);
  }
  assert.deepEqual(await spool.list(), [kept]);
  const after = await commitMessage(spool, 'Subject: after\r\n\r\nx\r\n');
  assert.ok((await readdir(join(dir, 'log'))).length >= 2, 'the failed segment is left for a new one');
  await spool.close();
  const reopened = await openSpool(dir);
  assert.deepEqual((await reopened.list()).map((record) => record.id), [kept.id, after.id]);
  await reopened.close();
});

test('a failed folder fsync for a large body rejects commit and removes its body file', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  let failNext = false;
  const folderSync = async (): Promise<void> => {
    if (failNext) {
      failNext = false;
      throw errnoError('EIO');
    }
  };
  const spool = await openSpool(dir, { folderSync });
  const writer = await spool.begin();
  await writeBody(writer, Buffer.alloc(300 * 1024, 'x'));
  failNext = true;
  await assert.rejects(writer.commit(sampleEnvelope()), { name: 'SpoolError', code: 'ESPOOL' });
  assert.deepEqual(await readdir(join(dir, 'body')), []);
  assert.deepEqual(await spool.list(), []);
  await spool.close();
});

test('opening a spool where folders cannot be made rejects with SpoolError', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const file = join(dir, 'not-a-folder');
  await writeFile(file, 'x');
  await assert.rejects(openSpool(file), { name: 'SpoolError', message: /cannot open spool/ });
});

test('I/O errors map to SpoolError, with noSpace for ENOSPC and EDQUOT only', () => {
  assert.equal(toSpoolError(errnoError('ENOSPC'), 'x').noSpace, true);
  assert.equal(toSpoolError(errnoError('EDQUOT'), 'x').noSpace, true);
  assert.equal(toSpoolError(errnoError('EIO'), 'x').noSpace, false);
  const original = new SpoolError('kept');
  assert.equal(toSpoolError(original, 'x'), original);
});

test('commit after commit, and calls after close, are refused', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const spool = await openSpool(dir);
  const writer = await spool.begin();
  writer.body.end('Subject: x\r\n\r\n');
  await writer.commit(sampleEnvelope());
  await assert.rejects(writer.commit(sampleEnvelope()), { name: 'SpoolError' });
  await writer.abort();
  assert.equal((await spool.list()).length, 1);
  await spool.close();
  await assert.rejects(spool.begin(), { name: 'SpoolError', message: /closed/ });
});
