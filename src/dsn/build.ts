// Builds a complete bounce or delay notice: an RFC 3464 / RFC 6522
// multipart/report (RFC 6533 global variant for UTF-8 addresses), from <>,
// marked Auto-Submitted (RFC 3834 §5), ready to be spooled (CRLF, unstuffed).

import { domainToASCII } from 'node:url';
import { OutpostError } from '../core/errors.js';
import { formatRfc5322DateMs } from '../core/date.js';
import { deliveryStatusContent } from './delivery-status.js';
import { foldField } from './fold.js';
import { humanPartLines } from './human-part.js';
import { chooseBoundary, contentLines, multipartBody, textPart } from './mime.js';
import type { MimePart } from './mime.js';
import { originalHeaderLines } from './original-headers.js';
import { hasNonAscii, sanitizeLine, sanitizeToken, toAscii } from './text.js';
import type { BuiltDsn, DsnRecipient, DsnRequest } from './types.js';

export const FAILED_SUBJECT = 'Undelivered Mail Returned to Sender';
export const DELAYED_SUBJECT = 'Delayed Mail (still being retried)';
const PREAMBLE = 'This is a MIME-encapsulated message.';
const MAX_ADDRESS_OCTETS = 990;
/** RFC 1035 §2.3.4: a domain name is at most 255 octets. */
const MAX_HOSTNAME_OCTETS = 255;
const MAX_TOKEN_CHARACTERS = 64;

/** Remote or configured text made safe: single line, no controls (no field injection). */
function sanitizeRecipient(recipient: DsnRecipient): DsnRecipient {
  const remoteMta = recipient.remoteMta === undefined ? '' : sanitizeToken(recipient.remoteMta);
  return {
    address: sanitizeLine(recipient.address, MAX_ADDRESS_OCTETS),
    action: recipient.action,
    status: recipient.status.trim(),
    diagnostic: sanitizeLine(recipient.diagnostic),
    diagnosticIsRemote: recipient.diagnosticIsRemote,
    remoteMta: remoteMta === '' ? undefined : remoteMta,
    lastAttemptMs: recipient.lastAttemptMs,
  };
}

/** Our name as ASCII (A-labels, RFC 5890), so the From field never needs SMTPUTF8. */
function reportingHostname(configured: string): string {
  const cleaned = sanitizeToken(configured, MAX_HOSTNAME_OCTETS);
  const ascii = hasNonAscii(cleaned) ? domainToASCII(cleaned) : cleaned;
  return ascii === '' ? 'localhost' : ascii;
}

/** dot-atom-text for the Message-ID's left side (RFC 5322 §3.6.4). */
function messageIdLeft(request: DsnRequest, originalId: string): string {
  const dotAtom = (raw: string): string =>
    raw
      .replace(/[^A-Za-z0-9._-]/g, '')
      .slice(0, MAX_TOKEN_CHARACTERS)
      .replace(/\.{2,}/g, '.')
      .replace(/^\.+|\.+$/g, '');
  return dotAtom(request.uniqueToken) || dotAtom(`${originalId}.${request.nowMs}`) || `dsn.${request.nowMs}`;
}

function reportParts(request: DsnRequest, hostname: string, originalId: string, recipients: readonly DsnRecipient[], global: boolean): MimePart[] {
  const human = textPart(
    'text/plain; charset=utf-8',
    'Notification',
    humanPartLines({ request, hostname, originalId, recipients }),
    global,
  );
  const statusContent = deliveryStatusContent({
    hostname,
    originalId,
    arrivalMs: request.arrivalMs,
    recipients,
    willRetryUntilMs: request.willRetryUntilMs,
    global,
  });
  // message/delivery-status is 7-bit only (RFC 3464 §2.1.1); the global type may carry UTF-8 (RFC 6533 §6.1).
  const status = global
    ? textPart('message/global-delivery-status', 'Delivery report', contentLines(statusContent), true)
    : textPart('message/delivery-status', 'Delivery report', contentLines(toAscii(statusContent)), false);
  const headerLines = originalHeaderLines(request.originalHeaders);
  const headersType = global
    ? 'message/global-headers'
    : headerLines.some(hasNonAscii) ? 'text/rfc822-headers; charset=utf-8' : 'text/rfc822-headers';
  const headers = textPart(headersType, 'Original message headers', headerLines, global);
  return [human, status, headers];
}

/**
 * The report for `request`. Throws OutpostError (a caller bug) when the
 * original sender is the null path or no recipient is reported.
 */
export function buildDsn(request: DsnRequest): BuiltDsn {
  const sender = sanitizeLine(request.originalSender, MAX_ADDRESS_OCTETS);
  if (sender === '') throw new OutpostError('EDSN', 'no delivery status notification for the null sender <>');
  if (request.recipients.length === 0) throw new OutpostError('EDSN', 'a delivery status notification needs a recipient');
  const hostname = reportingHostname(request.hostname);
  const originalId = sanitizeToken(request.originalId) || 'unknown';
  const recipients = request.recipients.map(sanitizeRecipient);
  const global = hasNonAscii(sender) || recipients.some((recipient) => hasNonAscii(recipient.address));

  const parts = reportParts(request, hostname, originalId, recipients, global);
  const boundary = chooseBoundary(request.uniqueToken, parts);
  const eightBit = parts.some((part) => part.encoding === '8bit');
  const anyFailed = recipients.some((recipient) => recipient.action === 'failed');
  const header =
    foldField('From', `Mail Delivery System <MAILER-DAEMON@${hostname}>`) +
    foldField('To', `<${sender}>`) +
    foldField('Subject', anyFailed ? FAILED_SUBJECT : DELAYED_SUBJECT) +
    foldField('Date', formatRfc5322DateMs(request.nowMs)) +
    foldField('Message-ID', `<${messageIdLeft(request, originalId)}@${hostname}>`) +
    foldField('Auto-Submitted', 'auto-replied') +
    foldField('MIME-Version', '1.0') +
    foldField('Content-Type', `multipart/report; report-type=delivery-status; boundary="${boundary}"`) +
    foldField('Content-Transfer-Encoding', eightBit ? '8bit' : '7bit');
  const content = `${header}\r\n${multipartBody(boundary, PREAMBLE, parts)}`;
  return { from: '', to: sender, content: Buffer.from(content, 'utf8'), smtputf8: global, body: eightBit ? '8BITMIME' : '7BIT' };
}
