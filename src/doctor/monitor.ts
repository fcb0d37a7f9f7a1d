// The serve-time DNS doctor: runs the checks at start and every interval on the
// injected clock, logs each warn/fail as one warning line, hands each report on
// (metrics), and never throws: a failed run is logged and the next one still comes.

import type { Logger } from 'pino';
import type { Clock, Timer } from '../core/clock.js';
import type { DoctorReport } from './report.js';

export const DEFAULT_DOCTOR_INTERVAL_MS = 6 * 60 * 60 * 1000;

export interface DoctorMonitorOptions {
  readonly run: () => Promise<DoctorReport>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Default 6 hours. */
  readonly intervalMs?: number;
  /** Called with every completed report (e.g. metrics.doctorReport). */
  readonly onReport?: (report: DoctorReport) => void;
}

export class DoctorMonitor {
  private readonly intervalMs: number;
  private timer: Timer | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private last: DoctorReport | undefined;

  constructor(private readonly options: DoctorMonitorOptions) {
    this.intervalMs = options.intervalMs ?? DEFAULT_DOCTOR_INTERVAL_MS;
  }

  /** The latest completed report, if any. */
  get lastReport(): DoctorReport | undefined {
    return this.last;
  }

  /** Runs the checks now, then every interval after each run ends. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.runOnce();
  }

  /** Cancels the next run; a run in progress finishes but schedules nothing. Resolves when it has. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    await this.running;
  }

  /** Resolves when the run in progress (if any) has ended; for tests and shutdown. */
  async idle(): Promise<void> {
    await this.running;
  }

  private runOnce(): void {
    this.timer = undefined;
    this.running = this.check().finally(() => {
      this.running = undefined;
      if (!this.stopped) this.timer = this.options.clock.setTimer(this.intervalMs, () => this.runOnce());
    });
  }

  private async check(): Promise<void> {
    const { logger } = this.options;
    let report: DoctorReport;
    try {
      report = await this.options.run();
    } catch (error: unknown) {
      logger.warn({ err: error }, 'dns doctor run failed');
      return;
    }
    this.last = report;
    for (const check of report.checks) {
      if (check.status === 'ok') continue;
      logger.warn({ domain: check.domain, check: check.check, status: check.status, subject: check.subject, detail: check.detail, fix: check.fix }, 'dns doctor check not ok');
    }
    try {
      this.options.onReport?.(report);
    } catch (error: unknown) {
      logger.warn({ err: error }, 'dns doctor report handler failed');
    }
  }
}
