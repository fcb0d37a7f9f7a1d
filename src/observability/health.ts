// Health checks for `GET /healthz`: named injected callbacks (listeners bound,
// spool writable, ...) run together, each bounded by a deadline.

import type { Clock } from '../core/clock.js';
import type { Logger } from './logger.js';
import { withDeadline } from './deadline.js';

/** A check's answer with figures for the JSON body (e.g. the spool disk's free bytes). */
export interface CheckResult {
  readonly ok: boolean;
  readonly detail: Readonly<Record<string, number | string>>;
}

/** True (or `ok`) when the part is healthy; may be async (e.g. a spool write probe). */
export type HealthCheck = () => boolean | CheckResult | Promise<boolean | CheckResult>;
export type HealthChecks = Readonly<Record<string, HealthCheck>>;

/** `fail`: the check said false; `timeout`: no answer in time; `error`: it threw. */
export type CheckState = 'ok' | 'fail' | 'timeout' | 'error';

export interface HealthReport {
  readonly healthy: boolean;
  /** One state per check, in the order the checks were given. */
  readonly checks: Readonly<Record<string, CheckState>>;
  /** The figures of the checks that gave some, by check name. */
  readonly details: Readonly<Record<string, CheckResult['detail']>>;
}

export interface HealthCheckOptions {
  readonly clock: Clock;
  readonly timeoutMs: number;
  readonly logger: Logger;
}

/** Runs every check concurrently; healthy only when all are `ok`. Failures are logged by name. */
export async function runHealthChecks(checks: HealthChecks, options: HealthCheckOptions): Promise<HealthReport> {
  const names = Object.keys(checks);
  const details: Record<string, CheckResult['detail']> = {};
  const states = await Promise.all(
    names.map(async (name): Promise<CheckState> => {
      const check = checks[name];
      if (check === undefined) return 'error';
      const result = await withDeadline(check, options.clock, options.timeoutMs);
      if (result.state === 'done') {
        if (typeof result.value === 'boolean') return result.value ? 'ok' : 'fail';
        details[name] = result.value.detail;
        return result.value.ok ? 'ok' : 'fail';
      }
      if (result.state === 'error') options.logger.warn({ check: name, err: result.error }, 'health check failed');
      else options.logger.warn({ check: name, timeoutMs: options.timeoutMs }, 'health check timed out');
      return result.state;
    }),
  );
  const report: Record<string, CheckState> = {};
  names.forEach((name, index) => {
    report[name] = states[index] ?? 'error';
  });
  return { healthy: states.every((state) => state === 'ok'), checks: report, details };
}
