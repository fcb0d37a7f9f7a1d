// The aggregate report (RFC 8460 §4, JSON as in §4.4 and Appendix B): one UTC
// day of one policy domain, field names exactly the RFC's; its report id, the
// §5.1 file name and the gzip body (§5.3: application/tlsrpt+gzip).

import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { DomainDay } from './aggregate.js';
import { dayStartMs } from './store.js';
import type { FailureDetails } from './types.js';

const DAY_MS = 24 * 60 * 60_000;

export interface ReportSubmitter {
  /** "organization-name". */
  readonly organization: string;
  /** "contact-info". */
  readonly contact: string;
  /** Our host name: the sending domain of the §5.1 file name, right side of the report id. */
  readonly hostname: string;
}

export interface FailureDetailsJson {
  readonly 'result-type': string;
  readonly 'sending-mta-ip'?: string;
  readonly 'receiving-mx-hostname'?: string;
  readonly 'receiving-mx-helo'?: string;
  readonly 'receiving-ip'?: string;
  readonly 'failed-session-count': number;
  readonly 'additional-information'?: string;
  readonly 'failure-reason-code'?: string;
}

export interface PolicyResultJson {
  readonly policy: {
    readonly 'policy-type': string;
    readonly 'policy-string': readonly string[];
    readonly 'policy-domain': string;
    readonly 'mx-host': readonly string[];
  };
  readonly summary: { readonly 'total-successful-session-count': number; readonly 'total-failure-session-count': number };
  readonly 'failure-details': readonly FailureDetailsJson[];
}

export interface TlsReportJson {
  readonly 'organization-name': string;
  readonly 'date-range': { readonly 'start-datetime': string; readonly 'end-datetime': string };
  readonly 'contact-info': string;
  readonly 'report-id': string;
  readonly policies: readonly PolicyResultJson[];
}

/** The day's first and last second (the RFC example ends at 23:59:59Z), in ms. */
export function reportRange(day: string): { readonly startMs: number; readonly endMs: number } {
  const startMs = dayStartMs(day);
  return { startMs, endMs: startMs + DAY_MS - 1000 };
}

/** "20261126.example.net@mail.example.org": one per day, domain and submitter, the same on every retry; msg-id shaped for the §5.3 Subject. */
export function reportId(day: string, domain: string, hostname: string): string {
  return `${day.replace(/-/g, '')}.${domain}@${hostname}`;
}

/** §5.1: sender "!" policy-domain "!" begin-timestamp "!" end-timestamp "!" unique-id ".json.gz". */
export function reportFileName(day: string, domain: string, hostname: string): string {
  const { startMs, endMs } = reportRange(day);
  const unique = createHash('sha256').update(reportId(day, domain, hostname)).digest('hex').slice(0, 16);
  return `${hostname}!${domain}!${startMs / 1000}!${endMs / 1000}!${unique}.json.gz`;
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function detailsJson(details: FailureDetails, count: number): FailureDetailsJson {
  const optional = (name: keyof FailureDetailsJson, value: string | undefined): Record<string, string> => (value === undefined || value === '' ? {} : { [name]: value });
  return {
    'result-type': details.resultType,
    ...optional('sending-mta-ip', details.sendingMtaIp),
    ...optional('receiving-mx-hostname', details.receivingMxHostname),
    ...optional('receiving-mx-helo', details.receivingMxHelo),
    ...optional('receiving-ip', details.receivingIp),
    'failed-session-count': count,
    ...optional('additional-information', details.additionalInformation),
    ...optional('failure-reason-code', details.failureReasonCode),
  } as FailureDetailsJson;
}

/** The report of `counts` (one domain, one day). */
export function buildReport(day: string, domain: string, counts: DomainDay, submitter: ReportSubmitter): TlsReportJson {
  const { startMs, endMs } = reportRange(day);
  return {
    'organization-name': submitter.organization,
    'date-range': { 'start-datetime': isoSeconds(startMs), 'end-datetime': isoSeconds(endMs) },
    'contact-info': submitter.contact,
    'report-id': reportId(day, domain, submitter.hostname),
    policies: [...counts.policies.values()].map(({ policy, successes, failures, details }) => ({
      policy: { 'policy-type': policy.type, 'policy-string': [...policy.strings], 'policy-domain': policy.domain, 'mx-host': [...policy.mxHosts] },
      summary: { 'total-successful-session-count': successes, 'total-failure-session-count': failures },
      'failure-details': [...details.values()].map(({ details: fields, count }) => detailsJson(fields, count)),
    })),
  };
}

/** The report as sent: JSON (UTF-8), gzip-compressed (§5.3). */
export function gzipReport(report: TlsReportJson): Buffer {
  return gzipSync(Buffer.from(JSON.stringify(report), 'utf8'));
}
