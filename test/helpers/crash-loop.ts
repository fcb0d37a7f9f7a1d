// A kill -9 loop while mail flows in and out: `outpost serve` relays to a fake
// MTA (the sink) while clients send; it is killed with SIGKILL after a random
// number of 250s (other sessions are then mid-transaction, deliveries mid-way),
// restarted, and so on. At the end a last serve drains the queue and the sink's
// messages are counted: every message answered 250 must be there; one seen twice
// is a duplicate (allowed only for a kill between the sink's 250 and outpost's
// durable record of it). Shared by test/e2e/crash-loop.test.ts (short) and
// bench/crash-loop.ts (long).

import { FakeMta } from './fake-mta.js';
import { makeInstallation, ServeProcess } from './outpost-process.js';
import { seededRandom } from './seeded-random.js';
import { SmtpTestClient } from './smtp-client.js';

export interface CrashLoopOptions {
  readonly cycles: number;
  readonly seed: number;
  /** Concurrent sending sessions per cycle. */
  readonly senders: number;
  /** A kill comes after 1..maxAcksPerCycle 250s in the cycle. */
  readonly maxAcksPerCycle: number;
  readonly bodyBytes: number;
  readonly progress?: (cycle: number) => void;
}

export interface CrashLoopResult {
  readonly acknowledged: number;
  /** Messages whose 250 was not seen (cut by the kill) that arrived anyway: allowed. */
  readonly unacknowledgedDelivered: number;
  readonly lost: readonly string[];
  /** Extra copies at the sink beyond the first, over all messages. */
  readonly duplicates: number;
  readonly delivered: number;
}

const DRAIN_GUARD_MS = 60_000;
/** A guard for a loaded machine (the bench runs beside other work), not a measurement. */
const START_WAIT_MS = 60_000;
const TAG = /^X-Crash-Seq: (\d+)\r?$/m;

export async function runCrashLoop(options: CrashLoopOptions): Promise<CrashLoopResult> {
  const random = seededRandom(options.seed);
  const sink = await FakeMta.start();
  const installation = await makeInstallation({
    extraYaml: `delivery: { routes: { sink.test: "127.0.0.1:${sink.port}" }, retry: [1s], connectTimeout: 5s, commandTimeout: 10s }`,
  });
  const acknowledged = new Set<number>();
  let nextSeq = 0;
  const filler = 'x'.repeat(Math.max(0, options.bodyBytes));
  try {
    for (let cycle = 0; cycle < options.cycles; cycle += 1) {
      options.progress?.(cycle);
      const serve = await ServeProcess.start(installation.configFile, {}, START_WAIT_MS);
      const port = serve.port();
      const acksBeforeKill = 1 + Math.floor(random() * options.maxAcksPerCycle);
      let acksThisCycle = 0;
      let killed: Promise<void> | undefined;
      const sender = async (): Promise<void> => {
        let client: SmtpTestClient;
        try {
          client = await SmtpTestClient.connect(port);
          await client.reply();
          await client.command('EHLO crash.example.net');
        } catch {
          return;
        }
        while (killed === undefined) {
          const seq = nextSeq;
          nextSeq += 1;
          try {
            await client.command('MAIL FROM:<app@example.org>');
            await client.command(`RCPT TO:<r${seq}@sink.test>`);
            if ((await client.command('DATA')).code !== 354) break;
            client.write(`Subject: crash ${seq}\r\nX-Crash-Seq: ${seq}\r\n\r\n${filler}\r\n.\r\n`);
            const reply = await client.reply();
            if (reply.code !== 250) break;
          } catch {
            break; // the server is gone: this message may or may not have been stored
          }
          acknowledged.add(seq);
          acksThisCycle += 1;
          if (acksThisCycle >= acksBeforeKill) killed ??= serve.kill9();
        }
        client.close();
      };
      await Promise.all(Array.from({ length: options.senders }, sender));
      await (killed ?? serve.kill9());
    }
    // A last run drains the queue.
    const serve = await ServeProcess.start(installation.configFile, {}, START_WAIT_MS);
    // Kept up to date incrementally: the check runs on every sink event.
    const received = new Set<number>();
    let scanned = 0;
    const allReceived = (): boolean => {
      for (; scanned < sink.messages.length; scanned += 1) {
        const seq = seqOf((sink.messages[scanned] as { data: Buffer }).data);
        if (seq !== undefined) received.add(seq);
      }
      return [...acknowledged].every((seq) => received.has(seq));
    };
    // A guard against a lost message hanging the run (then reported as lost), not a measurement.
    let guard: NodeJS.Timeout | undefined;
    await Promise.race([
      sink.until(allReceived),
      new Promise<void>((resolve) => (guard = setTimeout(resolve, DRAIN_GUARD_MS))),
    ]);
    clearTimeout(guard);
    serve.signal('SIGTERM');
    await serve.exit();
    const counts = new Map<number, number>();
    for (const message of sink.messages) {
      const seq = seqOf(message.data);
      if (seq !== undefined) counts.set(seq, (counts.get(seq) ?? 0) + 1);
    }
    const lost = [...acknowledged].filter((seq) => !counts.has(seq)).map(String);
    let duplicates = 0;
    for (const count of counts.values()) duplicates += count - 1;
    return {
      acknowledged: acknowledged.size,
      unacknowledgedDelivered: [...counts.keys()].filter((seq) => !acknowledged.has(seq)).length,
      lost,
      duplicates,
      delivered: counts.size,
    };
  } finally {
    await sink.close();
    await installation.remove();
  }
}

function seqOf(data: Buffer): number | undefined {
  const match = TAG.exec(data.toString('latin1'));
  return match === null ? undefined : Number(match[1]);
}
