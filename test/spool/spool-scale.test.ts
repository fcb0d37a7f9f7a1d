import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runCli } from '../../src/cli/main.js';
import { fsyncFolder } from '../../src/spool/group-commit.js';
import { encodeLogRecord } from '../../src/spool/log-format.js';
import { spoolPaths } from '../../src/spool/paths.js';
import { newRecord } from '../../src/spool/record.js';
import { SegmentLog } from '../../src/spool/segment-log.js';
import { commitMessage, makeTempDir, openSpool, removeDir, sampleEnvelope } from './fixtures.js';

const BASE_MS = Date.parse('2026-11-30T00:00:00Z');

/** Writes `count` messages straight into the queue log (as serve would), arrivals one second apart, through the log writer. */
async function fillLog(spoolDir: string, count: number): Promise<string[]> {
  const paths = spoolPaths(spoolDir);
  await mkdir(paths.logFolder, { recursive: true });
  await mkdir(paths.bodyFolder, { recursive: true });
  const log = new SegmentLog({ folder: paths.logFolder, nextSegment: 1, maxSegmentBytes: 1024 * 1024, folderSync: fsyncFolder });
  const ids: string[] = [];
  const appends: Promise<unknown>[] = [];
  for (let index = 0; index < count; index += 1) {
    const id = `m${index.toString().padStart(8, '0')}`;
    ids.push(id);
    const record = newRecord(id, sampleEnvelope([`r${index}@d${index % 7}.example.net`]), BASE_MS + index * 1000, 20);
    appends.push(log.append(encodeLogRecord({ type: 'new', id, recordJson: JSON.stringify(record), body: [Buffer.from('Subject: s\r\n\r\nbody\r\n')] })));
  }
  await Promise.all(appends);
  await log.close();
  return ids;
}

/** A stdout that keeps what it is given and counts the writes, the largest one noted. */
class CountingOutput extends Writable {
  readonly chunks: Buffer[] = [];
  writes = 0;
  largestWrite = 0;
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.writes += 1;
    this.largestWrite = Math.max(this.largestWrite, chunk.length);
    this.chunks.push(chunk);
    done();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

test('queue list --json streams a complete, valid JSON array for 20,000 messages, in pieces of at most ~64 KiB', async (t) => {
  const dir = await makeTempDir('outpost-queue-scale-');
  t.after(() => removeDir(dir));
  const ids = await fillLog(join(dir, 'spool'), 20_000);
  await writeFile(join(dir, 'domains'), 'example.org\n');
  await writeFile(join(dir, 'outpost.yaml'), `domains: domains\nspoolDir: ${JSON.stringify(join(dir, 'spool'))}\n`);
  const stdout = new CountingOutput();
  const stderr = new CountingOutput();
  const code = await runCli(['queue', 'list', '--json', '--config', 'outpost.yaml'], { stdout, stderr, env: {}, cwd: dir });
  assert.equal(code, 0, stderr.text());
  const listed = JSON.parse(stdout.text()) as Array<{ id: string; arrival: string; recipients: Array<{ address: string; state: string }> }>;
  assert.equal(listed.length, 20_000);
  assert.deepEqual(listed.map((entry) => entry.id), ids, 'every message, oldest arrival first');
  assert.deepEqual(listed[19_999]?.recipients, [{ address: 'r19999@d0.example.net', state: 'pending', attempts: 0, nextAttempt: new Date(BASE_MS + 19_999_000).toISOString(), lastReply: null }]);
  // Never one string for the whole list: many writes, none much over the 64 KiB piece size.
  assert.ok(stdout.writes >= 50, `${stdout.writes} writes`);
  assert.ok(stdout.largestWrite < 64 * 1024 + 4096, `largest write ${stdout.largestWrite} bytes`);

  const table = new CountingOutput();
  assert.equal(await runCli(['queue', 'list', '--config', 'outpost.yaml'], { stdout: table, stderr, env: {}, cwd: dir }), 0);
  const lines = table.text().trimEnd().split('\n');
  assert.equal(lines.filter((line) => line.startsWith('m')).length, 20_000);
  assert.equal(lines.filter((line) => line.startsWith('ID ')).length, 1, 'one header');
  assert.equal(lines[lines.length - 1], '20000 messages');
  assert.ok(table.writes >= 20, `${table.writes} writes`);
});

test('records are read back from the log when not kept in memory: after a reopen, and past the recent-records budget', async (t) => {
  const dir = await makeTempDir('outpost-spool-scale-');
  t.after(() => removeDir(dir));
  // No budget: every read goes to the segment.
  const spool = await openSpool(dir, { recentRecordBytes: 0 });
  const first = await commitMessage(spool, 'Subject: one\r\n\r\nbody\r\n', sampleEnvelope(['a@example.net', 'b@example.net']));
  const second = await commitMessage(spool, 'Subject: two\r\n\r\nbody\r\n', sampleEnvelope(['c@example.net']));
  assert.deepEqual(await spool.read(first.id), first);
  const updated = await spool.update(first.id, (current) => ({ ...current, attempts: 1, nextAttempt: new Date(BASE_MS).toISOString() }));
  assert.deepEqual(await spool.read(first.id), updated);
  assert.deepEqual(
    [...spool.scheduleEntries()].map((entry) => [entry.id, entry.nextAttemptMs, entry.pending]),
    [
      [first.id, BASE_MS, true],
      [second.id, Date.parse(second.arrival), true],
    ],
  );
  await spool.close();
  const reopened = await openSpool(dir);
  t.after(() => reopened.close());
  assert.deepEqual(await reopened.read(first.id), updated);
  assert.deepEqual(await reopened.list(), [updated, second]);
  assert.equal([...reopened.scheduleEntries()].find((entry) => entry.id === first.id)?.nextAttemptMs, BASE_MS);
});

test('the oldest arrival follows removals without a scan, also once stale entries are rebuilt away', async (t) => {
  const dir = await makeTempDir('outpost-spool-scale-');
  t.after(() => removeDir(dir));
  const ids = await fillLog(dir, 3000);
  const spool = await openSpool(dir);
  t.after(() => spool.close());
  assert.deepEqual(spool.summary(), { messages: 3000, oldestArrivalMs: BASE_MS });
  // Removing the oldest 2500 (more than the heap keeps stale before it rebuilds), checking as we go.
  for (let index = 0; index < 2500; index += 1) {
    await spool.remove(ids[index] as string, { durable: false });
    if (index % 500 === 0) assert.deepEqual(spool.summary(), { messages: 3000 - index - 1, oldestArrivalMs: BASE_MS + (index + 1) * 1000 });
  }
  const fresh = await commitMessage(spool, 'Subject: new\r\n\r\nbody\r\n');
  assert.deepEqual(spool.summary(), { messages: 501, oldestArrivalMs: Math.min(Date.parse(fresh.arrival), BASE_MS + 2500 * 1000) });
  for (const id of ids.slice(2500)) await spool.remove(id, { durable: false });
  assert.deepEqual(spool.summary(), { messages: 1, oldestArrivalMs: Date.parse(fresh.arrival) });
});
