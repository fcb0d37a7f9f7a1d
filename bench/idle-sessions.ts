// Memory of a relay holding many idle SMTP sessions: opens SESSIONS sessions
// (connected, greeted, EHLO answered), from several loopback source addresses
// so ephemeral ports never run short, a bounded number connecting at a time;
// then reads the relay's resident memory (procfs: one process, or a process
// tree such as Postfix's master and its smtpd processes) and prints it beside
// the reading taken before the first connection.
//
//   node build/bench/idle-sessions.js --target 127.0.0.3:2525 --measure pid:1234 [--sessions 5000]
//     [--sources 8] [--connecting 200] [--settle-ms 1000] [--metrics http://127.0.0.1:8080/metrics] [--json]
//
// --measure tree:N counts N and every process below it; --metrics adds outpost's heap figures.

import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { greet, parseEndpoint, SmtpWire, type Endpoint } from './lib/smtp-wire.js';
import { megabytes, parseProcessSet, sampleMemory, type MemorySample } from './lib/proc-memory.js';

const HEAP_METRICS = ['nodejs_heap_size_used_bytes', 'nodejs_heap_size_total_bytes', 'nodejs_external_memory_bytes'] as const;

async function heapFigures(url: string | undefined): Promise<Record<string, number> | undefined> {
  if (url === undefined) return undefined;
  const text = await (await fetch(url)).text();
  const figures: Record<string, number> = {};
  for (const name of HEAP_METRICS) {
    const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    if (match?.[1] !== undefined) figures[name] = Number(match[1]);
  }
  return figures;
}

/** Opens `count` greeted sessions, at most `connecting` of them in progress at a time. */
async function openSessions(target: Endpoint, count: number, sources: number, connecting: number): Promise<SmtpWire[]> {
  const wires: SmtpWire[] = [];
  let next = 0;
  const opener = async (): Promise<void> => {
    while (next < count) {
      const index = next;
      next += 1;
      const wire = await SmtpWire.connect(target, `127.0.0.${11 + (index % sources)}`);
      await greet(wire, `idle${index}.example.org`);
      wires.push(wire);
    }
  };
  await Promise.all(Array.from({ length: Math.min(connecting, count) }, opener));
  return wires;
}

function summary(sample: MemorySample): string {
  const commands = Object.entries(sample.byCommand)
    .sort(([, a], [, b]) => b.rssKb - a.rssKb)
    .slice(0, 4)
    .map(([name, c]) => `${name} x${c.count} ${megabytes(c.rssKb)}${c.pssKb === undefined ? '' : ` (PSS ${megabytes(c.pssKb)})`}`);
  return `RSS ${megabytes(sample.rssKb)}${sample.pssKb === undefined ? '' : `, PSS ${megabytes(sample.pssKb)}`} in ${sample.processes} processes [${commands.join('; ')}]`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      measure: { type: 'string' },
      sessions: { type: 'string', default: '5000' },
      sources: { type: 'string', default: '8' },
      connecting: { type: 'string', default: '200' },
      'settle-ms': { type: 'string', default: '1000' },
      metrics: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.target === undefined || values.measure === undefined) throw new Error('--target host:port and --measure pid:N|tree:N are required');
  const target = parseEndpoint(values.target);
  const set = parseProcessSet(values.measure);
  const sessions = Number(values.sessions);
  const before = await sampleMemory(set, true);
  const heapBefore = await heapFigures(values.metrics);
  const openedAt = performance.now();
  const wires = await openSessions(target, sessions, Number(values.sources), Number(values.connecting));
  const openMs = performance.now() - openedAt;
  await sleep(Number(values['settle-ms']));
  const after = await sampleMemory(set, true);
  const heapAfter = await heapFigures(values.metrics);
  const open = wires.filter((wire) => !wire.socket.destroyed).length;
  for (const wire of wires) wire.close();
  const figures = {
    target: values.target,
    sessions,
    stillOpen: open,
    openSeconds: openMs / 1000,
    rssBeforeKb: before.rssKb,
    rssAfterKb: after.rssKb,
    pssBeforeKb: before.pssKb ?? 0,
    pssAfterKb: after.pssKb ?? 0,
    processesAfter: after.processes,
    perSessionKb: (after.rssKb - before.rssKb) / sessions,
    perSessionPssKb: ((after.pssKb ?? 0) - (before.pssKb ?? 0)) / sessions,
    ...(heapBefore === undefined ? {} : { heapBefore }),
    ...(heapAfter === undefined ? {} : { heapAfter }),
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(figures)}\n`);
    return;
  }
  process.stdout.write(`${values.target}: ${open} of ${sessions} sessions open after ${(openMs / 1000).toFixed(1)} s\n`);
  process.stdout.write(`  before: ${summary(before)}\n  after:  ${summary(after)}\n`);
  process.stdout.write(`  per session: ${figures.perSessionKb.toFixed(1)} kB RSS, ${figures.perSessionPssKb.toFixed(1)} kB PSS\n`);
  if (heapBefore !== undefined && heapAfter !== undefined) {
    for (const name of HEAP_METRICS) process.stdout.write(`  ${name}: ${megabytes((heapBefore[name] ?? 0) / 1024)} -> ${megabytes((heapAfter[name] ?? 0) / 1024)}\n`);
  }
}

await main();
