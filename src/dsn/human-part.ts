// The human-readable first part of a delivery report (RFC 3464 §2.1, RFC 6522
// §3): what happened to which recipient, the remote reply quoted, what to do.

import { formatRfc5322DateMs } from '../core/date.js';
import { wrapText } from './fold.js';
import type { DsnRecipient, DsnRequest } from './types.js';

const WIDTH_CHARACTERS = 72;
const RECIPIENT_INDENT = '    ';

/** Request fields after sanitizing (see build.ts). */
export interface HumanPartInput {
  readonly request: DsnRequest;
  readonly hostname: string;
  readonly originalId: string;
  readonly recipients: readonly DsnRecipient[];
}

function paragraph(text: string): string[] {
  return [...wrapText(text, WIDTH_CHARACTERS), ''];
}

/** "<rcpt>: host mx.example.net said: 550 5.1.1 ..." or "<rcpt>: <local reason>". */
export function describeRecipient(recipient: DsnRecipient): string {
  const reason = recipient.diagnostic === '' ? `delivery status ${recipient.status}` : recipient.diagnostic;
  if (!recipient.diagnosticIsRemote) return `<${recipient.address}>: ${reason}`;
  const who = recipient.remoteMta === undefined ? 'the remote mail server' : `host ${recipient.remoteMta}`;
  return `<${recipient.address}>: ${who} said: ${reason}`;
}

function recipientLines(recipients: readonly DsnRecipient[]): string[] {
  return recipients.flatMap((recipient) => [
    ...wrapText(describeRecipient(recipient), WIDTH_CHARACTERS, RECIPIENT_INDENT),
    '',
  ]);
}

function failedSection(failed: readonly DsnRecipient[], hostname: string): string[] {
  if (failed.length === 0) return [];
  return [
    ...paragraph(
      'Your message could not be delivered to the recipients below. This is a permanent error: ' +
        'the mail system has given up on them and will not try again.',
    ),
    ...recipientLines(failed),
    ...paragraph(
      'What you can do: check each address above for typing mistakes, or ask the recipient for an ' +
        'address that works, then send your message again. If you think the problem is on our side, ' +
        `forward this report to postmaster@${hostname}.`,
    ),
  ];
}

function delayedSection(delayed: readonly DsnRecipient[], willRetryUntilMs: number | undefined, onlyDelays: boolean): string[] {
  if (delayed.length === 0) return [];
  const until =
    willRetryUntilMs === undefined ? 'for a few more days' : `until ${formatRfc5322DateMs(willRetryUntilMs)}`;
  return [
    ...(onlyDelays ? paragraph('This is only a warning: you do not need to send your message again.') : []),
    ...paragraph('Your message has not yet been delivered to the recipients below, because of a temporary problem:'),
    ...recipientLines(delayed),
    ...paragraph(
      `No action is needed on your part: the mail system keeps trying ${until}. ` +
        'If the message still cannot be delivered by then, you will receive another notice.',
    ),
  ];
}

/** The part's text as lines (no line ends). */
export function humanPartLines(input: HumanPartInput): string[] {
  const { request, hostname, originalId, recipients } = input;
  const failed = recipients.filter((recipient) => recipient.action === 'failed');
  const delayed = recipients.filter((recipient) => recipient.action === 'delayed');
  return [
    ...paragraph(`This is the mail system at host ${hostname}.`),
    ...failedSection(failed, hostname),
    ...delayedSection(delayed, request.willRetryUntilMs, failed.length === 0),
    ...paragraph(
      `Your message (queue ID ${originalId}) arrived on ${formatRfc5322DateMs(request.arrivalMs)}. ` +
        'Its headers are attached below, after the machine-readable delivery report.',
    ),
    'The mail system',
  ];
}
