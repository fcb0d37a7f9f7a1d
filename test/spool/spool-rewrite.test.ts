// A body rewritten before commit (MessageWriter.rewriteBody): the replacement
// is what is stored, durable before commit resolves; an abort or a second
// rewrite leaves nothing behind.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, openSpool, readAll, removeDir, sampleEnvelope, writeBody } from './fixtures.js';

async function write(stream: NodeJS.WritableStream, data: Buffer): Promise<void> {
  for (let at = 0; at < data.length; at += 16 * 1024) {
    if (!stream.write(data.subarray(at, at + 16 * 1024))) await new Promise((resolve) => stream.once('drain', resolve));
  }
}

for (const [label, originalBytes, replacementBytes] of [
  ['large bodies (files of their own)', 300 * 1024, 400 * 1024],
  ['small bodies (inline in the log)', 2 * 1024, 3 * 1024],
] as const) {
  test(`commit after a rewrite stores the replacement in place of the original: ${label}`, async (t) => {
    const dir = await makeTempDir();
    t.after(() => removeDir(dir));
    const spool = await openSpool(dir);
    const writer = await spool.begin();
    const original = Buffer.concat([Buffer.from('Subject: before\r\n\r\n'), Buffer.alloc(originalBytes, 'o')]);
    await writeBody(writer, original);
    const rewrite = await writer.rewriteBody();
    assert.deepEqual(await readAll(rewrite.openOriginal()), original);
    assert.deepEqual(await readAll(rewrite.openOriginal()), original, 'the original can be read again');
    const replacement = Buffer.concat([Buffer.from('Subject: after\r\n\r\n'), Buffer.alloc(replacementBytes, 'r')]);
    await write(rewrite.body, replacement);
    const record = await writer.commit(sampleEnvelope());
    assert.equal(record.size, replacement.length);
    assert.deepEqual(await readAll(spool.openBody(record.id)), replacement);
    assert.equal(await spool.readHeaders(record.id), 'Subject: after\r\n');
    assert.equal((await readdir(join(dir, 'body'))).length, replacementBytes > 256 * 1024 ? 1 : 0, 'the original is gone');
    await spool.close();
    const reopened = await openSpool(dir);
    assert.deepEqual(await readAll(reopened.openBody(record.id)), replacement, 'after a restart (recovery) as well');
    await reopened.close();
  });
}

test('abort after a rewrite removes the original and the replacement', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const spool = await openSpool(dir);
  const writer = await spool.begin();
  await writeBody(writer, Buffer.alloc(300 * 1024, 'x'));
  const rewrite = await writer.rewriteBody();
  await write(rewrite.body, Buffer.alloc(300 * 1024, 'y'));
  await new Promise((resolve) => rewrite.body.write(Buffer.alloc(1, 'y'), resolve));
  assert.equal((await readdir(join(dir, 'body'))).length, 2);
  await writer.abort();
  assert.deepEqual(await readdir(join(dir, 'body')), []);
  assert.deepEqual(await readdir(join(dir, 'log')), []);
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
