// Would BDAT help outbound delivery? One session sends N messages one after
// another, the way outpost's client does (each message's outcome before the
// next), either with pipelined DATA (MAIL+RCPT+DATA, wait for 354, the
// dot-stuffed body and ".", wait) or with BDAT LAST (MAIL+RCPT+BDAT and the
// body in one write, wait): 2 round trips per message against 1. The receiver
// is outpost's own listener (it offers CHUNKING; Postfix's smtp-sink does not),
// storing into a discarding sink or a real fsync'ing spool; a relay in front of
// it can add one-way latency to model a remote MTA. Prints messages/s; no asserts.
// Each receiver runs in a child process of its own.
// Usage: node build/bench/outbound-bdat.js [--messages N] [--runs R] [--delays 0,5] [--size BYTES]

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { systemClock } from '../src/core/clock.js';
import { silentLogger } from '../src/observability/logger.js';
import { SmtpServer } from '../src/server/smtp-server.js';
import { DotStuffer } from '../src/smtp/data-decoder.js';
import { Spool } from '../src/spool/spool.js';
import type { EnvelopeRecord, MessageSink, NewEnvelope } from '../src/spool/types.js';

type Mode = 'data' | 'bdat';

/** Takes and forgets every message, like smtp-sink: what is left is the protocol. */
const discardSink: MessageSink = {
  async begin() {
    return {
      id: 'DISCARD',
      body: new Writable({ write: (_chunk, _encoding, callback) => callback() }),
      commit: async (envelope: NewEnvelope): Promise<EnvelopeRecord> => ({
        version: 1, id: 'DISCARD', from: envelope.from, arrival: '', size: 0, smtputf8: envelope.smtputf8, body: envelope.body, client: envelope.client,
        nextAttempt: '', attempts: 0, delayWarningSent: false, recipients: [],
      }),
      rewriteBody: async () => Promise.reject(new Error('the bench sends no long lines')),
      abort: async () => undefined,
    };
  },
};

async function startReceiver(sink: MessageSink): Promise<{ server: SmtpServer; port: number }> {
  const server = new SmtpServer({
    hostname: 'sink.example.net',
    listeners: [{ address: '127.0.0.1', port: 0, mode: 'mta' }],
    limits: { maxMessageBytes: 64 * 1024 * 1024, maxRecipients: 100, maxConnections: 10, maxConnectionsPerClient: 10, idleTimeoutMs: 300_000, minDataRateBytesPerSecond: 1, minFreeBytes: 0 },
    spool: sink,
    clock: systemClock,
    logger: silentLogger(),
    isLocalDomain: () => true,
    isTrusted: () => true,
  });
  const [listener] = await server.start();
  if (listener === undefined) throw new Error('no listener');
  return { server, port: listener.port };
}

/** A TCP relay that holds every segment `delayMs` in each direction (RTT = 2 x delayMs), in order. */
async function startDelayRelay(targetPort: number, delayMs: number): Promise<{ server: Server; port: number }> {
  const server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    const pipe = (from: Socket, to: Socket): void => {
      from.on('data', (chunk: Buffer) => setTimeout(() => to.write(chunk), delayMs));
      from.on('end', () => setTimeout(() => to.end(), delayMs));
      from.on('error', () => to.destroy());
    };
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no relay port');
  return { server, port: address.port };
}

/** A minimal pipelining client: raw writes, replies counted as they complete. */
class Session {
  private text = '';
  private waiting: { count: number; resolve: (codes: number[]) => void } | undefined;
  private codes: number[] = [];

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.text += chunk.toString('latin1');
      for (let end = this.text.indexOf('\r\n'); end !== -1; end = this.text.indexOf('\r\n')) {
        const line = this.text.slice(0, end);
        this.text = this.text.slice(end + 2);
        if (line.charAt(3) !== '-') this.codes.push(Number(line.slice(0, 3)));
      }
      this.wake();
    });
  }

  static open(port: number): Promise<Session> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(new Session(socket)));
      socket.once('error', reject);
    });
  }

  /** Writes, then waits for `count` more replies; fails unless they are all in `ok`. */
  async exchange(data: Buffer | string, count: number, ok: readonly number[] = [250]): Promise<void> {
    if (data.length > 0) this.socket.write(data);
    const codes = await new Promise<number[]>((resolve) => {
      this.waiting = { count, resolve };
      this.wake();
    });
    if (!codes.every((code) => ok.includes(code))) throw new Error(`unexpected replies ${codes.join(',')}`);
  }

  close(): void {
    this.socket.end('QUIT\r\n');
  }

  private wake(): void {
    if (this.waiting === undefined || this.codes.length < this.waiting.count) return;
    const { count, resolve } = this.waiting;
    this.waiting = undefined;
    resolve(this.codes.splice(0, count));
  }
}

function sampleMessage(sizeBytes: number): Buffer {
  const lines = ['From: app@example.org', 'To: user@example.net', 'Subject: outbound bdat bench', 'Message-ID: <bench@example.org>', ''];
  for (let k = 0; lines.join('\r\n').length < sizeBytes; k++) lines.push(k % 25 === 0 ? '.a line that needs a stuffing dot' : 'the quick brown fox jumps over the lazy dog, again and again');
  return Buffer.from(`${lines.join('\r\n')}\r\n`, 'latin1');
}

/** One session, `count` messages in a row; returns messages/s. */
async function run(port: number, mode: Mode, message: Buffer, count: number): Promise<number> {
  const session = await Session.open(port);
  await session.exchange('', 1, [220]);
  await session.exchange('EHLO bench.example.org\r\n', 1);
  const envelope = 'MAIL FROM:<app@example.org>\r\nRCPT TO:<user@example.net>\r\n';
  const startMs = performance.now();
  for (let k = 0; k < count; k++) {
    if (mode === 'bdat') {
      await session.exchange(Buffer.concat([Buffer.from(`${envelope}BDAT ${message.length} LAST\r\n`), message]), 3);
    } else {
      await session.exchange(`${envelope}DATA\r\n`, 3, [250, 354]);
      const stuffer = new DotStuffer();
      await session.exchange(Buffer.concat([...stuffer.push(message), Buffer.from('.\r\n')]), 1);
    }
  }
  const perSecond = count / ((performance.now() - startMs) / 1000);
  session.close();
  return perSecond;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** `--serve discard|spool`: the receiver in a process of its own; prints its port, stops when stdin closes. */
async function serve(kind: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-'));
  const spool = kind === 'spool' ? await Spool.open({ dir, clock: systemClock, logger: silentLogger(), recover: true }) : undefined;
  const receiver = await startReceiver(spool ?? discardSink);
  process.stdout.write(`${JSON.stringify({ port: receiver.port })}\n`);
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.once('end', resolve));
  await receiver.server.stop(1000);
  await spool?.close();
  await rm(dir, { recursive: true, force: true });
}

function spawnReceiver(kind: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', kind], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout?.setEncoding('utf8').once('data', (line: string) => resolve({ child, port: (JSON.parse(line) as { port: number }).port }));
    child.once('exit', (code) => reject(new Error(`receiver exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '1000' },
      runs: { type: 'string', default: '3' },
      delays: { type: 'string', default: '0,5' },
      size: { type: 'string', default: '2048' },
      serve: { type: 'string' },
    },
  });
  if (values.serve !== undefined) return serve(values.serve);
  const runs = Number(values.runs);
  const message = sampleMessage(Number(values.size));
  const receivers = { discard: await spawnReceiver('discard'), spool: await spawnReceiver('spool') };
  process.stdout.write(`message ${message.length} octets, one session, ${runs} alternating runs per cell (median msg/s)\n`);
  process.stdout.write('receiver  one-way delay  messages  DATA msg/s  BDAT msg/s  BDAT/DATA\n');
  for (const delayMs of values.delays.split(',').map(Number)) {
    for (const [name, receiver] of Object.entries(receivers)) {
      const relay = delayMs > 0 ? await startDelayRelay(receiver.port, delayMs) : undefined;
      const port = relay?.port ?? receiver.port;
      const count = delayMs > 0 ? Math.max(20, Math.round(Number(values.messages) / (10 * delayMs))) : Number(values.messages);
      await run(port, 'data', message, Math.min(count, 50)); // warm-up
      await run(port, 'bdat', message, Math.min(count, 50));
      const rates: Record<Mode, number[]> = { data: [], bdat: [] };
      for (let r = 0; r < runs; r++) {
        for (const mode of r % 2 === 0 ? (['data', 'bdat'] as const) : (['bdat', 'data'] as const)) rates[mode].push(await run(port, mode, message, count));
      }
      relay?.server.close();
      const [data, bdat] = [median(rates.data), median(rates.bdat)];
      process.stdout.write(`${name.padEnd(8)}  ${`${delayMs} ms`.padStart(13)}  ${String(count).padStart(8)}  ${data.toFixed(0).padStart(10)}  ${bdat.toFixed(0).padStart(10)}  ${(bdat / data).toFixed(2).padStart(9)}\n`);
    }
  }
  for (const { child } of Object.values(receivers)) child.stdin?.end();
}

await main();
