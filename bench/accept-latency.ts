// Accept latency under load: SESSIONS concurrent SMTP sessions send MESSAGES
// messages of SIZE bytes in all to one relay; each message's latency runs from
// the write that ends its DATA ("\r\n.\r\n", sent with the body in one write)
// to the reply's arrival. MAIL, RCPT and DATA are pipelined (RFC 2920). Prints
// one line: p50/p90/p99/max in ms, msg/s, and this client's own CPU use, so a
// saturated client shows. Sessions connect and say EHLO before the clock starts.
//
//   node build/bench/accept-latency.js --target 127.0.0.1:2525 [--sessions 100] [--messages 5000]
//     [--size 2048] [--from app@example.org] [--to rcpt@example.net] [--json]

import { hrtime } from 'node:process';
import { parseArgs } from 'node:util';
import { greet, makeMessage, parseEndpoint, SmtpWire, type Endpoint } from './lib/smtp-wire.js';

interface Options {
  readonly target: Endpoint;
  readonly sessions: number;
  readonly messages: number;
  readonly sizeBytes: number;
  readonly from: string;
  readonly to: string;
}

interface RunResult {
  readonly latenciesMs: Float64Array;
  readonly accepted: number;
  readonly refused: number;
  readonly elapsedMs: number;
  readonly clientCpuMs: number;
  readonly firstRefusal: string | undefined;
}

function options(): Options & { json: boolean } {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      sessions: { type: 'string', default: '100' },
      messages: { type: 'string', default: '5000' },
      size: { type: 'string', default: '2048' },
      from: { type: 'string', default: 'app@example.org' },
      to: { type: 'string', default: 'rcpt@example.net' },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.target === undefined) throw new Error('--target host:port is required');
  return {
    target: parseEndpoint(values.target),
    sessions: Number(values.sessions),
    messages: Number(values.messages),
    sizeBytes: Number(values.size),
    from: values.from,
    to: values.to,
    json: values.json,
  };
}

async function run(o: Options): Promise<RunResult> {
  const payload = Buffer.concat([makeMessage(o.sizeBytes, o.from, o.to, 'accept latency'), Buffer.from('.\r\n')]);
  const envelope = `MAIL FROM:<${o.from}>\r\nRCPT TO:<${o.to}>\r\nDATA\r\n`;
  const wires = await Promise.all(
    Array.from({ length: o.sessions }, async () => {
      const wire = await SmtpWire.connect(o.target);
      await greet(wire, 'load.example.org');
      return wire;
    }),
  );
  const latenciesMs = new Float64Array(o.messages);
  let claimed = 0;
  let accepted = 0;
  let refused = 0;
  let firstRefusal: string | undefined;
  const session = async (wire: SmtpWire): Promise<void> => {
    while (claimed < o.messages) {
      claimed += 1;
      await wire.write(envelope);
      await wire.expect(250, 'MAIL');
      await wire.expect(250, 'RCPT');
      await wire.expect(354, 'DATA');
      const sentAt = hrtime.bigint();
      await wire.write(payload);
      const reply = await wire.reply();
      const latencyMs = Number(hrtime.bigint() - sentAt) / 1e6;
      if (reply.code === 250) {
        latenciesMs[accepted] = latencyMs;
        accepted += 1;
      } else {
        refused += 1;
        firstRefusal ??= reply.text;
      }
    }
  };
  const cpuBefore = process.cpuUsage();
  const startedAt = hrtime.bigint();
  await Promise.all(wires.map(session));
  const elapsedMs = Number(hrtime.bigint() - startedAt) / 1e6;
  const cpu = process.cpuUsage(cpuBefore);
  await Promise.all(wires.map((wire) => wire.quit()));
  return { latenciesMs: latenciesMs.subarray(0, accepted).sort(), accepted, refused, elapsedMs, clientCpuMs: (cpu.user + cpu.system) / 1000, firstRefusal };
}

/** The value below which `fraction` of the sorted samples lie (nearest rank). */
function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(fraction * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}

async function main(): Promise<void> {
  const o = options();
  const result = await run(o);
  const figures = {
    target: `${o.target.host}:${o.target.port}`,
    sessions: o.sessions,
    messages: o.messages,
    sizeBytes: o.sizeBytes,
    accepted: result.accepted,
    refused: result.refused,
    p50Ms: percentile(result.latenciesMs, 0.5),
    p90Ms: percentile(result.latenciesMs, 0.9),
    p99Ms: percentile(result.latenciesMs, 0.99),
    maxMs: percentile(result.latenciesMs, 1),
    messagesPerSecond: (result.accepted / result.elapsedMs) * 1000,
    clientCpuPercent: (result.clientCpuMs / result.elapsedMs) * 100,
  };
  if (o.json) process.stdout.write(`${JSON.stringify(figures)}\n`);
  else {
    const ms = (value: number): string => value.toFixed(1);
    process.stdout.write(
      `${figures.target}: ${figures.accepted} accepted, ${figures.refused} refused; latency ms p50 ${ms(figures.p50Ms)} p90 ${ms(figures.p90Ms)} ` +
        `p99 ${ms(figures.p99Ms)} max ${ms(figures.maxMs)}; ${figures.messagesPerSecond.toFixed(0)} msg/s; client CPU ${figures.clientCpuPercent.toFixed(0)}% of a core\n`,
    );
  }
  if (result.firstRefusal !== undefined) process.stderr.write(`first refusal: ${result.firstRefusal}\n`);
  if (result.accepted === 0) process.exitCode = 1;
}

await main();
