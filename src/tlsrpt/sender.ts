// Sends the daily aggregate reports (RFC 8460 §4.1, §5): once a UTC day has ended
// (after a random delay of up to an hour), for each policy domain with counts,
// looks up its `_smtp._tls` record and sends the report to every rua: mailto as
// mail through the queue, https by POST. Failed rounds are retried a few times.

import type { Logger } from 'pino';
import type { Clock, Timer } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Resolver } from '../dns/resolver.js';
import { parseRcptToArgument } from '../smtp/address.js';
import type { ReportPoster } from './https-poster.js';
import { buildReportMessage } from './message.js';
import { discoverTlsRpt } from './record.js';
import type { ReportMail } from './report-mail.js';
import { buildReport, gzipReport, reportFileName, reportId, reportRange, type ReportSubmitter } from './report.js';
import { utcDay, type ReportStore, type StoredDay } from './store.js';

const HOUR_MS = 60 * 60_000;
const DAY_MS = 24 * HOUR_MS;
/** §4.1: reports go out after the period ends, spread by a random delay. */
export const DEFAULT_MAX_SEND_DELAY_MS = HOUR_MS;
/** Delays before the rounds after a failed one; then the report is dropped. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [HOUR_MS, 3 * HOUR_MS, 6 * HOUR_MS];

export type ReportMethod = 'mailto' | 'https';

export interface ReportSenderObserver {
  reportSent?(method: ReportMethod): void;
  reportFailed?(method: ReportMethod): void;
}

export interface ReportSenderOptions {
  readonly store: ReportStore;
  /** Counts still in memory are written before a round reads the files. */
  readonly flush: () => Promise<void>;
  readonly resolver: Resolver;
  readonly poster: ReportPoster;
  readonly mail: ReportMail;
  readonly submitter: ReportSubmitter;
  /** The From: address of report mail. */
  readonly fromAddress: string;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  readonly observer?: ReportSenderObserver;
  readonly maxSendDelayMs?: number;
  readonly retryDelaysMs?: readonly number[];
}

type Delivery = { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly permanent: boolean };

/** The address of a mailto: URI (RFC 6068: the part before "?", percent-decoded), if it is one. */
export function mailtoAddress(uri: string): string | undefined {
  const rest = uri.slice('mailto:'.length).split('?')[0] ?? '';
  let address: string;
  try {
    address = decodeURIComponent(rest);
  } catch {
    return undefined;
  }
  const parsed = parseRcptToArgument(`TO:<${address}>`);
  return parsed.ok && parsed.path.canonicalDomain !== undefined ? parsed.path.address : undefined;
}

export class DailyReportSender {
  readonly #options: ReportSenderOptions;
  readonly #log: Logger;
  readonly #stopping = new AbortController();
  #timer: Timer | undefined;
  #running: Promise<void> | undefined;
  /** Earliest retry round found by the last run. */
  #retryAtMs: number | undefined;

  constructor(options: ReportSenderOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'tlsrpt' });
  }

  /** The first round (reports left from earlier days) after a random delay, then daily after midnight UTC. */
  start(): void {
    this.#arm(this.#options.clock.now() + this.#jitterMs());
  }

  /** Resolves when the round under way, if any, has ended. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  /** Cancels the schedule, aborts a round under way (its unsent reports stay for the next start). */
  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#timer?.cancel();
    this.#timer = undefined;
    await this.idle();
  }

  /** One round now: every report of an ended day that is due. */
  runNow(): Promise<void> {
    this.#running ??= this.#round().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  #jitterMs(): number {
    return Math.floor(this.#options.random() * (this.#options.maxSendDelayMs ?? DEFAULT_MAX_SEND_DELAY_MS));
  }

  #arm(atMs: number): void {
    if (this.#stopping.signal.aborted) return;
    this.#timer?.cancel();
    this.#timer = this.#options.clock.setTimer(atMs - this.#options.clock.now(), () => {
      this.#timer = undefined;
      void this.runNow();
    });
  }

  async #round(): Promise<void> {
    this.#retryAtMs = undefined;
    try {
      await this.#options.flush();
      const today = utcDay(this.#options.clock.now());
      for (const day of await this.#options.store.days()) {
        if (day >= today || this.#stopping.signal.aborted) continue;
        for (const domain of await this.#options.store.domains(day)) {
          if (this.#stopping.signal.aborted) break;
          await this.#sendDomain(day, domain);
        }
        await this.#options.store.exclusive(() => this.#options.store.removeDayIfDone(day));
      }
    } catch (error: unknown) {
      this.#log.error({ err: error }, 'tls report round failed');
    }
    const nowMs = this.#options.clock.now();
    const nextDayMs = Date.parse(`${utcDay(nowMs)}T00:00:00Z`) + DAY_MS + this.#jitterMs();
    this.#arm(Math.min(nextDayMs, this.#retryAtMs ?? Number.POSITIVE_INFINITY));
  }

  async #sendDomain(day: string, domain: string): Promise<void> {
    const { store, clock } = this.#options;
    const read = await store.exclusive(() => store.read(day, domain));
    if (read.kind === 'absent') return;
    if (read.kind === 'broken') {
      this.#log.warn({ day, domain, reason: read.reason }, 'tls report counts unreadable, dropped');
      await store.exclusive(() => store.remove(day, domain));
      return;
    }
    const stored = read.stored;
    const due = stored.sending.nextAttemptMs;
    if (due !== undefined && due > clock.now()) {
      this.#retryAtMs = Math.min(this.#retryAtMs ?? due, due);
      return;
    }
    if (stored.counts.empty) {
      await store.exclusive(() => store.remove(day, domain));
      return;
    }
    const discovery = await discoverTlsRpt(this.#options.resolver, domain);
    if (discovery.kind === 'none') {
      this.#log.debug({ day, domain, reason: discovery.reason }, 'no tls reporting record, counts dropped');
      await store.exclusive(() => store.remove(day, domain));
      return;
    }
    if (discovery.kind === 'error') {
      await this.#failedRound(stored, stored.sending.done, [discovery.reason]);
      return;
    }
    await this.#deliver(stored, discovery.rua);
  }

  async #deliver(stored: StoredDay, rua: readonly string[]): Promise<void> {
    const { day, domain } = stored;
    const { submitter } = this.#options;
    const report = buildReport(day, domain, stored.counts, submitter);
    const gzipped = gzipReport(report);
    const done = [...stored.sending.done];
    const problems: string[] = [];
    for (const uri of rua.filter((candidate) => !done.includes(candidate))) {
      if (this.#stopping.signal.aborted) return;
      const delivered = await this.#deliverTo(uri, stored, gzipped);
      const method: ReportMethod = uri.toLowerCase().startsWith('mailto:') ? 'mailto' : 'https';
      if (delivered.ok) {
        this.#options.observer?.reportSent?.(method);
        this.#log.info({ day, domain, rua: uri, reportId: report['report-id'], bytes: gzipped.length }, 'tls report sent');
        done.push(uri);
      } else if (delivered.permanent) {
        this.#log.warn({ day, domain, rua: uri, reason: delivered.reason }, 'tls report rua not usable, skipped');
        done.push(uri);
      } else {
        this.#options.observer?.reportFailed?.(method);
        problems.push(delivered.reason);
      }
    }
    if (problems.length === 0) await this.#options.store.exclusive(() => this.#options.store.remove(day, domain));
    else await this.#failedRound(stored, done, problems);
  }

  async #deliverTo(uri: string, stored: StoredDay, gzipped: Buffer): Promise<Delivery> {
    const scheme = uri.slice(0, uri.indexOf(':')).toLowerCase();
    if (scheme === 'https') {
      const posted = await this.#options.poster.post(uri, gzipped, this.#stopping.signal);
      return posted.ok ? { ok: true } : { ok: false, reason: posted.reason, permanent: false };
    }
    if (scheme !== 'mailto') return { ok: false, reason: `${uri}: only mailto: and https: URIs take reports`, permanent: true };
    const to = mailtoAddress(uri);
    if (to === undefined) return { ok: false, reason: `${uri}: not a mail address`, permanent: true };
    const { submitter, clock, random } = this.#options;
    const { startMs, endMs } = reportRange(stored.day);
    const content = buildReportMessage({
      from: this.#options.fromAddress,
      to,
      policyDomain: stored.domain,
      submitter: submitter.hostname,
      organization: submitter.organization,
      reportId: reportId(stored.day, stored.domain, submitter.hostname),
      fileName: reportFileName(stored.day, stored.domain, submitter.hostname),
      gzipped,
      startIso: new Date(startMs).toISOString(),
      endIso: new Date(endMs).toISOString(),
      nowMs: clock.now(),
      uniqueToken: `tlsrpt.${stored.day.replace(/-/g, '')}.${clock.now().toString(36)}.${Math.floor(random() * 2 ** 32).toString(36)}`,
    });
    try {
      const queued = await this.#options.mail.queue(to, content);
      this.#log.debug({ qid: queued.id, rua: uri }, 'tls report queued');
      return { ok: true };
    } catch (error: unknown) {
      return { ok: false, reason: `${uri}: not queued: ${errorMessage(error)}`, permanent: false };
    }
  }

  /** A round left rua URIs without the report: retry later, or drop it after the last retry. */
  async #failedRound(stored: StoredDay, done: readonly string[], problems: readonly string[]): Promise<void> {
    const { store, clock } = this.#options;
    const { day, domain } = stored;
    const delays = this.#options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    const attempts = stored.sending.attempts + 1;
    const delayMs = delays[attempts - 1];
    if (delayMs === undefined) {
      this.#log.warn({ day, domain, attempts, problems }, 'tls report not sent, dropped after retries');
      await store.exclusive(() => store.remove(day, domain));
      return;
    }
    const nextAttemptMs = clock.now() + delayMs;
    this.#retryAtMs = Math.min(this.#retryAtMs ?? nextAttemptMs, nextAttemptMs);
    this.#log.warn({ day, domain, attempts, problems, nextAttempt: new Date(nextAttemptMs).toISOString() }, 'tls report not sent, will retry');
    await store.exclusive(async () => {
      // Counts flushed meanwhile are kept: only the sending state changes.
      const current = await store.read(day, domain);
      const counts = current.kind === 'found' ? current.stored.counts : stored.counts;
      await store.write([{ day, domain, counts, sending: { attempts, nextAttemptMs, done } }]);
    });
  }
}
