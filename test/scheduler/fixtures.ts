// Test fixtures for the scheduler: a scripted FakeTransport implementing the
// real Transport seam (outcomes per destination/recipient, held jobs, counts of
// concurrent sessions), a minimal text DSN builder and a scheduler harness on a
// real Spool in a temp folder with a ManualClock.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AttemptInfo, DeliveryJob, RecipientOutcome, ReportOutcomes, Transport } from '../../src/delivery/types.js';
import type { DsnRequest } from '../../src/dsn/types.js';
import { DeliveryScheduler } from '../../src/scheduler/scheduler.js';
import type { DsnMessage, SchedulerSettings, SchedulerSpool } from '../../src/scheduler/types.js';
import { Spool } from '../../src/spool/spool.js';
import type { EnvelopeRecord, NewEnvelope } from '../../src/spool/types.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog, type MemoryLog } from '../helpers/memory-log.js';

export const MINUTE_MS = 60_000;

export function delivered(reply = '250 2.0.0 Ok queued'): RecipientOutcome {
  return { kind: 'delivered', reply, status: '2.0.0', remote: true, remoteMta: 'mx.remote.test' };
}

export function deferred(reply = '451 4.3.0 try again later', remote = true): RecipientOutcome {
  return { kind: 'transient', reply, status: statusIn(reply, '4.0.0'), remote, remoteMta: remote ? 'mx.remote.test' : undefined };
}

export function failed(reply = '550 5.1.1 no such user', remote = true): RecipientOutcome {
  return { kind: 'permanent', reply, status: statusIn(reply, '5.0.0'), remote, remoteMta: remote ? 'mx.remote.test' : undefined };
}

function statusIn(reply: string, fallback: string): string {
  return /^\d{3} (\d\.\d+\.\d+)/.exec(reply)?.[1] ?? fallback;
}

export type Script = (destination: string, rcpt: string, messageId: string) => RecipientOutcome;

export interface Sent {
  readonly destination: string;
  readonly id: string;
  readonly rcpt: string;
  readonly outcome: RecipientOutcome;
}

/** A Transport whose outcomes come from `script`; jobs `hold` selects wait for release() or their abort. */
export class FakeTransport implements Transport {
  script: Script = () => delivered();
  hold: boolean | ((destination: string) => boolean) = false;
  readonly jobs: DeliveryJob[] = [];
  readonly sent: Sent[] = [];
  running = 0;
  maxRunning = 0;
  readonly runningBy = new Map<string, number>();
  readonly maxRunningBy = new Map<string, number>();
  private releases: Array<() => void> = [];
  private waiters: { readonly ready: () => boolean; readonly resolve: () => void }[] = [];

  async run(job: DeliveryJob, report: ReportOutcomes, signal: AbortSignal): Promise<void> {
    this.jobs.push(job);
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    const forDestination = (this.runningBy.get(job.destination) ?? 0) + 1;
    this.runningBy.set(job.destination, forDestination);
    this.maxRunningBy.set(job.destination, Math.max(this.maxRunningBy.get(job.destination) ?? 0, forDestination));
    this.changed();
    try {
      if (typeof this.hold === 'function' ? this.hold(job.destination) : this.hold) await this.held(signal);
      for (const message of job.messages) {
        const info: AttemptInfo = { mx: `mx.${job.destination}`, address: '127.0.0.1', tls: null, durationMs: 5 };
        const outcomes = new Map<string, RecipientOutcome>();
        for (const rcpt of message.recipients) {
          const outcome = signal.aborted ? deferred('451 4.4.2 aborted', false) : this.script(job.destination, rcpt, message.id);
          outcomes.set(rcpt, outcome);
          this.sent.push({ destination: job.destination, id: message.id, rcpt, outcome });
        }
        this.changed();
        await report(message.id, outcomes, info);
      }
    } finally {
      this.running -= 1;
      this.runningBy.set(job.destination, (this.runningBy.get(job.destination) ?? 1) - 1);
      this.changed();
    }
  }

  /** Resolves once `ready` holds, checked whenever a job starts, is held, hands over outcomes or ends. */
  until(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ ready, resolve }));
  }

  private changed(): void {
    const done = this.waiters.filter((waiter) => waiter.ready());
    this.waiters = this.waiters.filter((waiter) => !done.includes(waiter));
    for (const waiter of done) waiter.resolve();
  }

  /** Lets every held job go on. */
  release(): void {
    const releases = this.releases;
    this.releases = [];
    for (const resolve of releases) resolve();
  }

  /** Lets the oldest held job go on. */
  releaseOne(): void {
    this.releases.shift()?.();
  }

  get heldJobs(): number {
    return this.releases.length;
  }

  /** Recipients handed over in a delivered state, as "id rcpt". */
  deliveredTo(): string[] {
    return this.sent.filter((sent) => sent.outcome.kind === 'delivered').map((sent) => `${sent.id} ${sent.rcpt}`);
  }

  private held(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      this.releases.push(resolve);
      signal.addEventListener('abort', () => resolve(), { once: true });
      this.changed();
    });
  }
}

/** A DSN builder for tests: a small text/plain message listing each recipient, action and status; requests are kept. */
export function fakeDsnBuilder(requests: DsnRequest[]): (request: DsnRequest) => DsnMessage {
  return (request) => {
    requests.push(request);
    const lines = request.recipients.map((recipient) => `${recipient.address} ${recipient.action} ${recipient.status} ${recipient.diagnostic}`);
    const content = [
      `From: MAILER-DAEMON@${request.hostname}`,
      `To: ${request.originalSender}`,
      'Subject: Delivery Status Notification',
      'Content-Type: text/plain',
      '',
      ...lines,
      '',
    ].join('\r\n');
    return { from: '', to: request.originalSender, content: Buffer.from(content), smtputf8: false };
  };
}

export const DEFAULT_SETTINGS: SchedulerSettings = {
  retryDelaysMs: [1 * MINUTE_MS, 5 * MINUTE_MS, 10 * MINUTE_MS],
  maxQueueLifetimeMs: 24 * 60 * MINUTE_MS,
  delayWarningMs: 0,
  maxConcurrency: 10,
  concurrencyPerDomain: 3,
  recipientsPerTransaction: 50,
};

export interface Harness {
  readonly dir: string;
  readonly clock: ManualClock;
  readonly spool: Spool;
  readonly transport: FakeTransport;
  readonly log: MemoryLog;
  readonly dsnRequests: DsnRequest[];
  readonly settings: SchedulerSettings;
  scheduler: DeliveryScheduler;
  /** A new scheduler on the same spool (as after a restart), with its own transport and log. */
  restart(transport?: FakeTransport): DeliveryScheduler;
  commit(recipients: readonly string[], options?: { from?: string; body?: string }): Promise<EnvelopeRecord>;
  /** Ids of the records the scheduler read from the spool, in order. */
  readonly reads: string[];
  /** Commits a message and tells the scheduler, as the server's commit hook will. */
  submit(recipients: readonly string[], options?: { from?: string; body?: string }): Promise<EnvelopeRecord>;
  /** Moves the clock and waits until the scheduler has nothing in progress. */
  advance(ms: number): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly settings?: Partial<SchedulerSettings>;
  readonly maxMessagesPerJob?: number;
  readonly maxActiveRounds?: number;
  readonly random?: () => number;
}

export async function makeHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-scheduler-'));
  const clock = new ManualClock();
  const spool = await Spool.open({ dir, clock, logger: memoryLog().logger, recover: true });
  const settings = { ...DEFAULT_SETTINGS, ...options.settings };
  const dsnRequests: DsnRequest[] = [];
  const reads: string[] = [];
  // The real spool, its record reads noted (the scheduler should read a record it was handed never again).
  const schedulerSpool: SchedulerSpool = {
    scheduleEntries: () => spool.scheduleEntries(),
    read: (id) => {
      reads.push(id);
      return spool.read(id);
    },
    update: (id, change) => spool.update(id, change),
    remove: (id, removeOptions) => spool.remove(id, removeOptions),
    openBody: (id) => spool.openBody(id),
    readHeaders: (id, maxBytes) => spool.readHeaders(id, maxBytes),
    begin: () => spool.begin(),
  };
  const build = (transport: FakeTransport, log: MemoryLog): DeliveryScheduler =>
    new DeliveryScheduler({
      spool: schedulerSpool,
      transport,
      buildDsn: fakeDsnBuilder(dsnRequests),
      clock,
      logger: log.logger,
      random: options.random ?? (() => 0),
      hostname: 'relay.outpost.test',
      delivery: settings,
      ...(options.maxMessagesPerJob === undefined ? {} : { maxMessagesPerJob: options.maxMessagesPerJob }),
      ...(options.maxActiveRounds === undefined ? {} : { maxActiveRounds: options.maxActiveRounds }),
    });
  const transport = new FakeTransport();
  const log = memoryLog();
  const harness: Harness = {
    reads,
    dir,
    clock,
    spool,
    transport,
    log,
    dsnRequests,
    settings,
    scheduler: build(transport, log),
    restart(transport = new FakeTransport()) {
      const scheduler = build(transport, memoryLog());
      harness.scheduler = scheduler;
      return scheduler;
    },
    async commit(recipients, { from = 'sender@origin.test', body = 'Subject: hello\r\n\r\nHi.\r\n' } = {}) {
      const writer = await spool.begin();
      writer.body.write(Buffer.from(body));
      const envelope: NewEnvelope = {
        from,
        recipients,
        smtputf8: false,
        body: '7BIT',
        client: { address: '127.0.0.1', helo: 'client.test', listener: 'mta', tls: null, auth: null },
      };
      return writer.commit(envelope);
    },
    async submit(recipients, submitOptions) {
      const record = await harness.commit(recipients, submitOptions);
      harness.scheduler.enqueued(record.id, record);
      return record;
    },
    async advance(ms) {
      clock.advance(ms);
      await harness.scheduler.idle();
    },
    async close() {
      const stopped = harness.scheduler.stop(0);
      clock.advance(0);
      await stopped;
      await spool.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** Messages in the spool, oldest first. */
export function listIds(spool: Spool): Promise<string[]> {
  return spool.list().then((records) => records.map((record) => record.id));
}
