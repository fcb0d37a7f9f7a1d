// The human form of a doctor report: a table (domain, check, status, detail),
// with an indented "publish:" (a record, zone-file form) or "fix:" line under each problem.

import type { DoctorCheck, DoctorReport } from './report.js';

const HEADER = { domain: 'DOMAIN', check: 'CHECK', status: 'STATUS' } as const;

/** "publish:" when the fix is a zone-file record (`name. IN TYPE ...`), "fix:" for instructions. */
export function fixLabel(fix: string): 'publish:' | 'fix:' {
  return /^\S+\. IN [A-Z]+ /.test(fix) ? 'publish:' : 'fix:';
}

function detailText(check: DoctorCheck): string {
  return check.subject === null ? check.detail : `${check.subject}: ${check.detail}`;
}

function summary(report: DoctorReport): string {
  const count = (status: DoctorCheck['status']): number => report.checks.filter((check) => check.status === status).length;
  const failures = count('fail');
  const verdict = failures === 0 ? 'nothing fails' : `${failures} failing`;
  return `${report.checks.length} checks: ${count('ok')} ok, ${count('warn')} warn, ${failures} fail (${verdict})`;
}

export function reportToText(report: DoctorReport): string {
  const domainWidth = Math.max(HEADER.domain.length, ...report.checks.map((check) => check.domain.length));
  const checkWidth = Math.max(HEADER.check.length, ...report.checks.map((check) => check.check.length));
  const statusWidth = HEADER.status.length;
  const indent = ' '.repeat(domainWidth + checkWidth + statusWidth + 6);
  const line = (domain: string, check: string, status: string, detail: string): string =>
    `${domain.padEnd(domainWidth)}  ${check.padEnd(checkWidth)}  ${status.padEnd(statusWidth)}  ${detail}`.trimEnd();
  const lines = [line(HEADER.domain, HEADER.check, HEADER.status, 'DETAIL')];
  for (const check of report.checks) {
    lines.push(line(check.domain, check.check, check.status, detailText(check)));
    if (check.fix !== null && check.status !== 'ok') lines.push(`${indent}${fixLabel(check.fix)} ${check.fix}`);
  }
  lines.push('', summary(report));
  return lines.join('\n');
}
