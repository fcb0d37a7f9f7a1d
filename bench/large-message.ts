// Memory of a relay while it takes one large message: sends one message of SIZE
// bytes over one session (writes of 64 KiB with backpressure; --sessions N: N such
// messages at once, one per session) and samples the
// relay's resident memory (procfs: one process, or a process tree such as
// Postfix's master and its children) every INTERVAL ms: before the session
// (baseline), while the message is sent until its 250 (receipt), and for
// AFTER ms after (delivery onward). Prints baseline, peaks and peak - baseline.
//
//   node build/bench/large-message.js --target 127.0.0.3:2525 --measure pid:1234 [--size 26214400] [--sessions 1]
//     [--interval-ms 50] [--after-ms 3000] [--metrics http://127.0.0.1:8080/metrics] [--json]
//
// --metrics: outpost's /metrics is read with each sample too, for the peaks of its V8 heap
// and external (Buffer) memory: what the RSS rise is made of.

import { hrtime } from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { greet, makeMessage, parseEndpoint, SmtpWire, type Endpoint, type WireReply } from './lib/smtp-wire.js';
import { megabytes, parseProcessSet, sampleMemory, type ProcessSet } from './lib/proc-memory.js';

const WRITE_BYTES = 64 * 1024;
const HEAP_METRICS = { heapUsedKb: 'nodejs_heap_size_used_bytes', externalKb: 'nodejs_external_memory_bytes' } as const;

async function heapFigures(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(url)).text();
  const figures: Record<string, number> = {};
  for (const [key, name] of Object.entries(HEAP_METRICS)) figures[key] = Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0) / 1024;
  return figures;
}

/** Samples RSS every `intervalMs` until stopped; the phase is read at each sample. */
class Sampler {
  readonly peaks = new Map<string, number>();
  samples = 0;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly set: ProcessSet,
    private readonly intervalMs: number,
    private readonly phase: () => string,
    private readonly metricsUrl: string | undefined,
  ) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const phase = this.phase();
      const { rssKb } = await sampleMemory(this.set);
      this.samples += 1;
      this.peaks.set(phase, Math.max(this.peaks.get(phase) ?? 0, rssKb));
      if (this.metricsUrl !== undefined) {
        for (const [key, kb] of Object.entries(await heapFigures(this.metricsUrl))) this.peaks.set(`${phase}.${key}`, Math.max(this.peaks.get(`${phase}.${key}`) ?? 0, kb));
      }
      await sleep(this.intervalMs);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

/** One session, one message; resolves with the reply to its final dot. */
async function send(target: Endpoint, message: Buffer, from: string, to: string): Promise<WireReply> {
  const wire = await SmtpWire.connect(target);
  await greet(wire, 'large.example.org');
  await wire.write(`MAIL FROM:<${from}> SIZE=${message.length}\r\nRCPT TO:<${to}>\r\nDATA\r\n`);
  await wire.expect(250, 'MAIL');
  await wire.expect(250, 'RCPT');
  await wire.expect(354, 'DATA');
  for (let offset = 0; offset < message.length; offset += WRITE_BYTES) await wire.write(message.subarray(offset, offset + WRITE_BYTES));
  await wire.write('.\r\n');
  const reply = await wire.reply();
  await wire.quit();
  return reply;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      measure: { type: 'string' },
      size: { type: 'string', default: String(25 * 1024 * 1024) },
      sessions: { type: 'string', default: '1' },
      'interval-ms': { type: 'string', default: '50' },
      'after-ms': { type: 'string', default: '3000' },
      from: { type: 'string', default: 'app@example.org' },
      to: { type: 'string', default: 'rcpt@example.net' },
      metrics: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.target === undefined || values.measure === undefined) throw new Error('--target host:port and --measure pid:N|tree:N are required');
  const set = parseProcessSet(values.measure);
  const message = makeMessage(Number(values.size), values.from, values.to, 'large message');
  const baseline = await sampleMemory(set);
  const heapBaseline = values.metrics === undefined ? undefined : await heapFigures(values.metrics);
  let phase = 'receipt';
  const sampler = new Sampler(set, Number(values['interval-ms']), () => phase, values.metrics);
  const startedAt = hrtime.bigint();
  const replies = await Promise.all(Array.from({ length: Number(values.sessions) }, () => send(parseEndpoint(values.target ?? ''), message, values.from, values.to)));
  const receiptMs = Number(hrtime.bigint() - startedAt) / 1e6;
  phase = 'after';
  const reply = replies.find((r) => r.code !== 250) ?? replies[0] ?? { code: 0, text: 'no reply' };
  await sleep(Number(values['after-ms']));
  await sampler.stop();
  const end = await sampleMemory(set);
  const receiptPeak = sampler.peaks.get('receipt') ?? 0;
  const afterPeak = sampler.peaks.get('after') ?? 0;
  const figures = {
    target: values.target,
    sizeBytes: message.length,
    reply: reply.text,
    receiptMs,
    samples: sampler.samples,
    baselineKb: baseline.rssKb,
    receiptPeakKb: receiptPeak,
    afterPeakKb: afterPeak,
    endKb: end.rssKb,
    receiptRiseKb: receiptPeak - baseline.rssKb,
    afterRiseKb: afterPeak - baseline.rssKb,
    ...(heapBaseline === undefined
      ? {}
      : {
          heapUsedKb: { baseline: heapBaseline['heapUsedKb'], receipt: sampler.peaks.get('receipt.heapUsedKb'), after: sampler.peaks.get('after.heapUsedKb') },
          externalKb: { baseline: heapBaseline['externalKb'], receipt: sampler.peaks.get('receipt.externalKb'), after: sampler.peaks.get('after.externalKb') },
        }),
  };
  if (values.json) process.stdout.write(`${JSON.stringify(figures)}\n`);
  else {
    process.stdout.write(
      `${values.target}: ${message.length} bytes, "${reply.text}" after ${(receiptMs / 1000).toFixed(2)} s; ${sampler.samples} samples\n` +
        `  RSS baseline ${megabytes(baseline.rssKb)}, peak during receipt ${megabytes(receiptPeak)} (+${megabytes(figures.receiptRiseKb)}), ` +
        `peak in the ${values['after-ms']} ms after ${megabytes(afterPeak)} (+${megabytes(figures.afterRiseKb)}), at the end ${megabytes(end.rssKb)}\n`,
    );
    if (heapBaseline !== undefined) {
      for (const key of Object.keys(HEAP_METRICS)) {
        const peak = (phase: string): string => megabytes(sampler.peaks.get(`${phase}.${key}`) ?? 0);
        process.stdout.write(`  ${key.replace('Kb', '')}: baseline ${megabytes(heapBaseline[key] ?? 0)}, receipt peak ${peak('receipt')}, after peak ${peak('after')}\n`);
      }
    }
  }
  if (reply.code !== 250) process.exitCode = 1;
}

await main();
