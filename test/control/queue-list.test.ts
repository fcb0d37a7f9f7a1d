// The queue-list and message requests of the control channel: `outpost queue
// list` and `queue show` served by a ControlServer over a real spool give the
// offline read's bytes; the list client
// refuses a list whose stream is cut, short or stopped by an error line; a
// server that will not list makes the CLI read the log itself.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { ControlServer } from '../../src/control/control-server.js';
import { isQueueListRequest, listEntry, parseListStatus } from '../../src/control/list-protocol.js';
import { controlSocketPath, type QueueController } from '../../src/control/protocol.js';
import { newRecord } from '../../src/spool/record.js';
import type { EnvelopeRecord } from '../../src/spool/types.js';
import { memoryLog } from '../helpers/memory-log.js';
import { runCliCaptured } from '../helpers/run-cli.js';
import { commitMessage, makeTempDir, openSpool, removeDir, sampleEnvelope } from '../spool/fixtures.js';

/** Queue actions are not what these tests send. */
const NO_ACTIONS: QueueController = {
  flush: () => Promise.reject(new Error('not in this test')),
  deleteMessage: () => Promise.reject(new Error('not in this test')),
  bounceMessage: () => Promise.reject(new Error('not in this test')),
};

async function makeFolder(): Promise<{ dir: string; spoolDir: string }> {
  const dir = await makeTempDir('outpost-control-list-');
  const spoolDir = join(dir, 'spool');
  await writeFile(join(dir, 'domains'), 'example.org\n');
  await writeFile(join(dir, 'outpost.yaml'), `domains: domains\nspoolDir: ${JSON.stringify(spoolDir)}\n`);
  return { dir, spoolDir };
}

function list(dir: string, json: boolean): ReturnType<typeof runCliCaptured> {
  return runCliCaptured(['queue', 'list', ...(json ? ['--json'] : []), '--config', 'outpost.yaml'], { cwd: dir });
}

test('parses the request and the status lines', () => {
  assert.equal(isQueueListRequest('{"action":"queue-list"}'), true);
  for (const line of ['{"action":"flush"}', 'not json', 'null', '[]']) assert.equal(isQueueListRequest(line), false, line);
  assert.deepEqual(parseListStatus('{"ok":true,"list":"begin"}'), { ok: true, list: 'begin' });
  assert.deepEqual(parseListStatus('{"ok":true,"list":"end","count":3}'), { ok: true, list: 'end', count: 3 });
  assert.deepEqual(parseListStatus('{"ok":false,"error":"disk gone"}'), { ok: false, error: 'disk gone' });
  for (const line of ['{"ok":true,"list":"end"}', '{"ok":true,"list":"end","count":-1}', '{"ok":true}', '{"id":"x"}', 'garbage']) {
    assert.equal(parseListStatus(line), undefined, line);
  }
});

test('a ControlServer over the spool lists it with the bytes of the offline read, empty or not', async (t) => {
  const { dir, spoolDir } = await makeFolder();
  t.after(() => removeDir(dir));
  const spool = await openSpool(spoolDir);
  const log = memoryLog('debug');
  const control = new ControlServer(controlSocketPath(spoolDir), NO_ACTIONS, log.logger, undefined, undefined, spool);
  await control.start();
  const emptyJson = await list(dir, true);
  const emptyTable = await list(dir, false);
  assert.deepEqual([emptyJson.exitCode, emptyJson.stdout, emptyTable.stdout], [0, '[]\n', 'queue is empty\n']);
  assert.equal(log.messages('queue list served').length, 2);

  await commitMessage(spool, 'Subject: a\r\n\r\nx\r\n', { ...sampleEnvelope(['b@example.net', 'c@example.com']), from: '' });
  await commitMessage(spool, 'Subject: b\r\n\r\nyy\r\n', { ...sampleEnvelope(['δοκιμή@example.net']), smtputf8: true });
  for (let i = 0; i < 5; i += 1) await commitMessage(spool, `Subject: ${i}\r\n\r\n${'z'.repeat(i * 100)}\r\n`);
  const servedJson = await list(dir, true);
  const servedTable = await list(dir, false);
  const shownId = (JSON.parse(servedJson.stdout) as { id: string }[])[1]?.id ?? '';
  const show = (json: boolean): ReturnType<typeof runCliCaptured> => runCliCaptured(['queue', 'show', shownId, ...(json ? ['--json'] : []), '--config', 'outpost.yaml'], { cwd: dir });
  const servedShow = [await show(true), await show(false)];
  const why = await runCliCaptured(['queue', 'why', shownId, '--json', '--config', 'outpost.yaml'], { cwd: dir });
  assert.equal(why.exitCode, 0, why.stderr);
  assert.equal((JSON.parse(why.stdout) as { id: string }).id, shownId);
  const missing = await runCliCaptured(['queue', 'show', '0000000000000000', '--config', 'outpost.yaml'], { cwd: dir });
  assert.deepEqual([missing.exitCode, missing.stderr], [1, 'outpost queue: no message with id 0000000000000000\n']);
  assert.deepEqual(
    log.messages('queue message read').map((entry) => [entry['qid'], entry['found']]),
    [
      [shownId, true],
      [shownId, true],
      [shownId, true],
      ['0000000000000000', false],
    ],
    'show and why asked the server',
  );
  assert.deepEqual(
    log.messages('queue list served').map((entry) => entry['count']),
    [0, 0, 7, 7],
  );
  await control.close();
  await spool.close();

  const offlineJson = await list(dir, true);
  const offlineTable = await list(dir, false);
  assert.equal(log.messages('queue list served').length, 4, 'no server: read from the log');
  assert.equal((JSON.parse(offlineJson.stdout) as unknown[]).length, 7);
  assert.equal(servedJson.stdout, offlineJson.stdout);
  assert.equal(servedTable.stdout, offlineTable.stdout);
  const offlineShow = [await show(true), await show(false)];
  assert.deepEqual(servedShow, offlineShow, 'queue show: the same from the server and from the log');
  assert.match(offlineShow[1]?.stdout ?? '', /^id: +\S+\n[\s\S]*headers:\n  Subject: b\n$/);
  assert.match(servedTable.stdout, /^ID +ARRIVAL +SIZE +SENDER +RECIPIENTS\n/);
});

test('closing the server cuts a list whose reader stopped reading, and the close does not wait for it', async (t) => {
  const { dir, spoolDir } = await makeFolder();
  t.after(() => removeDir(dir));
  const log = memoryLog();
  let pulled = 0;
  async function* endless(): AsyncGenerator<EnvelopeRecord> {
    for (;;) {
      pulled += 1;
      yield newRecord(`m${pulled}`, sampleEnvelope(), Date.parse('2026-12-01T00:00:00Z') + pulled, 10);
    }
  }
  await mkdir(spoolDir);
  const control = new ControlServer(controlSocketPath(spoolDir), NO_ACTIONS, log.logger, undefined, undefined, { records: endless, read: () => Promise.resolve(undefined), readHeaders: () => Promise.resolve('') });
  await control.start();
  const client = connect(controlSocketPath(spoolDir));
  client.write('{"action":"queue-list"}\n');
  const [first] = (await once(client, 'data')) as [Buffer];
  client.pause();
  assert.ok(first.toString('utf8').startsWith('{"ok":true,"list":"begin"}\n{"id":"m1"'));
  await control.close();
  const cut = await log.waitFor((entry) => entry['msg'] === 'queue list cut off');
  assert.equal(cut['complete'], false);
  client.destroy();
  // Records are read only as the socket takes them: the reader stopped, so did the server (else this loop never ends).
  assert.ok(pulled < 100_000, `${pulled} records read`);
});

/** A stand-in for a server at the spool's control socket that answers a list request with `lines` and closes. */
async function fakeServer(spoolDir: string, lines: readonly string[]): Promise<Server> {
  const server = createServer((socket: Socket) => {
    socket.once('data', () => socket.end(lines.map((line) => `${line}\n`).join('')));
  });
  await new Promise<void>((resolve) => server.listen(controlSocketPath(spoolDir), resolve));
  return server;
}

const BEGIN = '{"ok":true,"list":"begin"}';

test('the client refuses a list that is cut off, short of its count, or stopped by the server', async (t) => {
  const { dir, spoolDir } = await makeFolder();
  t.after(() => removeDir(dir));
  const spool = await openSpool(spoolDir);
  await spool.close();
  const entry = (id: string): string => JSON.stringify(listEntry(newRecord(id, sampleEnvelope(), Date.parse('2026-12-01T00:00:00Z'), 10)));
  const cases: Array<{ lines: string[]; error: RegExp }> = [
    { lines: [BEGIN, entry('m1'), entry('m2')], error: /the queue list from the server was cut off after 2 messages/ },
    { lines: [BEGIN, entry('m1'), '{"ok":true,"list":"end","count":3}'], error: /the server listed 3 messages but 1 arrived/ },
    { lines: [BEGIN, entry('m1'), '{"ok":false,"error":"cannot read the record of message m2"}'], error: /the server stopped the queue list after 1 messages: cannot read the record of message m2/ },
    { lines: [BEGIN, entry('m1'), 'garbage'], error: /malformed line from the server after 1 messages/ },
    { lines: ['garbage'], error: /malformed answer from the server/ },
  ];
  for (const { lines, error } of cases) {
    for (const json of [true, false]) {
      const server = await fakeServer(spoolDir, lines);
      const result = await list(dir, json);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      assert.equal(result.exitCode, 1, `${lines.join('|')}: ${result.stdout}`);
      assert.match(result.stderr, error);
      assert.doesNotMatch(result.stdout, /\]\n$|messages?\n$|queue is empty/, 'no complete-looking list');
    }
  }
  const complete = await fakeServer(spoolDir, [BEGIN, entry('m1'), '{"ok":true,"list":"end","count":1}']);
  const result = await list(dir, true);
  await new Promise<void>((resolve) => complete.close(() => resolve()));
  assert.equal(result.exitCode, 0, result.stderr);
  assert.equal(result.stdout, `[${entry('m1')}]\n`);
});

test('a server that does not know the request (an older one) leaves the list to the read of the log', async (t) => {
  const { dir, spoolDir } = await makeFolder();
  t.after(() => removeDir(dir));
  const spool = await openSpool(spoolDir);
  await commitMessage(spool, 'Subject: a\r\n\r\nx\r\n');
  await spool.close();
  const offline = await list(dir, true);
  const server = await fakeServer(spoolDir, ['{"ok":false,"error":"malformed request"}']);
  const result = await list(dir, true);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.equal(result.exitCode, 0, result.stderr);
  assert.equal(result.stdout, offline.stdout);
  assert.equal((JSON.parse(result.stdout) as unknown[]).length, 1);
  assert.match(result.stderr, /the server does not list the queue \(malformed request\); reading the queue log instead/);
});
