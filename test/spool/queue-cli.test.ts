import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Spool } from '../../src/spool/spool.js';
import { runCliCaptured } from '../helpers/run-cli.js';
import { commitMessage, makeTempDir, openSpool, removeDir, sampleEnvelope } from './fixtures.js';

/** A temp folder with a minimal config (config/outpost.yaml, the default path) and its spool. */
async function setUp(): Promise<{ dir: string; spool: Spool }> {
  const dir = await makeTempDir('outpost-queue-cli-');
  await writeFile(join(dir, 'domains'), 'example.org\n');
  await writeFile(join(dir, 'outpost.yaml'), `domains: domains\nspoolDir: ${JSON.stringify(join(dir, 'spool'))}\n`);
  const spool = await openSpool(join(dir, 'spool'));
  return { dir, spool };
}

const CONFIG = ['--config', 'outpost.yaml'];

test('queue list on an empty spool says so', async (t) => {
  const { dir, spool } = await setUp();
  t.after(() => removeDir(dir));
  await spool.close();
  const human = await runCliCaptured(['queue', 'list', ...CONFIG], { cwd: dir });
  assert.deepEqual(human, { exitCode: 0, stdout: 'queue is empty\n', stderr: '' });
  const json = await runCliCaptured(['queue', 'list', '--json', ...CONFIG], { cwd: dir });
  assert.equal(json.exitCode, 0);
  assert.deepEqual(JSON.parse(json.stdout), []);
});

test('queue commands on a spool folder that does not exist say so and create nothing', async (t) => {
  const dir = await makeTempDir('outpost-queue-cli-');
  t.after(() => removeDir(dir));
  await writeFile(join(dir, 'domains'), 'example.org\n');
  await writeFile(join(dir, 'outpost.yaml'), `domains: domains\nspoolDir: ${JSON.stringify(join(dir, 'spool'))}\n`);
  const missing = `the spool folder ${join(dir, 'spool')} does not exist`;
  const list = await runCliCaptured(['queue', 'list', ...CONFIG], { cwd: dir });
  assert.deepEqual([list.exitCode, list.stdout], [0, 'queue is empty\n']);
  assert.ok(list.stderr.includes(missing), list.stderr);
  const json = await runCliCaptured(['queue', 'list', '--json', ...CONFIG], { cwd: dir });
  assert.deepEqual([json.exitCode, JSON.parse(json.stdout)], [0, []]);
  const show = await runCliCaptured(['queue', 'show', 'abc123', ...CONFIG], { cwd: dir });
  assert.equal(show.exitCode, 1);
  assert.ok(show.stderr.includes(missing), show.stderr);
  assert.deepEqual(await readdir(dir), ['domains', 'outpost.yaml']);
});

test('queue list --json prints the INTERFACE.md shape', async (t) => {
  const { dir, spool } = await setUp();
  t.after(() => removeDir(dir));
  const record = await commitMessage(spool, 'Subject: hi\r\n\r\nbody\r\n', sampleEnvelope(['b@example.net', 'c@example.net']));
  await spool.update(record.id, (current) => ({
    ...current,
    attempts: 1,
    recipients: current.recipients.map((recipient, index) =>
      index === 0
        ? { ...recipient, state: 'delivered', attempts: 1, lastReply: '250 2.0.0 ok', history: [{ at: current.arrival, reply: '250 2.0.0 ok', mx: 'mx.example.net' }] }
        : { ...recipient, attempts: 1, lastReply: '451 4.4.3 try later', history: [{ at: current.arrival, reply: '451 4.4.3 try later' }] },
    ),
  }));
  await spool.close();

  const result = await runCliCaptured(['queue', 'list', '--json', ...CONFIG], { cwd: dir });
  assert.equal(result.exitCode, 0, result.stderr);
  const list = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
  assert.equal(list.length, 1);
  const [entry] = list;
  assert.equal(entry?.['id'], record.id);
  assert.equal(entry?.['from'], 'a@example.org');
  assert.equal(entry?.['arrival'], record.arrival);
  assert.equal(entry?.['size'], record.size);
  assert.deepEqual(entry?.['recipients'], [
    { address: 'b@example.net', state: 'delivered', attempts: 1, nextAttempt: null, lastReply: '250 2.0.0 ok' },
    { address: 'c@example.net', state: 'pending', attempts: 1, nextAttempt: record.nextAttempt, lastReply: '451 4.4.3 try later' },
  ]);
});

test('queue list prints a table with id, arrival, size, sender and recipient states', async (t) => {
  const { dir, spool } = await setUp();
  t.after(() => removeDir(dir));
  const bounce = await commitMessage(spool, 'Subject: dsn\r\n\r\nx\r\n', { ...sampleEnvelope(['c@example.net']), from: '' });
  const normal = await commitMessage(spool, 'Subject: hi\r\n\r\nbody\r\n', sampleEnvelope(['b@example.net', 'd@example.net']));
  await spool.close();
  const result = await runCliCaptured(['queue', 'list', ...CONFIG], { cwd: dir });
  assert.equal(result.exitCode, 0, result.stderr);
  const lines = result.stdout.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^ID\s+ARRIVAL\s+SIZE\s+SENDER\s+RECIPIENTS$/);
  assert.match(result.stdout, new RegExp(`${bounce.id}\\s+${bounce.arrival}\\s+${bounce.size}\\s+<>\\s+c@example.net \\(pending, 0 attempts\\)`));
  assert.match(result.stdout, new RegExp(`${normal.id}\\s+\\S+\\s+${normal.size}\\s+a@example.org\\s+b@example.net \\(pending`));
  assert.match(result.stdout, /^\s+d@example.net \(pending, 0 attempts\)$/m);
  assert.equal(lines.at(-1), '2 messages');
});

test('queue show prints envelope, client, history and headers', async (t) => {
  const { dir, spool } = await setUp();
  t.after(() => removeDir(dir));
  const record = await commitMessage(spool, 'Subject: hello\r\nFrom: <a@example.org>\r\n\r\nsecret body\r\n');
  await spool.update(record.id, (current) => ({
    ...current,
    recipients: current.recipients.map((recipient) => ({
      ...recipient,
      attempts: 1,
      lastReply: '451 4.4.3 later',
      history: [{ at: '2026-11-26T10:05:00.000Z', reply: '451 4.4.3 later', mx: 'mx1.example.net' }],
    })),
  }));
  await spool.close();
  const result = await runCliCaptured(['queue', 'show', record.id, ...CONFIG], { cwd: dir });
  assert.equal(result.exitCode, 0, result.stderr);
  assert.match(result.stdout, new RegExp(`^id:\\s+${record.id}$`, 'm'));
  assert.match(result.stdout, /^from:\s+a@example.org$/m);
  assert.match(result.stdout, /^client:\s+192\.0\.2\.7 helo=client\.example\.net listener=mta tls=none auth=none$/m);
  assert.match(result.stdout, /b@example.net \(pending, 1 attempts: 451 4\.4\.3 later\)/);
  assert.match(result.stdout, /2026-11-26T10:05:00\.000Z mx1\.example\.net: 451 4\.4\.3 later/);
  assert.match(result.stdout, /^headers:\n  Subject: hello\n  From: <a@example.org>$/m);
  assert.doesNotMatch(result.stdout, /secret body/);

  const json = await runCliCaptured(['queue', 'show', record.id, '--json', ...CONFIG], { cwd: dir });
  assert.equal(json.exitCode, 0);
  const shown = JSON.parse(json.stdout) as Record<string, unknown>;
  assert.equal(shown['id'], record.id);
  assert.equal(shown['headers'], 'Subject: hello\r\nFrom: <a@example.org>\r\n');
});

test('queue show of an unknown id fails with exit 1', async (t) => {
  const { dir, spool } = await setUp();
  t.after(() => removeDir(dir));
  await spool.close();
  const result = await runCliCaptured(['queue', 'show', 'nosuchid0001', ...CONFIG], { cwd: dir });
  assert.equal(result.exitCode, 1);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /no message with id nosuchid0001/);
});

test('bad usage exits 2 with the usage text', async (t) => {
  const { dir, spool } = await setUp();
  t.after(() => removeDir(dir));
  await spool.close();
  const cases: ReadonlyArray<readonly string[]> = [
    ['queue'],
    ['queue', 'frobnicate'],
    ['queue', 'flush', 'a', 'b'],
    ['queue', 'delete'],
    ['queue', 'bounce'],
    ['queue', 'delete', '../x'],
    ['queue', 'list', 'extra'],
    ['queue', 'list', '--bogus'],
    ['queue', 'show'],
    ['queue', 'show', 'a', 'b'],
    ['queue', 'show', '../../etc/passwd'],
  ];
  for (const args of cases) {
    const result = await runCliCaptured([...args, ...CONFIG], { cwd: dir });
    assert.equal(result.exitCode, 2, args.join(' '));
    assert.match(result.stderr, /usage: outpost queue list/, args.join(' '));
    assert.equal(result.stdout, '');
  }
});

test('a broken config fails with exit 1 and names the problem', async (t) => {
  const { dir, spool } = await setUp();
  t.after(() => removeDir(dir));
  await spool.close();
  await writeFile(join(dir, 'broken.yaml'), 'domains: domains\nspoolDir: /tmp/x\nnoSuchKey: 1\n');
  const result = await runCliCaptured(['queue', 'list', '--config', 'broken.yaml'], { cwd: dir });
  assert.equal(result.exitCode, 1);
  assert.match(result.stderr, /noSuchKey/);
  const missing = await runCliCaptured(['queue', 'list', '--config', 'missing.yaml'], { cwd: dir });
  assert.equal(missing.exitCode, 1);
});

test('with no server running, flush/delete/bounce act on the spool directly', async (t) => {
  const { dir, spool } = await setUp();
  t.after(() => removeDir(dir));
  const first = await commitMessage(spool, 'Subject: one\r\n\r\nbody\r\n', sampleEnvelope(['x@example.net']));
  const second = await commitMessage(spool, 'Subject: two\r\n\r\nbody\r\n', sampleEnvelope(['y@example.net']));
  await spool.update(first.id, (record) => ({ ...record, nextAttempt: '2099-01-01T00:00:00.000Z' }));
  await spool.close();

  const flushed = await runCliCaptured(['queue', 'flush', first.id, ...CONFIG], { cwd: dir });
  assert.equal(flushed.exitCode, 0, flushed.stderr);
  assert.match(flushed.stdout, /no server is running/);
  const listed = JSON.parse((await runCliCaptured(['queue', 'list', '--json', ...CONFIG], { cwd: dir })).stdout) as { id: string; nextAttempt: string }[];
  assert.ok(Date.parse(listed.find((entry) => entry.id === first.id)?.nextAttempt ?? '') < Date.parse('2099-01-01'));

  const deleted = await runCliCaptured(['queue', 'delete', first.id, ...CONFIG], { cwd: dir });
  assert.equal(deleted.exitCode, 0, deleted.stderr);
  assert.equal((await runCliCaptured(['queue', 'delete', first.id, ...CONFIG], { cwd: dir })).exitCode, 1);

  const bounced = await runCliCaptured(['queue', 'bounce', second.id, ...CONFIG], { cwd: dir });
  assert.equal(bounced.exitCode, 0, bounced.stderr);
  const after = JSON.parse((await runCliCaptured(['queue', 'list', '--json', ...CONFIG], { cwd: dir })).stdout) as {
    id: string;
    from: string;
    recipients: { address: string }[];
  }[];
  assert.equal(after.some((entry) => entry.id === first.id || entry.id === second.id), false);
  assert.equal(after.length, 1, 'only the DSN is left');
  assert.equal(after[0]?.from, '');
  assert.equal(after[0]?.recipients[0]?.address, 'a@example.org');
});
