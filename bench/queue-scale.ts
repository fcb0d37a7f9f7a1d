// A queue of a million: fills a spool with N deferred messages through the
// queue log's own writer (the files `serve` itself writes), then measures with
// the real binary: serve's start, first 250 over loopback TCP and queue loaded, its RSS,
// /metrics latency, `queue list --json` with and without a server (time, first
// byte, peak RSS of the CLI and of the server meanwhile, entries), and the
// first 250 while `queue flush` of every message runs.
// Usage: node build/bench/queue-scale.js [--messages 1000000] [--domains 10]
//   [--body-bytes 600] [--cli build/src/cli.js] [--dir D] [--keep] [--reuse DIR]
//   [--skip list,show,flush] [--settle-seconds 20]

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fsyncFolder } from '../src/spool/group-commit.js';
import { encodeLogRecord } from '../src/spool/log-format.js';
import { spoolPaths } from '../src/spool/paths.js';
import { QueueIdGenerator } from '../src/spool/queue-id.js';
import { newRecord } from '../src/spool/record.js';
import { DEFAULT_MAX_SEGMENT_BYTES } from '../src/spool/spool.js';
import { SegmentLog } from '../src/spool/segment-log.js';
import type { EnvelopeRecord } from '../src/spool/types.js';

const DEFAULT_CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const DAY_MS = 24 * 60 * 60 * 1000;
const FILL_BATCH = 20_000;

interface Options {
  readonly messages: number;
  readonly domains: number;
  readonly bodyBytes: number;
  readonly cli: string;
  readonly skip: ReadonlySet<string>;
}

function report(label: string, value: string): void {
  process.stdout.write(`${label.padEnd(52)} ${value}\n`);
}

function load(): string {
  return loadavg().map((value) => value.toFixed(2)).join(' ');
}

/** A deferred message as the scheduler leaves it after one failed attempt: next attempt a day away. */
function deferredRecord(id: string, index: number, options: Options, arrivalMs: number, nextMs: number): EnvelopeRecord {
  const domain = `d${index % options.domains}.example.net`;
  const base = newRecord(
    id,
    { from: `sender${index % 97}@example.org`, recipients: [`rcpt${index}@${domain}`], smtputf8: false, body: '7BIT', client: { address: '192.0.2.1', helo: 'bench.example.org', listener: 'mta', tls: null, auth: null } },
    arrivalMs,
    options.bodyBytes,
  );
  const at = new Date(arrivalMs + 1000).toISOString();
  const reply = `451 4.4.3 cannot resolve the MX of ${domain}: servfail`;
  return {
    ...base,
    attempts: 1,
    nextAttempt: new Date(nextMs).toISOString(),
    recipients: base.recipients.map((recipient) => ({ ...recipient, attempts: 1, lastReply: reply, history: [{ at, reply, status: '4.4.3' }] })),
  };
}

/** Appends N `new` records with inline bodies through the queue log writer, FILL_BATCH at a time (one group commit each). */
async function fillSpool(spoolDir: string, options: Options): Promise<void> {
  const paths = spoolPaths(spoolDir);
  await mkdir(paths.logFolder, { recursive: true });
  await mkdir(paths.bodyFolder, { recursive: true });
  const log = new SegmentLog({ folder: paths.logFolder, nextSegment: 1, maxSegmentBytes: DEFAULT_MAX_SEGMENT_BYTES, folderSync: fsyncFolder });
  const startMs = Date.now() - 6 * 60 * 60 * 1000;
  let fakeNow = startMs;
  const ids = new QueueIdGenerator({ now: () => fakeNow, setTimer: () => ({ cancel() {} }) });
  const body = Buffer.from(`Subject: scale\r\nFrom: sender@example.org\r\n\r\n${'x'.repeat(Math.max(0, options.bodyBytes - 48))}\r\n`);
  const nextMs = Date.now() + DAY_MS;
  const began = performance.now();
  for (let done = 0; done < options.messages; ) {
    const count = Math.min(FILL_BATCH, options.messages - done);
    const appends: Promise<unknown>[] = [];
    for (let i = 0; i < count; i += 1) {
      const index = done + i;
      fakeNow = startMs + Math.floor((index * 6 * 60 * 60 * 1000) / options.messages);
      const id = ids.next();
      const record = deferredRecord(id, index, { ...options, bodyBytes: body.length }, fakeNow, nextMs);
      appends.push(log.append(encodeLogRecord({ type: 'new', id, recordJson: JSON.stringify(record), body: [body] })));
    }
    await Promise.all(appends);
    done += count;
    if (done % 200_000 === 0) process.stderr.write(`filled ${done}\n`);
  }
  await log.close();
  report('fill (queue log writer)', `${options.messages} messages in ${((performance.now() - began) / 1000).toFixed(1)} s`);
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  return typeof address === 'object' && address !== null ? address.port : 9;
}

async function writeConfig(dir: string, spoolDir: string): Promise<string> {
  const configFile = join(dir, 'outpost.yaml');
  const dnsPort = await closedPort();
  await writeFile(join(dir, 'domains'), 'example.org\n');
  await writeFile(
    configFile,
    [
      'hostname: mx.example.org',
      'domains: domains',
      'listen:',
      '  - { address: 127.0.0.1, port: 0, mode: mta }',
      `spoolDir: ${spoolDir}`,
      'log: { level: info }',
      'http: { address: 127.0.0.1, port: 0 }',
      // Nothing answers: every delivery attempt fails at once (transient) and stays queued.
      `dns: { servers: ["127.0.0.1:${dnsPort}"], timeout: 1s }`,
      '',
    ].join('\n'),
  );
  return configFile;
}

/** RSS and peak RSS (KiB) of a running process, from /proc. */
async function memoryOf(pid: number): Promise<{ rssKiB: number; peakKiB: number } | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssKiB: field('VmRSS'), peakKiB: field('VmHWM') };
  } catch {
    return undefined;
  }
}

function mib(kib: number): string {
  return `${(kib / 1024).toFixed(0)} MiB`;
}

class Serve {
  readonly lines: Record<string, unknown>[] = [];
  private buffer = '';
  private waiters: Array<() => void> = [];
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      this.buffer += text;
      let newline: number;
      while ((newline = this.buffer.indexOf('\n')) !== -1) {
        const line = this.buffer.slice(0, newline);
        this.buffer = this.buffer.slice(newline + 1);
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.lines.push({ msg: 'non-json', line });
        }
      }
      for (const waiter of this.waiters.splice(0)) waiter();
    });
    child.stderr?.setEncoding('utf8').on('data', (text: string) => process.stderr.write(`[serve] ${text}`));
    this.exited = new Promise((done) => child.on('exit', (code) => done(code)));
  }

  async waitFor(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    for (;;) {
      const found = this.lines.find(match);
      if (found !== undefined) return found;
      if (this.child.exitCode !== null) throw new Error(`serve exited (${this.child.exitCode})`);
      await new Promise<void>((done) => this.waiters.push(done));
    }
  }
}

function startServe(cli: string, configFile: string): Serve {
  return new Serve(spawn(process.execPath, [cli, 'serve', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** A minimal SMTP client: one command at a time, waits for the last line of each reply (no timeout: we measure). */
class SmtpDialog {
  private text = '';
  private waiter: (() => void) | undefined;
  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.text += chunk;
      this.waiter?.();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<SmtpDialog> {
    return new Promise((done, fail) => {
      const socket = connect({ port, host: '127.0.0.1' }, () => done(new SmtpDialog(socket)));
      socket.once('error', fail);
    });
  }

  async reply(): Promise<string> {
    for (;;) {
      const match = /^(\d{3}) .*\r\n/m.exec(this.text);
      if (match !== null) {
        const end = match.index + match[0].length;
        const reply = this.text.slice(0, end);
        this.text = this.text.slice(end);
        return reply;
      }
      await new Promise<void>((done) => (this.waiter = done));
    }
  }

  async send(line: string): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  close(): void {
    this.socket.end();
  }
}

/** One message over a new session; resolves with the final reply's code line and the ms until it. */
async function sendOne(port: number, tag: string): Promise<{ reply: string; ms: number }> {
  const began = performance.now();
  const smtp = await SmtpDialog.open(port);
  await smtp.reply();
  await smtp.send('EHLO bench.example.net');
  await smtp.send('MAIL FROM:<app@example.org>');
  await smtp.send(`RCPT TO:<${tag}@d0.example.net>`);
  await smtp.send('DATA');
  const reply = await smtp.send(`Subject: ${tag}\r\n\r\nhello\r\n.`);
  const ms = performance.now() - began;
  await smtp.send('QUIT').catch(() => '');
  smtp.close();
  return { reply: reply.trim(), ms };
}

async function scrapeTimes(port: number, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const began = performance.now();
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    await response.text();
    times.push(performance.now() - began);
  }
  return times.sort((a, b) => a - b);
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** `queue list --json` under /usr/bin/time: wall time, peak RSS, bytes and entries (counted as the output streams). */
async function timeQueueList(cli: string, configFile: string): Promise<{ seconds: number; peakKiB: number; bytes: number; entries: number; code: number | null; firstByteMs: number }> {
  const began = performance.now();
  const child = spawn('/usr/bin/time', ['-f', 'PEAK_KIB %M', process.execPath, cli, 'queue', 'list', '--json', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let bytes = 0;
  let entries = 0;
  let firstByteMs = NaN;
  let tail = '';
  child.stdout.setEncoding('latin1').on('data', (chunk: string) => {
    if (bytes === 0) firstByteMs = performance.now() - began;
    bytes += chunk.length;
    const text = tail + chunk;
    entries += text.split('{"id":"').length - 1;
    tail = text.slice(-8);
    entries -= tail.split('{"id":"').length - 1;
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  entries += tail.split('{"id":"').length - 1;
  const peakKiB = Number(/PEAK_KIB (\d+)/.exec(stderr)?.[1] ?? NaN);
  if (code !== 0) process.stderr.write(stderr);
  return { seconds: (performance.now() - began) / 1000, peakKiB, bytes, entries, code, firstByteMs };
}

function runCli(cli: string, args: readonly string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (out += text));
    child.on('close', (code) => done({ code, out }));
  });
}

async function stopServe(serve: Serve): Promise<number> {
  const began = performance.now();
  serve.child.kill('SIGTERM');
  const timer = setTimeout(() => serve.child.kill('SIGKILL'), 120_000);
  await serve.exited;
  clearTimeout(timer);
  return (performance.now() - began) / 1000;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '1000000' },
      domains: { type: 'string', default: '10' },
      'body-bytes': { type: 'string', default: '600' },
      cli: { type: 'string', default: DEFAULT_CLI },
      dir: { type: 'string' },
      reuse: { type: 'string' },
      keep: { type: 'boolean', default: false },
      skip: { type: 'string', default: '' },
      'settle-seconds': { type: 'string', default: '20' },
    },
  });
  const options: Options = {
    messages: Number(values.messages),
    domains: Number(values.domains),
    bodyBytes: Number(values['body-bytes']),
    cli: resolve(values.cli),
    skip: new Set(values.skip.split(',').filter((name) => name !== '')),
  };
  const dir = values.reuse ?? (await mkdtemp(join(values.dir ?? tmpdir(), 'outpost-scale-')));
  const spoolDir = join(dir, 'spool');
  report('load average at start', load());
  report('cli', options.cli);
  if (values.reuse === undefined || !existsSync(spoolDir)) await fillSpool(spoolDir, options);
  const configFile = await writeConfig(dir, spoolDir);
  try {
    // 1. Start, first 250 on a new session as soon as the SMTP listener is up.
    const began = performance.now();
    const serve = startServe(options.cli, configFile);
    const listening = await serve.waitFor((line) => line['msg'] === 'listening');
    const listenedS = (performance.now() - began) / 1000;
    const port = Number(listening['port']);
    const first = await sendOne(port, 'first');
    const firstS = (performance.now() - began) / 1000;
    await serve.waitFor((line) => line['msg'] === 'outpost started');
    const startedS = (performance.now() - began) / 1000;
    // The queue on disk is replayed in the background since the start accepts meanwhile: loaded once the scheduler starts.
    let scheduled = false;
    const loaded = serve.waitFor((line) => line['msg'] === 'scheduler started').then(() => (scheduled = true));
    const duringReplay: number[] = [];
    while (!scheduled && duringReplay.length < 20) {
      duringReplay.push((await sendOne(port, `replay-${duringReplay.length}`)).ms);
      await new Promise((done) => setTimeout(done, 250));
    }
    await loaded;
    const scheduledS = (performance.now() - began) / 1000;
    report('serve: SMTP listening after', `${listenedS.toFixed(2)} s`);
    report('serve: first 250 after start (new session)', `${firstS.toFixed(2)} s (${first.reply.slice(0, 40)}; session ${first.ms.toFixed(0)} ms)`);
    report('serve: "outpost started" after', `${startedS.toFixed(2)} s`);
    report('serve: queue loaded, "scheduler started" after', `${scheduledS.toFixed(2)} s`);
    report('sessions before that, one every 0.25 s, 250 after (ms)', duringReplay.map((ms) => ms.toFixed(0)).join(' ') || '(none)');
    const pid = serve.child.pid ?? 0;
    const afterStart = await memoryOf(pid);
    if (afterStart !== undefined) report('serve: RSS after start (peak so far)', `${mib(afterStart.rssKiB)} (${mib(afterStart.peakKiB)})`);
    const httpLine = await serve.waitFor((line) => line['msg'] === 'http listening');
    const httpPort = Number(httpLine['port']);
    // 2. /metrics latency.
    const scrapes = await scrapeTimes(httpPort, 40);
    report('/metrics latency, 40 scrapes', `median ${quantile(scrapes, 0.5).toFixed(1)} ms, p99 ${quantile(scrapes, 0.99).toFixed(1)} ms`);
    await new Promise((done) => setTimeout(done, Number(values['settle-seconds']) * 1000));
    const settled = await memoryOf(pid);
    if (settled !== undefined) report(`serve: RSS after ${values['settle-seconds']} s more (peak)`, `${mib(settled.rssKiB)} (${mib(settled.peakKiB)})`);
    const second = await sendOne(port, 'second');
    report('serve: a 250 once settled', `${second.ms.toFixed(0)} ms`);
    // 3. queue list with the server running.
    if (!options.skip.has('list')) {
      // The server's peak RSS from here on: "5" resets VmHWM to the current RSS (Linux 4.0+).
      const peakReset = await writeFile(`/proc/${pid}/clear_refs`, '5').then(() => true, () => false);
      let listing = true;
      const listDone = timeQueueList(options.cli, configFile).finally(() => (listing = false));
      // New mail while the server lists: a session every 0.5 s until the list is done.
      const probes: number[] = [];
      while (listing && probes.length < 40) {
        probes.push((await sendOne(port, `during-list-${probes.length}`)).ms);
        await new Promise((done) => setTimeout(done, 500));
      }
      const listed = await listDone;
      report('during that list: sessions, 250 after (ms)', `${probes.length}: ${probes.map((ms) => ms.toFixed(0)).join(' ')}`);
      const served = serve.lines.find((line) => line['msg'] === 'queue list served');
      if (served !== undefined) report('serve: answered the list itself (its log)', `${String(served['count'])} messages in ${String(served['ms'])} ms`);
      const peak = await memoryOf(pid);
      if (peak !== undefined && peakReset) report('serve: peak RSS during that list', mib(peak.peakKiB));
      report('queue list --json, server running', `${listed.seconds.toFixed(1)} s, first byte ${listed.firstByteMs.toFixed(0)} ms, peak RSS ${mib(listed.peakKiB)}, ${listed.entries} entries, ${(listed.bytes / 1e6).toFixed(0)} MB, exit ${listed.code}`);
      const during = await memoryOf(pid);
      if (during !== undefined) report('serve: RSS after that list (peak)', `${mib(during.rssKiB)} (${mib(during.peakKiB)})`);
    }
    const shownId = /queued as (\S+)/.exec(first.reply)?.[1];
    const timeShow = async (label: string): Promise<void> => {
      if (shownId === undefined || options.skip.has('show')) return;
      const showBegan = performance.now();
      const shown = await runCli(options.cli, ['queue', 'show', shownId, '--json', '--config', configFile]);
      report(label, `${((performance.now() - showBegan) / 1000).toFixed(2)} s (exit ${shown.code})`);
    };
    await timeShow('queue show ID --json, server running');
    // 4. Flush of every message while new mail arrives.
    if (!options.skip.has('flush')) {
      const flushBegan = performance.now();
      const flush = runCli(options.cli, ['queue', 'flush', '--config', configFile]);
      const probes: number[] = [];
      let flushS: number | undefined;
      void flush.then(() => (flushS = (performance.now() - flushBegan) / 1000));
      for (let i = 0; i < 10; i += 1) {
        const sent = await sendOne(port, `during-flush-${i}`);
        probes.push(sent.ms);
        await new Promise((done) => setTimeout(done, 500));
      }
      const flushed = await flush;
      report('queue flush (all): command answered after', `${(flushS ?? (performance.now() - flushBegan) / 1000).toFixed(2)} s (exit ${flushed.code})`);
      report('during flush: 10 sessions, 250 after (ms)', probes.map((ms) => ms.toFixed(0)).join(' '));
      const afterFlush = await memoryOf(pid);
      if (afterFlush !== undefined) report('serve: RSS during the flush (peak)', `${mib(afterFlush.rssKiB)} (${mib(afterFlush.peakKiB)})`);
      const metricsDuring = await scrapeTimes(httpPort, 10);
      report('/metrics latency during the flush, 10 scrapes', `median ${quantile(metricsDuring, 0.5).toFixed(1)} ms, max ${quantile(metricsDuring, 1).toFixed(1)} ms`);
    }
    const stopS = await stopServe(serve);
    report('serve: SIGTERM to exit', `${stopS.toFixed(1)} s`);
    await timeShow('queue show ID --json, no server');
    // 5. queue list with no server.
    if (!options.skip.has('list')) {
      const listed = await timeQueueList(options.cli, configFile);
      report('queue list --json, no server', `${listed.seconds.toFixed(1)} s, first byte ${listed.firstByteMs.toFixed(0)} ms, peak RSS ${mib(listed.peakKiB)}, ${listed.entries} entries, ${(listed.bytes / 1e6).toFixed(0)} MB, exit ${listed.code}`);
    }
    report('load average at end', load());
  } finally {
    if (!values.keep && values.reuse === undefined) await rm(dir, { recursive: true, force: true });
    else report('spool kept in', dir);
  }
}

await main();
