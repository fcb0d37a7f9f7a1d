import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCommitter } from '../../src/spool/group-commit.js';

/** A folder sync the test releases by hand, recording which folders it synced. */
function gatedSync(): { sync: (folder: string) => Promise<void>; synced: string[]; release: () => void; waitForCalls: (count: number) => Promise<void> } {
  const synced: string[] = [];
  let releases: Array<() => void> = [];
  let waiters: { readonly count: number; readonly resolve: () => void }[] = [];
  return {
    synced,
    sync: (folder) =>
      new Promise<void>((resolve) => {
        synced.push(folder);
        releases.push(resolve);
        const ready = waiters.filter((waiter) => waiter.count <= synced.length);
        waiters = waiters.filter((waiter) => waiter.count > synced.length);
        for (const waiter of ready) waiter.resolve();
      }),
    release: () => {
      const pending = releases;
      releases = [];
      for (const resolve of pending) resolve();
    },
    waitForCalls: (count) => (synced.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }))),
  };
}

test('callers arriving during an in-flight fsync share one fsync per folder in the next batch', async () => {
  const gate = gatedSync();
  const committer = new GroupCommitter(gate.sync);
  const first = committer.syncFolders(['/s', '/b']);
  const later = Array.from({ length: 50 }, (_, index) => committer.syncFolders(index % 2 === 0 ? ['/s'] : ['/s', '/b']));
  assert.deepEqual(gate.synced, ['/s', '/b']);
  gate.release();
  await first;
  await gate.waitForCalls(4);
  assert.deepEqual(gate.synced.slice(2).sort(), ['/b', '/s']);
  gate.release();
  await Promise.all(later);
  assert.deepEqual(committer.stats, { batches: 2, folderSyncs: 4, waiters: 51, waiting: 0 });
  await committer.idle();
});

test('a failed fsync rejects every caller of its batch and later batches still run', async () => {
  let fail = true;
  const committer = new GroupCommitter(async () => {
    if (fail) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
  });
  const results = await Promise.allSettled([committer.syncFolders(['/s']), committer.syncFolders(['/s'])]);
  assert.ok(results.every((result) => result.status === 'rejected'));
  fail = false;
  await committer.syncFolders(['/s']);
  await committer.idle();
});
