// Interop of the outbound client with real servers from Debian: Postfix's
// smtp-sink (package postfix) and aiosmtpd (package python3-aiosmtpd), each
// started on a loopback port. Skipped outside CI when a package is missing.

import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixedPlan, outboundMessage, outcomeOf, runJob, transportFor } from './fixtures.js';

const SMTP_SINK = '/usr/sbin/smtp-sink';
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const inCi = process.env['CI'] === 'true';
const children: ChildProcess[] = [];
const folders: string[] = [];

after(async () => {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/**
 * Resolves once something accepts connections on the port (the child has started). For
 * smtp-sink, which prints nothing when it is ready: a bounded connect poll is all there is.
 */
async function listening(port: number, child: ChildProcess): Promise<void> {
  for (let tries = 0; tries < 200; tries++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on port ${port}`);
}

function aiosmtpdInstalled(): boolean {
  return existsSync('/usr/lib/python3/dist-packages/aiosmtpd');
}

const body = 'From: sender@origin.test\r\nTo: a@sink.test\r\nSubject: interop check\r\n\r\nhello\r\n.dot line\r\n';

it('delivers to Postfix smtp-sink', { skip: !existsSync(SMTP_SINK) && !inCi ? 'postfix (smtp-sink) not installed' : false }, async () => {
  const folder = await mkdtemp(join(tmpdir(), 'outpost-sink-'));
  folders.push(folder);
  await chmod(folder, 0o777);
  const port = await freePort();
  const asRoot = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
  const child = spawn(SMTP_SINK, [...asRoot, '-d', join(folder, 'message.'), `127.0.0.1:${port}`, '10'], { stdio: 'ignore' });
  children.push(child);
  await listening(port, child);
  const { transport } = transportFor(fixedPlan({ host: 'sink.test', addresses: ['127.0.0.1'], port }));
  const reports = await runJob(transport, 'sink.test', [outboundMessage('m1', ['a@sink.test', 'b@sink.test'], body)]);
  assert.equal(outcomeOf(reports, 'm1', 'a@sink.test').kind, 'delivered');
  assert.equal(outcomeOf(reports, 'm1', 'b@sink.test').kind, 'delivered');
  const dumps = await readdir(folder);
  assert.equal(dumps.length, 1);
  const dump = await readFile(join(folder, dumps[0] ?? ''), 'utf8');
  assert.match(dump, /Subject: interop check\r?\n/);
  assert.match(dump, /\n\.dot line\r?\n/);
});

it('delivers to an aiosmtpd server', { skip: !aiosmtpdInstalled() && !inCi ? 'python3-aiosmtpd not installed' : false }, async () => {
  const port = await freePort();
  // -d: it logs "Server is listening on HOST:PORT" (stderr) once its socket is bound.
  const child = spawn(PYTHON, ['-u', '-m', 'aiosmtpd', '-n', '-d', '-l', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  await new Promise<void>((resolve, reject) => {
    let log = '';
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      log += text;
      if (log.includes(`Server is listening on 127.0.0.1:${port}`)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`aiosmtpd exited with ${code}: ${log}`)));
  });
  const { transport } = transportFor(fixedPlan({ host: 'aio.test', addresses: ['127.0.0.1'], port }));
  const reports = await runJob(transport, 'aio.test', [outboundMessage('m1', ['a@aio.test'], body)]);
  assert.equal(outcomeOf(reports, 'm1', 'a@aio.test').kind, 'delivered');
  const endMarker = '------------ END MESSAGE ------------';
  while (!output.includes(endMarker)) await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  assert.match(output, /Subject: interop check/);
  assert.match(output, /\n\.dot line\n/);
});
