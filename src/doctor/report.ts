// What `outpost doctor` finds: one row per check with ok / warn / fail, the
// subject it is about, a detail and, for problems, the exact record to publish or fix.

export type DoctorCheckName = 'spf' | 'dkim' | 'dmarc' | 'ptr' | 'hostname' | 'mx' | 'srv' | 'mta-sts' | 'tls-rpt';

export type DoctorStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  /** The local domain, or the configured hostname for host-wide checks (ptr, hostname, HELO spf). */
  readonly domain: string;
  readonly check: DoctorCheckName;
  readonly status: DoctorStatus;
  /** What the row is about: an address, a selector, a record name; null for the domain as a whole. */
  readonly subject: string | null;
  readonly detail: string;
  /** For warn/fail: what to publish or change, zone-file form where it is a record; else null. */
  readonly fix: string | null;
}

export interface DoctorReport {
  /** True when no check failed (warnings allowed). */
  readonly ok: boolean;
  readonly checks: readonly DoctorCheck[];
}

export function doctorReport(checks: readonly DoctorCheck[]): DoctorReport {
  return { ok: checks.every((check) => check.status !== 'fail'), checks };
}

/** Builds rows of one check for one domain. */
export function rowMaker(domain: string, check: DoctorCheckName) {
  const row = (status: DoctorStatus, subject: string | null, detail: string, fix: string | null = null): DoctorCheck => ({ domain, check, status, subject, detail, fix });
  return {
    ok: (subject: string | null, detail: string): DoctorCheck => row('ok', subject, detail),
    warn: (subject: string | null, detail: string, fix: string | null = null): DoctorCheck => row('warn', subject, detail, fix),
    fail: (subject: string | null, detail: string, fix: string | null = null): DoctorCheck => row('fail', subject, detail, fix),
  };
}

export type RowMaker = ReturnType<typeof rowMaker>;

/** A zone-file TXT line: `name. IN TXT "value"`, cut into 255-octet strings when long. */
export function txtZoneLine(name: string, value: string): string {
  const strings: string[] = [];
  for (let start = 0; start < value.length; start += 255) strings.push(`"${value.slice(start, start + 255).replace(/["\\]/g, '\\$&')}"`);
  return `${name}. IN TXT ${strings.length > 1 ? `( ${strings.join(' ')} )` : (strings[0] ?? '""')}`;
}
