// Builds the trace header prepended to every accepted message
// (RFC 5321 §4.4, RFC 3848 protocol types, RFC 6531 §3.7.3 UTF8SMTP types).

import { isIP } from 'node:net';
import { formatRfc5322DateMs } from '../core/date.js';

export interface ReceivedFields {
  readonly helo: string;
  readonly clientAddress: string;
  readonly hostname: string;
  readonly queueId: string;
  readonly esmtp: boolean;
  readonly tls: { readonly protocol: string; readonly cipher: string } | null;
  readonly authenticated: boolean;
  readonly smtputf8: boolean;
  /** Named only when the message has exactly one recipient (privacy of the others). */
  readonly singleRecipient: string | undefined;
  readonly date: Date;
}

/** RFC 3848 "with" keyword: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA (UTF8 variants per RFC 6531). */
export function protocolKeyword(fields: Pick<ReceivedFields, 'esmtp' | 'tls' | 'authenticated' | 'smtputf8'>): string {
  if (!fields.esmtp) return 'SMTP';
  const base = fields.smtputf8 ? 'UTF8SMTP' : 'ESMTP';
  return `${base}${fields.tls === null ? '' : 'S'}${fields.authenticated ? 'A' : ''}`;
}

/** The client's address as an RFC 5321 address literal. */
export function addressLiteral(address: string): string {
  return isIP(address) === 6 ? `[IPv6:${address}]` : `[${address}]`;
}

/** A HELO argument made safe for a header comment: printable ASCII without parentheses or backslashes. */
function sanitizeHelo(helo: string): string {
  const cleaned = helo.replace(/[^\x21-\x7e]|[()\\]/g, '?').slice(0, 255);
  return cleaned === '' ? 'unknown' : cleaned;
}

/** The complete header field with CRLF line ends, folded per RFC 5322 §2.2.3. */
export function buildReceivedHeader(fields: ReceivedFields): string {
  const tlsComment = fields.tls === null ? '' : ` (using ${fields.tls.protocol} with cipher ${fields.tls.cipher})`;
  const forClause = fields.singleRecipient === undefined ? '' : `\r\n\tfor <${fields.singleRecipient}>`;
  return (
    `Received: from ${sanitizeHelo(fields.helo)} (${addressLiteral(fields.clientAddress)})\r\n` +
    `\tby ${fields.hostname} (outpost)${tlsComment} with ${protocolKeyword(fields)} id ${fields.queueId}` +
    `${forClause};\r\n\t${formatRfc5322DateMs(fields.date.getTime())}\r\n`
  );
}
