// serve with a large queue on disk (50,000 deferred messages): the SMTP
// listener answers 250 (after fsync) while the queue log is still being
// replayed; the message is delivered once the replay is over; kill -9 and
// SIGTERM during the replay lose nothing. The replay is held at its first
// segment, a named pipe: opening it blocks until the test opens its other end.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { systemClock } from '../../src/core/clock.js';
import { segmentFileName } from '../../src/spool/segment-log.js';
import { Spool } from '../../src/spool/spool.js';
import { FakeMta } from '../helpers/fake-mta.js';
import { makeInstallation, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';
import { fillQueueLog } from '../helpers/queue-fill.js';
import { SmtpTestClient } from '../helpers/smtp-client.js';

const QUEUED = 50_000;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Guards for a loaded machine, not measurements. */
const START_WAIT_MS = 60_000;
const TAG = /^X-Replay-Test: (\S+)\r?$/m;

interface Setup {
  readonly sink: FakeMta;
  readonly installation: TestInstallation;
  readonly pipe: string;
}

/** 50,000 queued messages due in a day (segments 2..n) behind a named pipe as segment 1. */
async function setup(): Promise<Setup> {
  const sink = await FakeMta.start();
  const installation = await makeInstallation({ extraYaml: `delivery: { routes: { sink.test: "127.0.0.1:${sink.port}" }, retry: [1s] }` });
  const nowMs = Date.now();
  await fillQueueLog(installation.spoolDir, { count: QUEUED, arrivalMs: nowMs - DAY_MS, nextAttemptMs: nowMs + DAY_MS, firstSegment: 2 });
  const pipe = join(installation.spoolDir, 'log', segmentFileName(1));
  await new Promise<void>((resolve, reject) => {
    const child = spawn('mkfifo', [pipe], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`mkfifo exited ${code}`))));
  });
  return { sink, installation, pipe };
}

/** Lets a replay waiting on the pipe go on (it reads it as an empty segment). */
async function releaseReplay(pipe: string): Promise<void> {
  const writer = await open(pipe, 'w');
  await writer.close();
}

/** One message to `tag`@sink.test over a new session; resolves with its queue id once answered 250. */
async function sendTagged(port: number, tag: string): Promise<string> {
  const client = await SmtpTestClient.connect(port);
  try {
    await client.reply();
    await client.command('EHLO replay.example.net');
    await client.command('MAIL FROM:<app@example.org>');
    assert.equal((await client.command(`RCPT TO:<${tag}@sink.test>`)).code, 250);
    assert.equal((await client.command('DATA')).code, 354);
    client.write(`Subject: ${tag}\r\nX-Replay-Test: ${tag}\r\n\r\nsent during the replay\r\n.\r\n`);
    const reply = await client.reply();
    assert.match(reply.text, /^250 2\.0\.0 Ok: queued as (\w+)/);
    await client.command('QUIT');
    return /queued as (\w+)/.exec(reply.text)?.[1] ?? '';
  } finally {
    client.close();
  }
}

function tagsAt(sink: FakeMta): string[] {
  return sink.messages.map((message) => TAG.exec(message.data.toString('latin1'))?.[1] ?? '?').sort();
}

function logged(serve: ServeProcess, message: string): boolean {
  return serve.logLines.some((line) => line['msg'] === message);
}

describe('serve with 50,000 messages queued', () => {
  it('answers 250 while the queue log is replayed and delivers the message once the replay is over', async () => {
    const { sink, installation, pipe } = await setup();
    try {
      const serve = await ServeProcess.start(installation.configFile, {}, START_WAIT_MS);
      await sendTagged(serve.port(), 'during');
      assert.equal(logged(serve, 'spool recovered'), false, 'the replay is still held');
      assert.equal(logged(serve, 'scheduler started'), false);
      assert.equal(sink.messages.length, 0, 'nothing is delivered before the queue is loaded');
      // A scrape does not wait for the replay: the queue gauges are unknown (NaN) until it ends.
      const http = await serve.waitForLog((line) => line['msg'] === 'http listening');
      const loading = await (await fetch(`http://127.0.0.1:${String(http['port'])}/metrics`)).text();
      assert.match(loading, /^outpost_queue_messages NaN$/m);
      await releaseReplay(pipe);
      const started = await serve.waitForLog((line) => line['msg'] === 'scheduler started', START_WAIT_MS);
      assert.equal(started['messages'], QUEUED + 1);
      const loaded = await (await fetch(`http://127.0.0.1:${String(http['port'])}/metrics`)).text();
      // Known now: the deferred ones, and the new one unless it has just been delivered.
      assert.match(loaded, new RegExp(`^outpost_queue_messages (${QUEUED}|${QUEUED + 1})$`, 'm'));
      await sink.waitForMessages(1);
      assert.deepEqual(tagsAt(sink), ['during']);
      serve.signal('SIGTERM');
      assert.equal(await serve.exit(), 0);
      assert.deepEqual(tagsAt(sink), ['during'], 'the 50,000 deferred messages stay deferred');
    } finally {
      await sink.close();
      await installation.remove();
    }
  });

  it('loses nothing answered 250 when killed (-9) or stopped (SIGTERM) during the replay', async () => {
    const { sink, installation, pipe } = await setup();
    try {
      const killed = await ServeProcess.start(installation.configFile, {}, START_WAIT_MS);
      const first = await sendTagged(killed.port(), 'before-kill');
      assert.equal(logged(killed, 'spool recovered'), false);
      await killed.kill9();

      // The pipe holds this replay too; SIGTERM while it waits ends the replay and serve cleanly.
      const stopped = await ServeProcess.start(installation.configFile, {}, START_WAIT_MS);
      const second = await sendTagged(stopped.port(), 'before-term');
      stopped.signal('SIGTERM');
      await stopped.waitForLog((line) => line['msg'] === 'shutting down', START_WAIT_MS);
      await releaseReplay(pipe);
      assert.equal(await stopped.exit(START_WAIT_MS), 0);
      assert.ok(logged(stopped, 'stopped'));
      assert.equal(logged(stopped, 'scheduler started'), false);
      assert.equal(sink.messages.length, 0);

      await unlink(pipe);
      const spool = await Spool.open({ dir: installation.spoolDir, clock: systemClock, logger: pino({ level: 'silent' }), recover: false });
      assert.equal(spool.summary().messages, QUEUED + 2);
      assert.equal((await spool.read(first))?.recipients[0]?.address, 'before-kill@sink.test');
      assert.equal((await spool.read(second))?.recipients[0]?.address, 'before-term@sink.test');
      await spool.close();

      const last = await ServeProcess.start(installation.configFile, {}, START_WAIT_MS);
      await sink.waitForMessages(2);
      await last.waitForLog((line) => line['msg'] === 'scheduler started', START_WAIT_MS);
      last.signal('SIGTERM');
      assert.equal(await last.exit(), 0);
      assert.deepEqual(tagsAt(sink), ['before-kill', 'before-term'], 'each delivered once');
    } finally {
      await sink.close();
      await installation.remove();
    }
  });

  it('stops with exit 1 when a segment on disk cannot be read (the replay fails after the start)', async () => {
    const installation = await makeInstallation();
    try {
      // A folder where a segment file should be: opening it works, reading it fails (EISDIR).
      await mkdir(join(installation.spoolDir, 'log', segmentFileName(1)), { recursive: true });
      const serve = await ServeProcess.start(installation.configFile, {}, START_WAIT_MS);
      const fatal = await serve.waitForLog((line) => line['msg'] === 'queue not loaded', START_WAIT_MS);
      assert.match(String((fatal['err'] as { message?: unknown } | undefined)?.message), /cannot open spool/);
      assert.equal(await serve.exit(START_WAIT_MS), 1);
      assert.equal(logged(serve, 'scheduler started'), false);
    } finally {
      await installation.remove();
    }
  });
});
