// The serve-time doctor monitor on a manual clock: runs at start and every
// interval, logs each warn/fail as a warning, survives failing runs, stops;
// and the outpost_doctor_check gauge it feeds.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_DOCTOR_INTERVAL_MS, DoctorMonitor } from '../../src/doctor/monitor.js';
import { doctorReport, type DoctorCheck, type DoctorReport } from '../../src/doctor/report.js';
import { Metrics } from '../../src/observability/metrics.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog } from '../helpers/memory-log.js';

const row = (domain: string, check: DoctorCheck['check'], status: DoctorCheck['status'], subject: string | null = null): DoctorCheck => ({
  domain,
  check,
  status,
  subject,
  detail: `${check} is ${status}`,
  fix: status === 'ok' ? null : 'publish something',
});

const REPORT = doctorReport([row('example.org', 'spf', 'ok'), row('example.org', 'dmarc', 'warn'), row('mail.example.org', 'ptr', 'fail', '203.0.113.5')]);

/** A run function whose calls the test answers one by one. */
function scriptedRuns(): { run: () => Promise<DoctorReport>; calls: number; answer: (report: DoctorReport | Error) => void } {
  const pending: ((report: DoctorReport | Error) => void)[] = [];
  const runs = {
    calls: 0,
    run: () =>
      new Promise<DoctorReport>((resolve, reject) => {
        runs.calls += 1;
        pending.push((report) => (report instanceof Error ? reject(report) : resolve(report)));
      }),
    answer: (report: DoctorReport | Error) => pending.shift()?.(report),
  };
  return runs;
}

describe('doctor monitor', () => {
  it('runs at start and again every interval after each run ends', async () => {
    const clock = new ManualClock();
    const log = memoryLog();
    const runs = scriptedRuns();
    const reports: DoctorReport[] = [];
    const monitor = new DoctorMonitor({ run: runs.run, clock, logger: log.logger, intervalMs: 60_000, onReport: (report) => reports.push(report) });
    monitor.start();
    assert.equal(runs.calls, 1);
    clock.advance(120_000);
    assert.equal(runs.calls, 1, 'no second run while the first is in progress');
    runs.answer(REPORT);
    await monitor.idle();
    assert.deepEqual(reports, [REPORT]);
    assert.equal(monitor.lastReport, REPORT);
    await clock.waitForTimers(1);
    clock.advance(59_999);
    assert.equal(runs.calls, 1);
    clock.advance(1);
    assert.equal(runs.calls, 2);
    runs.answer(REPORT);
    await monitor.stop();
    assert.equal(clock.pendingTimers, 0, 'nothing scheduled after stop');
  });

  it('logs one warning per warn or fail row with its fields, none for ok rows', async () => {
    const clock = new ManualClock();
    const log = memoryLog();
    const runs = scriptedRuns();
    const monitor = new DoctorMonitor({ run: runs.run, clock, logger: log.logger });
    monitor.start();
    runs.answer(REPORT);
    await monitor.idle();
    const lines = log.messages('dns doctor check not ok');
    assert.deepEqual(
      lines.map((line) => [line['level'], line['domain'], line['check'], line['status'], line['subject'], line['detail']]),
      [
        [40, 'example.org', 'dmarc', 'warn', null, 'dmarc is warn'],
        [40, 'mail.example.org', 'ptr', 'fail', '203.0.113.5', 'ptr is fail'],
      ],
    );
    await monitor.stop();
  });

  it('logs a failed run and still runs again at the next interval; defaults to 6 hours', async () => {
    const clock = new ManualClock();
    const log = memoryLog();
    const runs = scriptedRuns();
    const monitor = new DoctorMonitor({ run: runs.run, clock, logger: log.logger, onReport: () => { throw new Error('handler broke'); } });
    monitor.start();
    runs.answer(new Error('resolver exploded'));
    await monitor.idle();
    assert.equal(log.messages('dns doctor run failed').length, 1);
    await clock.waitForTimers(1);
    clock.advance(DEFAULT_DOCTOR_INTERVAL_MS);
    assert.equal(runs.calls, 2);
    runs.answer(REPORT);
    await monitor.idle();
    assert.equal(log.messages('dns doctor report handler failed').length, 1);
    await monitor.stop();
  });

  it('sets outpost_doctor_check to 0 for a (domain, check) with any failing row, else 1', async () => {
    const metrics = new Metrics();
    metrics.doctorReport([...REPORT.checks, row('mail.example.org', 'ptr', 'ok', '2001:db8::5')]);
    const text = await metrics.render();
    assert.match(text, /^# TYPE outpost_doctor_check gauge$/m);
    assert.match(text, /^outpost_doctor_check\{domain="example.org",check="spf"\} 1$/m);
    assert.match(text, /^outpost_doctor_check\{domain="example.org",check="dmarc"\} 1$/m);
    assert.match(text, /^outpost_doctor_check\{domain="mail.example.org",check="ptr"\} 0$/m);
    metrics.doctorReport([row('mail.example.org', 'ptr', 'ok', '203.0.113.5')]);
    assert.match(await metrics.render(), /^outpost_doctor_check\{domain="mail.example.org",check="ptr"\} 1$/m);
  });
});
