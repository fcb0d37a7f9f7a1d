// Segments of the queue log: a new one when the active one is full; a sealed
// one deleted once every message in it is done; one with few survivors
// compacted (survivors copied forward) and then deleted; removals never
// outlive the records they cancel.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Spool } from '../../src/spool/spool.js';
import { commitMessage, makeTempDir, nextTurn, openSpool, readAll, removeDir } from './fixtures.js';

const SEGMENT_BYTES = 4096;

async function settle(spool: Spool, condition: () => Promise<boolean>): Promise<void> {
  for (let turn = 0; turn < 10_000; turn += 1) {
    if (await condition()) return;
    await nextTurn();
  }
  assert.fail('condition never held');
}

function body(index: number): string {
  return `Subject: ${index}\r\n\r\n${'x'.repeat(900)} ${index}\r\n`;
}

test('full segments roll over; a sealed segment whose messages are all done is deleted', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const spool = await openSpool(dir, { maxSegmentBytes: SEGMENT_BYTES, compactRatio: 0 });
  const records = [];
  for (let index = 0; index < 12; index += 1) records.push(await commitMessage(spool, body(index)));
  const segments = await readdir(join(dir, 'log'));
  assert.ok(segments.length >= 3, segments.join(', '));
  const firstSegmentIds = records.slice(0, 2).map((record) => record.id);
  for (const id of firstSegmentIds) await spool.remove(id);
  await settle(spool, async () => !(await readdir(join(dir, 'log'))).includes(segments[0] ?? ''));
  await spool.close();
  const reopened = await openSpool(dir);
  assert.deepEqual((await reopened.list()).map((record) => record.id), records.slice(2).map((record) => record.id));
  for (const [index, record] of records.entries()) {
    if (index >= 2) assert.equal((await readAll(reopened.openBody(record.id))).toString(), body(index));
  }
  await reopened.close();
});

test('an old segment with few survivors is compacted: they move forward with their latest record and the segment goes', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const spool = await openSpool(dir, { maxSegmentBytes: SEGMENT_BYTES, compactRatio: 0.5 });
  const records = [];
  for (let index = 0; index < 12; index += 1) records.push(await commitMessage(spool, body(index)));
  const segments = await readdir(join(dir, 'log'));
  const survivor = records[0];
  assert.ok(survivor !== undefined);
  await spool.update(survivor.id, (record) => ({ ...record, attempts: 3 }));
  // Everything in the first segments but the survivor is delivered.
  for (const record of records.slice(1, 4)) await spool.remove(record.id);
  await settle(spool, async () => !(await readdir(join(dir, 'log'))).includes(segments[0] ?? ''));
  assert.equal((await spool.read(survivor.id))?.attempts, 3);
  assert.equal((await readAll(spool.openBody(survivor.id))).toString(), body(0));
  await spool.close();

  const reopened = await openSpool(dir);
  const expected = [survivor.id, ...records.slice(4).map((record) => record.id)];
  assert.deepEqual((await reopened.list()).map((record) => record.id), expected);
  assert.equal((await reopened.read(survivor.id))?.attempts, 3);
  assert.equal((await readAll(reopened.openBody(survivor.id))).toString(), body(0));
  await reopened.close();
});

test('a removal record is kept while an older segment still holds the message it removes', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const spool = await openSpool(dir, { maxSegmentBytes: SEGMENT_BYTES, compactRatio: 0 });
  const pinned = await commitMessage(spool, body(0));
  const removed = await commitMessage(spool, body(1));
  for (let index = 2; index < 12; index += 1) await commitMessage(spool, body(index));
  // The removal lands in a late segment; the first segment stays (pinned is live), so the
  // segment holding the removal must stay too, or `removed` would come back after a restart.
  await spool.remove(removed.id);
  for (let index = 12; index < 20; index += 1) await commitMessage(spool, body(index));
  await spool.close();
  const reopened = await openSpool(dir);
  assert.equal(await reopened.read(removed.id), undefined);
  assert.notEqual(await reopened.read(pinned.id), undefined);
  await reopened.close();
});

test('the summary counts messages and finds the oldest arrival from memory', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const spool = await openSpool(dir);
  assert.deepEqual(spool.summary(), { messages: 0, oldestArrivalMs: undefined });
  const first = await commitMessage(spool, body(0));
  await commitMessage(spool, body(1));
  assert.deepEqual(spool.summary(), { messages: 2, oldestArrivalMs: Date.parse(first.arrival) });
  await spool.close();
});
