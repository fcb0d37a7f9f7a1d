// The machine-readable part of a report: message/delivery-status fields
// (RFC 3464 §2.2 per-message, §2.3 per-recipient), with the RFC 6533 §3
// "utf-8" address type when the report is message/global-delivery-status.

import { formatRfc5322DateMs } from '../core/date.js';
import { foldField } from './fold.js';
import { hasNonAscii, toAscii } from './text.js';
import type { DsnRecipient } from './types.js';

/** RFC 3463 §2: class.subject.detail. */
const STATUS_CODE = /^[245]\.\d{1,3}\.\d{1,3}$/;

/** Sanitized inputs of the part (see build.ts). */
export interface DeliveryStatusInput {
  readonly hostname: string;
  readonly originalId: string;
  readonly arrivalMs: number;
  readonly recipients: readonly DsnRecipient[];
  readonly willRetryUntilMs: number | undefined;
  /** message/global-delivery-status (UTF-8 allowed) rather than 7-bit message/delivery-status. */
  readonly global: boolean;
}

/** The Status value: the given code when well formed, else the generic one for the action. */
export function statusCode(recipient: DsnRecipient): string {
  if (STATUS_CODE.test(recipient.status)) return recipient.status;
  return recipient.action === 'failed' ? '5.0.0' : '4.0.0';
}

/** RFC 3464 §2.3.2 address-type: "rfc822" for ASCII, "utf-8" (RFC 6533 §3) for UTF-8 in a global report. */
function typedAddress(address: string, global: boolean): string {
  if (!hasNonAscii(address)) return `rfc822; ${address}`;
  return global ? `utf-8; ${address}` : `rfc822; ${toAscii(address)}`;
}

function recipientFields(recipient: DsnRecipient, input: DeliveryStatusInput): string {
  const text = (value: string): string => (input.global ? value : toAscii(value));
  let fields =
    foldField('Final-Recipient', typedAddress(recipient.address, input.global)) +
    foldField('Action', recipient.action) +
    foldField('Status', statusCode(recipient));
  if (recipient.remoteMta !== undefined && recipient.remoteMta !== '') {
    fields += foldField('Remote-MTA', `dns; ${text(recipient.remoteMta)}`);
  }
  if (recipient.diagnostic !== '') {
    // §2.3.6: "smtp" only for the remote server's own reply; local conditions get our X- type.
    const diagnosticType = recipient.diagnosticIsRemote ? 'smtp' : 'X-Outpost';
    fields += foldField('Diagnostic-Code', `${diagnosticType}; ${text(recipient.diagnostic)}`);
  }
  if (recipient.lastAttemptMs !== undefined) {
    fields += foldField('Last-Attempt-Date', formatRfc5322DateMs(recipient.lastAttemptMs));
  }
  if (recipient.action === 'delayed' && input.willRetryUntilMs !== undefined) {
    fields += foldField('Will-Retry-Until', formatRfc5322DateMs(input.willRetryUntilMs));
  }
  return fields;
}

/** The part's content with CRLF line ends: the per-message group, then one group per recipient, blank lines between. */
export function deliveryStatusContent(input: DeliveryStatusInput): string {
  const perMessage =
    foldField('Reporting-MTA', `dns; ${input.hostname}`) +
    foldField('X-Outpost-Queue-ID', input.originalId) +
    foldField('Arrival-Date', formatRfc5322DateMs(input.arrivalMs));
  return [perMessage, ...input.recipients.map((recipient) => recipientFields(recipient, input))].join('\r\n');
}
