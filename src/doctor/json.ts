// The machine-readable form of a doctor report (`outpost doctor --json`), a stable shape.
//
// `outpost doctor [DOMAIN] --json` prints one JSON object:
//
//   { "ok": true | false,            // false when any check has status "fail"
//     "checks": [{
//       "domain":  "example.org",    // the local domain; host-wide checks (hostname, ptr, and
//                                    // spf of the HELO name) use the configured hostname
//       "check":   "spf" | "dkim" | "dmarc" | "ptr" | "hostname" | "mx" | "srv" | "mta-sts" | "tls-rpt",
//       "status":  "ok" | "warn" | "fail",
//       "subject": "203.0.113.5" | "s1._domainkey.example.org" | "_dmarc.example.org" | ... | null,
//                                    // what the row is about (an address, a record name, a key
//                                    // file, "HELO <hostname>"); null for the domain as a whole
//       "detail":  "…",              // one line of human text
//       "fix":     "…" | null         // for warn/fail: the record to publish in zone-file form
//                                    // ("name. IN TXT \"…\"") or the change to make; else null
//     }] }
//
// Rows come in a fixed order: hostname, ptr, HELO spf, then per domain (sorted) spf, dkim,
// dmarc, mx, srv, mta-sts, tls-rpt, then DKIM key-file problems. The exit status is 0 when
// "ok" is true, 1 otherwise. Fields may be added; these are not renamed.

import type { DoctorReport } from './report.js';

export interface DoctorReportJson {
  readonly ok: boolean;
  readonly checks: readonly {
    readonly domain: string;
    readonly check: string;
    readonly status: string;
    readonly subject: string | null;
    readonly detail: string;
    readonly fix: string | null;
  }[];
}

export function reportToJson(report: DoctorReport): DoctorReportJson {
  return {
    ok: report.ok,
    checks: report.checks.map((check) => ({ domain: check.domain, check: check.check, status: check.status, subject: check.subject, detail: check.detail, fix: check.fix })),
  };
}
