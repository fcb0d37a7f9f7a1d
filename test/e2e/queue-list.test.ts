// `outpost queue list` (and `queue show`) against the real `outpost serve`:
// served from the server's memory over the control socket, byte for byte what
// the offline read of the queue log prints; a list cut off by the server's
// death is an error.

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { fsyncFolder } from '../../src/spool/group-commit.js';
import { encodeLogRecord } from '../../src/spool/log-format.js';
import { spoolPaths } from '../../src/spool/paths.js';
import { QueueIdGenerator } from '../../src/spool/queue-id.js';
import { newRecord } from '../../src/spool/record.js';
import { SegmentLog } from '../../src/spool/segment-log.js';
import type { EnvelopeRecord } from '../../src/spool/types.js';
import { CLI_PATH, makeInstallation, runOutpost, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** A message after attempts: one recipient delivered, one deferred until a day from now (so it stays queued). */
function deferredRecord(id: string, index: number, arrivalMs: number, nextMs: number): EnvelopeRecord {
  const from = index % 50 === 0 ? '' : `sender${index % 7}@example.org`;
  const base = newRecord(
    id,
    { from, recipients: [`r${index}@d${index % 5}.example.net`, `done${index}@example.com`], smtputf8: false, body: '7BIT', client: { address: '192.0.2.1', helo: 'client.example.org', listener: 'mta', tls: null, auth: null } },
    arrivalMs,
    100 + (index % 13) * 1000,
  );
  const at = new Date(arrivalMs + 1000).toISOString();
  const deferred = `451 4.7.1 "greylisted" — try later (${index})`;
  return {
    ...base,
    attempts: 1 + (index % 3),
    nextAttempt: new Date(nextMs).toISOString(),
    recipients: [
      { ...(base.recipients[0] as EnvelopeRecord['recipients'][number]), attempts: 1, lastReply: deferred, history: [{ at, reply: deferred, status: '4.7.1' }] },
      { ...(base.recipients[1] as EnvelopeRecord['recipients'][number]), state: 'delivered', attempts: 1, lastReply: '250 2.0.0 ok', history: [{ at, reply: '250 2.0.0 ok' }] },
    ],
  };
}

/** Writes `count` deferred messages straight into the queue log (the files serve writes), arrivals a second apart. */
async function fillQueue(spoolDir: string, count: number): Promise<void> {
  const paths = spoolPaths(spoolDir);
  await mkdir(paths.logFolder, { recursive: true });
  await mkdir(paths.bodyFolder, { recursive: true });
  const log = new SegmentLog({ folder: paths.logFolder, nextSegment: 1, maxSegmentBytes: 1024 * 1024, folderSync: fsyncFolder });
  const startMs = Date.now() - 2 * 60 * 60 * 1000;
  let fakeNow = startMs;
  const ids = new QueueIdGenerator({ now: () => fakeNow, setTimer: () => ({ cancel() {} }) });
  const body = Buffer.from('Subject: held\r\n\r\nbody\r\n');
  const appends: Promise<unknown>[] = [];
  for (let index = 0; index < count; index += 1) {
    fakeNow = startMs + index * 100;
    const id = ids.next();
    appends.push(log.append(encodeLogRecord({ type: 'new', id, recordJson: JSON.stringify(deferredRecord(id, index, fakeNow, Date.now() + DAY_MS)), body: [body] })));
  }
  await Promise.all(appends);
  await log.close();
}

let installation: TestInstallation | undefined;
let serve: ServeProcess | undefined;

afterEach(async () => {
  if (serve !== undefined) {
    serve.signal('SIGTERM');
    await serve.exit();
    serve = undefined;
  }
  await installation?.remove();
  installation = undefined;
});

const listServed = (line: Record<string, unknown>): boolean => line['msg'] === 'queue list served';

describe('queue list with a server running', () => {
  it('is served by the server, with the same bytes as the read of the queue log', async () => {
    installation = await makeInstallation();
    await fillQueue(installation.spoolDir, 3000);
    const config = ['--config', installation.configFile];
    const offlineJson = await runOutpost(['queue', 'list', '--json', ...config]);
    const offlineTable = await runOutpost(['queue', 'list', ...config]);
    assert.equal(offlineJson.code, 0, offlineJson.stderr);
    assert.equal(offlineTable.code, 0, offlineTable.stderr);
    const listed = JSON.parse(offlineJson.stdout) as { id: string; from: string }[];
    assert.equal(listed.length, 3000);
    assert.equal(listed[0]?.from, '', 'the null sender is listed as ""');
    assert.match(offlineTable.stdout, /\n3000 messages\n$/);
    const shown = listed[1234]?.id ?? '';
    const offlineShow = await runOutpost(['queue', 'show', shown, '--json', ...config]);
    assert.equal(offlineShow.code, 0, offlineShow.stderr);

    serve = await ServeProcess.start(installation.configFile);
    const served = serve;
    const servedJson = await runOutpost(['queue', 'list', '--json', ...config]);
    assert.equal(servedJson.code, 0, servedJson.stderr);
    assert.equal((await served.waitForLog(listServed))['count'], 3000, 'the server answered the list');
    assert.equal(servedJson.stdout, offlineJson.stdout);
    assert.equal(servedJson.stderr, '');

    const logged = served.logLines.length;
    const servedTable = await runOutpost(['queue', 'list', ...config]);
    assert.equal(servedTable.code, 0, servedTable.stderr);
    await served.waitForLog(listServed, 10_000, logged);
    assert.equal(servedTable.stdout, offlineTable.stdout);
    const servedShow = await runOutpost(['queue', 'show', shown, '--json', ...config]);
    assert.deepEqual(servedShow, offlineShow, 'queue show from the server: the same as from the log');
  });

  it('fails with a message, not a short list, when the server dies in the middle of the list', async () => {
    installation = await makeInstallation();
    // Far more than the socket and pipe buffers hold (~300 bytes each, 6 MB): the server is still writing when killed.
    await fillQueue(installation.spoolDir, 20_000);
    serve = await ServeProcess.start(installation.configFile);
    const served = serve;
    const child = spawn(process.execPath, [CLI_PATH, 'queue', 'list', '--json', '--config', installation.configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Take the first piece of output, then stop reading: the CLI stops reading the socket, the server waits to write.
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8'))));
    child.stdout.pause();
    assert.ok(first.startsWith('[{"id":'), first.slice(0, 40));
    await served.kill9();
    serve = undefined;
    assert.equal(served.logLines.some(listServed), false, 'the server had not finished the list');
    const rest: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => rest.push(chunk));
    child.stdout.resume();
    const code = await exited;
    const stdout = first + Buffer.concat(rest).toString('utf8');
    assert.equal(code, 1, stderr);
    assert.match(stderr, /outpost queue: the queue list from the server was cut off after \d+ messages/);
    assert.ok(!stdout.endsWith(']\n'), 'no closing bracket: the output is not a complete list');
    assert.throws(() => JSON.parse(stdout));
  });
});
