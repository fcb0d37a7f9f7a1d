// Micro-benchmark of durable spool commits: C concurrent "sessions" each
// commit small messages until N are stored; prints messages/s and how many
// fdatasyncs of the queue log group commit needed. Usage: node build/bench/spool-commit.js [--messages N] [--concurrency C] [--dir D]

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { systemClock } from '../src/core/clock.js';
import { silentLogger } from '../src/observability/logger.js';
import { Spool } from '../src/spool/spool.js';
import type { NewEnvelope } from '../src/spool/types.js';

const ENVELOPE: NewEnvelope = {
  from: 'sender@example.org',
  recipients: ['rcpt@example.net'],
  smtputf8: false,
  body: '7BIT',
  client: { address: '192.0.2.1', helo: 'bench.example.org', listener: 'mta', tls: null, auth: null },
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { messages: { type: 'string', default: '5000' }, concurrency: { type: 'string', default: '200' }, dir: { type: 'string' } },
  });
  const messageCount = Number(values.messages);
  const concurrency = Number(values.concurrency);
  const dir = await mkdtemp(join(values.dir ?? tmpdir(), 'outpost-bench-'));
  const spool = await Spool.open({ dir, clock: systemClock, logger: silentLogger(), recover: true });
  const body = Buffer.from(`Subject: bench\r\nFrom: sender@example.org\r\n\r\n${'x'.repeat(1000)}\r\n`);
  let started = 0;
  const session = async (): Promise<void> => {
    while (started < messageCount) {
      started += 1;
      const writer = await spool.begin();
      writer.body.write(body);
      await writer.commit(ENVELOPE);
    }
  };
  const startMs = performance.now();
  await Promise.all(Array.from({ length: concurrency }, session));
  const elapsedSeconds = (performance.now() - startMs) / 1000;
  const stats = spool.commitStats;
  await spool.close();
  await rm(dir, { recursive: true, force: true });
  const perSecond = Math.round(messageCount / elapsedSeconds);
  process.stdout.write(
    `${messageCount} messages, ${concurrency} concurrent: ${elapsedSeconds.toFixed(2)} s, ${perSecond} messages/s; ` +
      `${stats.batches} batches, ${stats.fileSyncs} fdatasyncs (${(stats.appends / stats.batches).toFixed(1)} commits/batch)\n`,
  );
}

await main();
