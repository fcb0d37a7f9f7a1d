// The running server's suppression list: the RCPT check (synchronous, in
// memory), failures and operator changes applied in order and written to
// suppression.json in batches, and the events and log lines of each change.

import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { reply, type Reply } from '../smtp/reply.js';
import type { Mailbox } from '../smtp/address.js';
import { boundedReply, isActive, mailboxSuppressionKey, SuppressionList, SUPPRESSING_STATUSES, type SuppressionEntry, type SuppressionSettings } from './list.js';
import { readSuppressionFile, withSuppressionLock, writeSuppressionFile } from './store.js';

/** Longest excerpt of the remote reply quoted in a RCPT refusal. */
const REFUSAL_EXCERPT_CHARS = 80;

/** Told of each change and refusal (logged and counted by main.ts; webhooks later). */
export interface SuppressionEvents {
  /** An address became suppressed: by its delivery failures or by the operator. */
  onSuppressed?(entry: SuppressionEntry): void;
  /** A RCPT to a suppressed address was refused. */
  onRefused?(entry: SuppressionEntry, client: string): void;
}

export interface SuppressionsOptions {
  readonly spoolDir: string;
  readonly settings: SuppressionSettings;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events?: SuppressionEvents;
}

interface Operation {
  readonly run: () => Promise<void> | void;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class Suppressions {
  private list = new SuppressionList();
  private readonly log: Logger;
  private queue: Operation[] = [];
  private draining = false;
  private dirty = false;

  constructor(private readonly options: SuppressionsOptions) {
    this.log = options.logger.child({ component: 'suppression' });
  }

  /** Reads suppression.json (under the lock, so an offline `outpost suppress` finishes first); replaces the list in memory. */
  load(): Promise<void> {
    return this.enqueue(async () => {
      const entries = await withSuppressionLock(this.options.spoolDir, () => readSuppressionFile(this.options.spoolDir));
      this.list = new SuppressionList(entries);
      this.dirty = false;
      this.log.info({ suppressed: this.size() }, 'suppression list loaded');
    });
  }

  /**
   * A delivery failed permanently for `address` with enhanced status `status`; counted when the
   * status is a mailbox-level one (list.ts SUPPRESSING_STATUSES). Written in the background.
   */
  recordFailure(address: string, status: string, replyText: string): void {
    if (!SUPPRESSING_STATUSES.has(status)) return;
    void this.enqueue(() => {
      const entry = this.list.recordFailure(address, replyText, this.options.clock.now(), this.options.settings);
      this.dirty = true;
      if (entry !== undefined) this.announce(entry);
    }).catch((error: unknown) => this.log.error({ rcpt: address, err: error }, 'cannot write the suppression list'));
  }

  /** The operator's `suppress add`: resolves once written; false when `address` is not an address. */
  async add(address: string): Promise<boolean> {
    let added: SuppressionEntry | undefined;
    await this.enqueue(() => {
      added = this.list.add(address, this.options.clock.now(), this.options.settings.ttlMs);
      if (added === undefined) return;
      this.dirty = true;
      this.announce(added);
    });
    return added !== undefined;
  }

  /** The operator's `suppress remove`: resolves once written; false when it was not listed. */
  async remove(address: string): Promise<boolean> {
    let removed = false;
    await this.enqueue(() => {
      removed = this.list.remove(address);
      if (!removed) return;
      this.dirty = true;
      this.log.info({ rcpt: address }, 'address unsuppressed');
    });
    return removed;
  }

  /** Resolves once every change made so far is written (or failed). */
  idle(): Promise<void> {
    return this.enqueue(() => undefined).catch(() => undefined);
  }

  /** Every entry, suppressed or counting, with expired ones left out. */
  entries(): SuppressionEntry[] {
    const nowMs = this.options.clock.now();
    return this.list.all().filter((entry) => isActive(entry, nowMs) || (entry.expiresAtMs === undefined && entry.failuresMs.some((atMs) => atMs > nowMs - this.options.settings.ttlMs)));
  }

  /** Suppressed addresses now (the list-size gauge). */
  size(): number {
    return this.list.activeCount(this.options.clock.now());
  }

  /** The RCPT refusal for a suppressed recipient (550 5.1.1), or undefined. */
  refusal(recipient: Mailbox, client: string): Reply | undefined {
    const key = mailboxSuppressionKey(recipient);
    const entry = key === undefined ? undefined : this.list.suppressed(key, this.options.clock.now());
    if (entry === undefined) return undefined;
    this.log.info({ rcpt: recipient.address, client, since: isoTime(entry.suppressedAtMs), until: isoTime(entry.expiresAtMs), source: entry.source }, 'recipient refused: suppressed');
    this.options.events?.onRefused?.(entry, client);
    return suppressedReply(recipient.address, entry);
  }

  private announce(entry: SuppressionEntry): void {
    this.log.info({ rcpt: entry.address, source: entry.source, failures: entry.failuresMs.length, reply: entry.reply, until: isoTime(entry.expiresAtMs) }, 'address suppressed');
    this.options.events?.onSuppressed?.(entry);
  }

  private enqueue(run: () => Promise<void> | void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ run, resolve, reject });
      void this.drain();
    });
  }

  /** Runs queued operations in order; writes the file once per batch of changes. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        const done: Operation[] = [];
        for (const operation of batch) {
          try {
            await operation.run();
            done.push(operation);
          } catch (error: unknown) {
            operation.reject(error);
          }
        }
        try {
          if (this.dirty) {
            this.list.prune(this.options.clock.now(), this.options.settings.ttlMs);
            await writeSuppressionFile(this.options.spoolDir, this.list.all());
            this.dirty = false;
          }
          for (const operation of done) operation.resolve();
        } catch (error: unknown) {
          for (const operation of done) operation.reject(error);
        }
      }
    } finally {
      this.draining = false;
    }
  }
}

/** `outpost suppress add|remove` without a running server: one read-change-write of the file under the lock. */
export async function changeOffline<T>(spoolDir: string, settings: SuppressionSettings, nowMs: number, change: (list: SuppressionList) => T): Promise<T> {
  return withSuppressionLock(spoolDir, async () => {
    const list = new SuppressionList(await readSuppressionFile(spoolDir));
    const result = change(list);
    list.prune(nowMs, settings.ttlMs);
    await writeSuppressionFile(spoolDir, list.all());
    return result;
  });
}

/** 550 5.1.1 naming the address, since when and why (the remote reply's excerpt, bounded), and the command to lift it. */
export function suppressedReply(address: string, entry: SuppressionEntry): Reply {
  const since = isoTime(entry.suppressedAtMs)?.replace(/:\d\d\.\d{3}Z$/, ' UTC').replace('T', ' ') ?? 'an earlier date';
  const excerpt = boundedReply(entry.reply);
  const why =
    entry.source === 'operator'
      ? `suppressed by the operator on ${since}`
      : `suppressed after a permanent failure on ${since}${excerpt === '' ? '' : ` (${excerpt.length <= REFUSAL_EXCERPT_CHARS ? excerpt : `${excerpt.slice(0, REFUSAL_EXCERPT_CHARS - 3)}...`})`}`;
  return reply(550, '5.1.1', `<${address}>: Recipient address rejected: ${why}; see outpost suppress`);
}

function isoTime(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}
