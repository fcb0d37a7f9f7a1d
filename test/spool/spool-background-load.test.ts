// serve's start with a large queue: the spool takes new messages (durable, in
// segments after the existing ones) while the segments on disk are replayed in
// the background; reads and changes of older messages wait for the replay; a
// close during the replay ends it and loses nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { segmentNumberOf } from '../../src/spool/segment-log.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog } from '../helpers/memory-log.js';
import { fillQueueLog } from '../helpers/queue-fill.js';
import { commitMessage, makeTempDir, nextTurn, openSpool, readAll, removeDir, sampleEnvelope } from './fixtures.js';

const QUEUED = 50_000;
const BASE_MS = Date.parse('2026-11-30T00:00:00Z');
const DAY_MS = 24 * 60 * 60 * 1000;

/** A gate the replay waits at before one segment. */
function holdAt(segment: number): { readonly hook: (segment: number) => Promise<void>; readonly reached: Promise<void>; release(): void } {
  let release = (): void => undefined;
  let reachedResolve = (): void => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const reached = new Promise<void>((resolve) => (reachedResolve = resolve));
  return {
    hook: async (current) => {
      if (current !== segment) return;
      reachedResolve();
      await gate;
    },
    reached,
    release: () => release(),
  };
}

async function segmentsIn(dir: string): Promise<number[]> {
  return (await readdir(join(dir, 'log'))).map(segmentNumberOf).filter((segment): segment is number => segment !== undefined).sort((a, b) => a - b);
}

/** Settles to 'pending' if the promise has not settled after a few turns of the event loop (I/O included). */
async function stateAfterTurns(promise: Promise<unknown>): Promise<'pending' | 'settled'> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let turn = 0; turn < 20; turn += 1) await nextTurn();
  return settled ? 'settled' : 'pending';
}

test('with 50,000 messages queued, a message committed while the replay is held is durable in a new segment, and the replay then adds the rest', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const ids = await fillQueueLog(dir, { count: QUEUED, arrivalMs: BASE_MS, nextAttemptMs: BASE_MS + DAY_MS });
  const oldSegments = await segmentsIn(dir);
  assert.ok(oldSegments.length >= 4, `the queue spans several segments (${oldSegments.length})`);
  await writeFile(join(dir, 'body', 'orphan0001'), 'left by a crash');
  const hold = holdAt(oldSegments[2] as number);
  const log = memoryLog();
  const spool = await openSpool(dir, { clock: new ManualClock(BASE_MS + DAY_MS), logger: log.logger, loadInBackground: true, beforeReplaySegment: hold.hook, inlineMaxBytes: 64 });
  t.after(() => spool.close());
  let loaded: boolean | undefined;
  void spool.loaded.then((value) => (loaded = value));
  await hold.reached;

  // Accepted while the replay waits: a small (inline) and a large (own body file) message.
  const small = await commitMessage(spool, 'Subject: new\r\n\r\nsmall\r\n', sampleEnvelope(['x@example.net']));
  const largeBody = `Subject: large\r\n\r\n${'y'.repeat(4096)}\r\n`;
  const large = await commitMessage(spool, largeBody, sampleEnvelope(['z@example.net']));
  assert.equal(loaded, undefined, 'the replay is still held');
  const newSegments = (await segmentsIn(dir)).filter((segment) => !oldSegments.includes(segment));
  assert.deepEqual(newSegments, [(oldSegments[oldSegments.length - 1] as number) + 1], 'new messages go to a segment after the existing ones');
  assert.ok((await stat(join(dir, 'body', large.id))).isFile());
  // Messages of this process are served at once; their record can change.
  assert.deepEqual(await spool.read(small.id), small);
  const changed = await spool.update(small.id, (record) => ({ ...record, attempts: 1 }));
  assert.equal(changed.attempts, 1);
  assert.equal((await readAll(spool.openBody(large.id))).toString(), largeBody);

  // An older message: its read and its change wait for the replay (a later record of it may not be read yet).
  const oldRead = spool.read(ids[0] as string);
  const lastId = ids[QUEUED - 1] as string;
  const oldChange = spool.update(lastId, (record) => ({ ...record, nextAttempt: new Date(BASE_MS).toISOString() }));
  assert.equal(await stateAfterTurns(oldRead), 'pending');
  assert.equal(await stateAfterTurns(oldChange), 'pending');

  hold.release();
  assert.equal(await spool.loaded, true);
  assert.equal((await oldRead)?.id, ids[0]);
  assert.equal((await oldChange).nextAttempt, new Date(BASE_MS).toISOString());
  assert.equal((await spool.read(lastId))?.nextAttempt, new Date(BASE_MS).toISOString(), 'the change made after the replay is the one kept');
  assert.equal(spool.summary().messages, QUEUED + 2);
  assert.equal([...spool.scheduleEntries()].length, QUEUED + 2);
  // Leftovers found at the start are removed; the body of a message received during the replay is not one.
  const bodies = await readdir(join(dir, 'body'));
  assert.deepEqual(bodies, [large.id]);
  assert.equal((await readAll(spool.openBody(large.id))).toString(), largeBody);
  const recovered = log.entries.find((entry) => entry['msg'] === 'spool recovered');
  assert.equal(recovered?.['orphanBodiesRemoved'], 1);
  assert.equal(recovered?.['queued'], QUEUED + 2);
});

test('a close during the replay ends it (loaded is false, waiting reads fail) and the next open finds every message, those accepted meanwhile included', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const ids = await fillQueueLog(dir, { count: QUEUED, arrivalMs: BASE_MS, nextAttemptMs: BASE_MS + DAY_MS });
  const oldSegments = await segmentsIn(dir);
  const hold = holdAt(oldSegments[1] as number);
  const spool = await openSpool(dir, { clock: new ManualClock(BASE_MS + DAY_MS), loadInBackground: true, beforeReplaySegment: hold.hook });
  await hold.reached;
  const accepted = await commitMessage(spool, 'Subject: during\r\n\r\nreplay\r\n', sampleEnvelope(['x@example.net']));
  const waiting = assert.rejects(spool.read(ids[QUEUED - 1] as string), /spool is closed/);
  const closing = spool.close();
  hold.release();
  await closing;
  assert.equal(await spool.loaded, false);
  await waiting;

  const log = memoryLog();
  const reopened = await openSpool(dir, { clock: new ManualClock(BASE_MS + DAY_MS), logger: log.logger });
  t.after(() => reopened.close());
  assert.equal(reopened.summary().messages, QUEUED + 1);
  assert.deepEqual(await reopened.read(accepted.id), accepted);
  assert.equal((await readAll(reopened.openBody(accepted.id))).toString(), 'Subject: during\r\n\r\nreplay\r\n');
  const recovered = log.entries.find((entry) => entry['msg'] === 'spool recovered');
  assert.equal(recovered?.['tornSegments'], 0);
  assert.equal(recovered?.['invalidRecords'], 0);
});

test('queue commands (no background load) open with the whole queue loaded', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  await fillQueueLog(dir, { count: 3000, arrivalMs: BASE_MS, nextAttemptMs: BASE_MS + DAY_MS });
  const spool = await openSpool(dir, { recover: false });
  t.after(() => spool.close());
  assert.equal(spool.summary().messages, 3000);
  assert.equal(await spool.loaded, true);
});
