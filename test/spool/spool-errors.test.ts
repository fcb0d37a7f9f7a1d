import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SpoolError } from '../../src/core/errors.js';
import { fsyncFolder } from '../../src/spool/group-commit.js';
import { toSpoolError } from '../../src/spool/io.js';
import { memoryLog } from '../helpers/memory-log.js';
import { commitMessage, makeTempDir, openSpool, removeDir, sampleEnvelope, writeBody } from './fixtures.js';

function errnoError(code: string): Error {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

async function assertEmpty(dir: string): Promise<void> {
  for (const folder of ['body', 'state', 'tmp']) assert.deepEqual(await readdir(join(dir, folder)), [], folder);
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
  await assertEmpty(dir);
  // The process and the spool keep working.
  const record = await commitMessage(spool, 'Subject: after\r\n\r\nx\r\n');
  assert.deepEqual(await spool.list(), [record]);
  await spool.close();
});

test('a failed rename into state/ rejects commit and removes the body', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const spool = await openSpool(dir);
  const writer = await spool.begin();
  await writeBody(writer, Buffer.from('Subject: x\r\n\r\nbody\r\n'));
  await rm(join(dir, 'state'), { recursive: true });
  await assert.rejects(writer.commit(sampleEnvelope()), (error: unknown) => {
    assert.ok(error instanceof SpoolError);
    assert.equal(error.noSpace, false);
    assert.match(error.message, /cannot commit message/);
    return true;
  });
  await mkdir(join(dir, 'state'));
  await assertEmpty(dir);
  await spool.close();
});

test('a failed folder fsync rejects commit and takes the renamed state file back', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  let failNext = false;
  const folderSync = async (folder: string): Promise<void> => {
    if (failNext) {
      failNext = false;
      throw errnoError('EIO');
    }
    await fsyncFolder(folder);
  };
  const log = memoryLog();
  const spool = await openSpool(dir, { logger: log.logger, folderSync });
  const writer = await spool.begin();
  await writeBody(writer, Buffer.from('Subject: x\r\n\r\nbody\r\n'));
  failNext = true;
  await assert.rejects(writer.commit(sampleEnvelope()), { name: 'SpoolError', code: 'ESPOOL' });
  await assertEmpty(dir);
  assert.deepEqual(await spool.list(), []);
  await spool.close();
});

test('opening a spool where folders cannot be made rejects with SpoolError', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const file = join(dir, 'not-a-folder');
  await writeFile(file, 'x');
  await assert.rejects(
    openSpool(file),
    { name: 'SpoolError', message: /cannot open spool/ },
  );
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
