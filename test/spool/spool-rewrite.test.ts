// A body rewritten before commit (MessageWriter.rewriteBody): the replacement
// is what is stored, under the message's own name, after the body and state
// folders are synced; an abort or a second rewrite leaves nothing behind.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, openSpool, readAll, removeDir, sampleEnvelope, writeBody } from './fixtures.js';

async function filesIn(dir: string): Promise<Record<string, string[]>> {
  const listing: Record<string, string[]> = {};
  for (const folder of ['body', 'state', 'tmp']) listing[folder] = (await readdir(join(dir, folder))).sort();
  return listing;
}

test('commit after a rewrite stores the replacement in place of the original, synced before it resolves', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const synced: string[] = [];
  const spool = await openSpool(dir, { folderSync: async (folder) => void synced.push(folder) });
  const writer = await spool.begin();
  const original = Buffer.concat([Buffer.from('Subject: before\r\n\r\n'), Buffer.alloc(200 * 1024, 'o')]);
  await writeBody(writer, original);
  const rewrite = await writer.rewriteBody();
  assert.deepEqual(await readAll(rewrite.openOriginal()), original);
  assert.deepEqual(await readAll(rewrite.openOriginal()), original, 'the original can be read again');
  assert.equal((await filesIn(dir))['tmp']?.length, 1, 'the replacement is written in tmp/');
  const replacement = Buffer.concat([Buffer.from('Subject: after\r\n\r\n'), Buffer.alloc(300 * 1024, 'r')]);
  for (let at = 0; at < replacement.length; at += 16 * 1024) {
    if (!rewrite.body.write(replacement.subarray(at, at + 16 * 1024))) await new Promise((resolve) => rewrite.body.once('drain', resolve));
  }
  const record = await writer.commit(sampleEnvelope());
  assert.equal(record.size, replacement.length);
  assert.deepEqual(await readAll(spool.openBody(record.id)), replacement);
  assert.deepEqual(await filesIn(dir), { body: [record.id], state: [`${record.id}.json`], tmp: [] });
  assert.ok(synced.includes(join(dir, 'body')) && synced.includes(join(dir, 'state')), synced.join(', '));
  await spool.close();
  const reopened = await openSpool(dir);
  assert.deepEqual(await readAll(reopened.openBody(record.id)), replacement, 'after a restart (recovery) as well');
  await reopened.close();
});

test('abort after a rewrite removes the original and the replacement', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const spool = await openSpool(dir);
  const writer = await spool.begin();
  await writeBody(writer, Buffer.from('Subject: x\r\n\r\nbody\r\n'));
  const rewrite = await writer.rewriteBody();
  rewrite.body.write('partial');
  await writer.abort();
  assert.deepEqual(await filesIn(dir), { body: [], state: [], tmp: [] });
  await spool.close();
});

test('a body is rewritten once, and never after commit', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const spool = await openSpool(dir);
  const writer = await spool.begin();
  await writeBody(writer, Buffer.from('Subject: x\r\n\r\nbody\r\n'));
  const rewrite = await writer.rewriteBody();
  await assert.rejects(writer.rewriteBody(), { name: 'SpoolError', message: /already rewritten/ });
  rewrite.body.write('Subject: y\r\n\r\nnew\r\n');
  const record = await writer.commit(sampleEnvelope());
  assert.equal((await readAll(spool.openBody(record.id))).toString(), 'Subject: y\r\n\r\nnew\r\n');
  await assert.rejects(writer.rewriteBody(), { name: 'SpoolError' });
  await spool.close();
});
