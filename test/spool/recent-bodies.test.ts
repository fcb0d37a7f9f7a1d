// Read once: the body of a small message just committed is delivered from
// memory (RecentBodies), not read back from the queue log; large bodies,
// removed messages and a spool opened only to read (queue commands) go to disk.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { RecentBodies } from '../../src/spool/recent-bodies.js';
import { commitMessage, makeTempDir, openSpool, readAll, removeDir } from './fixtures.js';

async function unlinkSegments(dir: string): Promise<void> {
  for (const name of await readdir(join(dir, 'log'))) await unlink(join(dir, 'log', name));
}

test('a just-committed small body is read from memory: it reads back exactly with the log file gone', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const spool = await openSpool(dir, { recover: true });
  const body = Buffer.from('Subject: hello\r\n\r\n' + 'line of text\r\n'.repeat(150));
  const record = await commitMessage(spool, body);
  await unlinkSegments(dir);
  assert.deepEqual(await readAll(spool.openBody(record.id)), body);
  await spool.close();
});

test('a body over the size kept in memory, and one of a removed message, come from disk', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const spool = await openSpool(dir, { recover: true });
  const large = await commitMessage(spool, Buffer.concat([Buffer.from('Subject: big\r\n\r\n'), Buffer.alloc(200 * 1024, 0x61)]));
  const small = await commitMessage(spool, Buffer.from('Subject: small\r\n\r\nhi\r\n'));
  await spool.remove(small.id);
  await unlinkSegments(dir);
  await assert.rejects(readAll(spool.openBody(large.id)), /ENOENT/);
  await assert.rejects(readAll(spool.openBody(small.id)), /no such message/);
  await spool.close();
});

test('RecentBodies keeps copies within its byte budget, dropping the oldest first', () => {
  const bodies = new RecentBodies({ maxBodyBytes: 10, budgetBytes: 20 });
  const source = Buffer.from('0123456789');
  bodies.put('a', [source.subarray(0, 4), source.subarray(4)], 10);
  source.fill(0x78);
  assert.equal(bodies.get('a')?.toString(), '0123456789', 'a copy, not a view of the pieces');
  bodies.put('b', [Buffer.from('bbbbbbbbbb')], 10);
  bodies.put('c', [Buffer.from('cc')], 2);
  assert.equal(bodies.get('a'), undefined, 'the oldest went to stay within 20 bytes');
  assert.deepEqual([bodies.get('b')?.toString(), bodies.get('c')?.toString(), bodies.size], ['bbbbbbbbbb', 'cc', 12]);
  bodies.put('d', [Buffer.from('ddddddddddd')], 11);
  assert.equal(bodies.get('d'), undefined, 'over maxBodyBytes: not kept');
  bodies.delete('b');
  assert.equal(bodies.size, 2);
});
