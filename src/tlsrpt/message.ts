// The report as an email (RFC 8460 §5.3): multipart/report; report-type="tlsrpt"
// with a short text part and the gzip JSON as application/tlsrpt+gzip in base64,
// TLS-Report-Domain and TLS-Report-Submitter fields, the §5.3 Subject, 7-bit, CRLF.

import { formatRfc5322DateMs } from '../core/date.js';
import { foldField } from '../dsn/fold.js';
import { textPart } from '../dsn/mime.js';
import { sanitizeLine } from '../dsn/text.js';

const PREAMBLE = 'This is a MIME-encapsulated message.';
const BASE64_LINE_CHARS = 76;

export interface ReportMessageInput {
  /** The From: address (ASCII). */
  readonly from: string;
  /** The rua mailto: address. */
  readonly to: string;
  readonly policyDomain: string;
  /** The submitting domain (our host name): TLS-Report-Submitter and the Subject's "Submitter:". */
  readonly submitter: string;
  readonly organization: string;
  readonly reportId: string;
  readonly fileName: string;
  readonly gzipped: Buffer;
  /** The report's range, for the text part. */
  readonly startIso: string;
  readonly endIso: string;
  readonly nowMs: number;
  /** Letters, digits, "." and "-" for the Message-ID and the boundary. */
  readonly uniqueToken: string;
}

function base64Lines(data: Buffer): string[] {
  const text = data.toString('base64');
  const lines: string[] = [];
  for (let start = 0; start < text.length; start += BASE64_LINE_CHARS) lines.push(text.slice(start, start + BASE64_LINE_CHARS));
  return lines;
}

/** A MIME parameter value as a quoted-string (RFC 2045 §5.1). */
function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/** The complete message, CRLF line ends, ready to be spooled. */
export function buildReportMessage(input: ReportMessageInput): Buffer {
  const token = input.uniqueToken.replace(/[^A-Za-z0-9.-]/g, '') || 'report';
  const boundary = `=_outpost_tlsrpt_${token.slice(0, 40)}`;
  const organization = sanitizeLine(input.organization, 200);
  const text = textPart(
    'text/plain; charset=utf-8',
    'TLS report',
    [
      `This is an aggregate TLS report (RFC 8460) from ${organization} (${input.submitter})`,
      `about connections to the mail servers of ${input.policyDomain}.`,
      '',
      `Report-ID: ${input.reportId}`,
      `Period: ${input.startIso} to ${input.endIso}`,
      '',
      'You receive it because the rua= field of the TLS reporting record',
      `_smtp._tls.${input.policyDomain} names this address.`,
    ],
    false,
  );
  const header =
    foldField('From', `<${input.from}>`) +
    foldField('To', `<${input.to}>`) +
    foldField('Subject', `Report Domain: ${input.policyDomain} Submitter: ${input.submitter} Report-ID: <${input.reportId}>`) +
    foldField('Date', formatRfc5322DateMs(input.nowMs)) +
    foldField('Message-ID', `<${token}@${input.submitter}>`) +
    foldField('TLS-Report-Domain', input.policyDomain) +
    foldField('TLS-Report-Submitter', input.submitter) +
    // RFC 8460 §3: reports are delivered despite TLS failures (RFC 8689 TLS-Required: No).
    foldField('TLS-Required', 'No') +
    foldField('Auto-Submitted', 'auto-generated') +
    foldField('MIME-Version', '1.0') +
    foldField('Content-Type', `multipart/report; report-type="tlsrpt"; boundary="${boundary}"`) +
    foldField('Content-Transfer-Encoding', '7bit');
  const textSection =
    `--${boundary}\r\n` +
    foldField('Content-Type', text.contentType) +
    foldField('Content-Transfer-Encoding', text.encoding) +
    '\r\n' +
    text.lines.map((line) => `${line}\r\n`).join('');
  const reportSection =
    `--${boundary}\r\n` +
    foldField('Content-Type', `application/tlsrpt+gzip; name=${quoted(input.fileName)}`) +
    foldField('Content-Disposition', `attachment; filename=${quoted(input.fileName)}`) +
    foldField('Content-Transfer-Encoding', 'base64') +
    '\r\n' +
    base64Lines(input.gzipped).map((line) => `${line}\r\n`).join('');
  return Buffer.from(`${header}\r\n${PREAMBLE}\r\n\r\n${textSection}\r\n${reportSection}\r\n--${boundary}--\r\n`, 'utf8');
}
