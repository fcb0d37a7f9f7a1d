// Long form of the crash test: `node build/bench/crash-loop.js [--cycles 200] [--seed N]`
// kills `outpost serve` with SIGKILL at random moments while mail flows in and
// out (test/helpers/crash-loop.ts), then prints what the sink received: every
// message answered 250 must be there; duplicates are counted.

import { parseArgs } from 'node:util';
import { runCrashLoop } from '../test/helpers/crash-loop.js';

const { values } = parseArgs({
  options: { cycles: { type: 'string', default: '200' }, seed: { type: 'string', default: String(Date.now() % 100_000) }, senders: { type: 'string', default: '4' } },
});
const cycles = Number(values.cycles);
const seed = Number(values.seed);
const result = await runCrashLoop({
  cycles,
  seed,
  senders: Number(values.senders),
  maxAcksPerCycle: 20,
  bodyBytes: 2000,
  progress: (cycle) => {
    if (cycle % 20 === 0) process.stderr.write(`cycle ${cycle}/${cycles}\n`);
  },
});
process.stdout.write(`${JSON.stringify({ cycles, seed, ...result, lost: result.lost.length })}\n`);
process.exitCode = result.lost.length === 0 ? 0 : 1;
