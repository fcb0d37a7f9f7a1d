// Interop: Python's stdlib `email` package (policy.default) parses our
// reports as RFC 3464 multipart/report, including the RFC 6533 global variant.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { buildDsn } from '../../src/dsn/build.js';
import type { DsnRecipient, DsnRequest } from '../../src/dsn/types.js';
import { ATTEMPT_MS, delayedRecipient } from './samples.js';

const PYTHON_PARSER = String.raw`
import sys, json, email, email.policy
from email.parser import Parser

policy = email.policy.default
message = email.message_from_bytes(sys.stdin.buffer.read(), policy=policy)

# BytesParser keeps 8-bit header octets (RFC 6532 UTF-8) as surrogate escapes; turn them back into text.
def text(value):
    return str(value).encode('utf-8', 'surrogateescape').decode('utf-8')

def fields(headers):
    return [[name, text(value)] for name, value in headers.items()]

def status_groups(part):
    if part.get_content_type() == 'message/delivery-status':
        return [fields(block) for block in part.get_payload()]
    # message/global-delivery-status: the stdlib reads it as a message whose
    # header section is the per-message group and whose body holds the rest.
    inner = part.get_payload()[0]
    rest = inner.get_payload(decode=True).decode('utf-8').replace('\r\n', '\n')
    return [fields(inner)] + [fields(Parser(policy=policy).parsestr(block + '\n')) for block in rest.split('\n\n') if block.strip()]

def original_headers(part):
    if part.get_content_type() == 'message/global-headers':
        return fields(part.get_payload()[0])
    return fields(Parser(policy=policy).parsestr(part.get_content()))

parts = list(message.iter_parts())
print(json.dumps({
    'contentType': message.get_content_type(),
    'reportType': message.get_param('report-type'),
    'from': text(message['From']),
    'to': [text(address.addr_spec) for address in message['To'].addresses],
    'subject': text(message['Subject']),
    'date': message['Date'].datetime.isoformat(),
    'messageId': str(message['Message-ID']),
    'autoSubmitted': str(message['Auto-Submitted']),
    'partTypes': [part.get_content_type() for part in parts],
    'defects': [repr(defect) for part in message.walk() for defect in part.defects],
    'human': text(parts[0].get_content()),
    'status': status_groups(parts[1]),
    'originalHeaders': original_headers(parts[2]),
}, ensure_ascii=False))
`;

interface PythonView {
  readonly contentType: string;
  readonly reportType: string;
  readonly from: string;
  readonly to: string[];
  readonly subject: string;
  readonly date: string;
  readonly messageId: string;
  readonly autoSubmitted: string;
  readonly partTypes: string[];
  readonly defects: string[];
  readonly human: string;
  readonly status: Array<Array<[string, string]>>;
  readonly originalHeaders: Array<[string, string]>;
}

const hasPython = spawnSync('python3', ['--version']).status === 0;

function parseWithPython(content: Buffer): PythonView {
  const result = spawnSync('python3', ['-c', PYTHON_PARSER], {
    input: content,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, PYTHONIOENCODING: 'utf-8' },
  });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as PythonView;
}

function group(view: PythonView, index: number): Map<string, string> {
  return new Map(view.status[index] ?? []);
}

const recipients: DsnRecipient[] = [
  {
    address: 'bob@example.net',
    action: 'failed',
    status: '5.1.1',
    diagnostic: `550 5.1.1 <bob@example.net>: Recipient address rejected: ${'very long explanation '.repeat(8)}\r\nBcc: x@y`,
    diagnosticIsRemote: true,
    remoteMta: 'mx1.example.net',
    lastAttemptMs: ATTEMPT_MS,
  },
  delayedRecipient,
];

const baseRequest: DsnRequest = {
  hostname: 'mail.example.org',
  originalId: 'Q7F3K2',
  originalSender: 'alice@example.org',
  arrivalMs: Date.UTC(2026, 10, 26, 10, 0, 0),
  originalHeaders: 'From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: Lunch?\r\n',
  recipients,
  willRetryUntilMs: Date.UTC(2026, 11, 1, 10, 0, 0),
  nowMs: Date.UTC(2026, 10, 26, 10, 6, 30),
  uniqueToken: 'py42',
};

describe('Python email package reads our reports', { skip: hasPython ? false : 'python3 not installed' }, () => {
  it('parses a failed/delayed report as multipart/report with its delivery-status fields', () => {
    const view = parseWithPython(buildDsn(baseRequest).content);
    assert.deepEqual(view.defects, []);
    assert.equal(view.contentType, 'multipart/report');
    assert.equal(view.reportType, 'delivery-status');
    assert.deepEqual(view.partTypes, ['text/plain', 'message/delivery-status', 'text/rfc822-headers']);
    assert.equal(view.from, 'Mail Delivery System <MAILER-DAEMON@mail.example.org>');
    assert.deepEqual(view.to, ['alice@example.org']);
    assert.equal(view.subject, 'Undelivered Mail Returned to Sender');
    assert.equal(view.date, '2026-11-26T10:06:30+00:00');
    assert.equal(view.messageId, '<py42@mail.example.org>');
    assert.equal(view.autoSubmitted, 'auto-replied');
    assert.match(view.human, /host mx1\.example\.net said: 550 5\.1\.1/);

    assert.equal(view.status.length, 3);
    const perMessage = group(view, 0);
    assert.equal(perMessage.get('Reporting-MTA'), 'dns; mail.example.org');
    assert.equal(perMessage.get('X-Outpost-Queue-ID'), 'Q7F3K2');
    assert.equal(perMessage.get('Arrival-Date'), 'Thu, 26 Nov 2026 10:00:00 +0000');
    const failed = group(view, 1);
    assert.equal(failed.get('Final-Recipient'), 'rfc822; bob@example.net');
    assert.equal(failed.get('Action'), 'failed');
    assert.equal(failed.get('Status'), '5.1.1');
    assert.equal(failed.get('Remote-MTA'), 'dns; mx1.example.net');
    assert.match(failed.get('Diagnostic-Code') ?? '', /^smtp; 550 5\.1\.1 <bob@example\.net>: Recipient address rejected: (very long explanation ){8}Bcc: x@y$/);
    assert.equal(failed.has('Bcc'), false);
    assert.equal(failed.get('Last-Attempt-Date'), 'Thu, 26 Nov 2026 10:05:00 +0000');
    const delayed = group(view, 2);
    assert.equal(delayed.get('Action'), 'delayed');
    assert.equal(delayed.get('Diagnostic-Code'), 'X-Outpost; connection refused by mx.example.com[192.0.2.1]:25');
    assert.equal(delayed.get('Will-Retry-Until'), 'Tue, 1 Dec 2026 10:00:00 +0000');
    assert.deepEqual(view.originalHeaders, [['From', 'Alice <alice@example.org>'], ['To', 'bob@example.net'], ['Subject', 'Lunch?']]);
  });

  it('parses the RFC 6533 global variant with UTF-8 addresses and headers', () => {
    const built = buildDsn({
      ...baseRequest,
      originalSender: 'älice@example.org',
      originalHeaders: 'From: Älice <älice@example.org>\r\nSubject: Grüße\r\n',
      recipients: [{ ...recipients[0]!, address: 'josé@exämple.net', diagnostic: '550 5.1.1 unbekannt: josé' }],
    });
    assert.equal(built.smtputf8, true);
    const view = parseWithPython(built.content);
    assert.deepEqual(view.defects, []);
    assert.deepEqual(view.partTypes, ['text/plain', 'message/global-delivery-status', 'message/global-headers']);
    assert.deepEqual(view.to, ['älice@example.org']);
    assert.equal(group(view, 1).get('Final-Recipient'), 'utf-8; josé@exämple.net');
    assert.equal(group(view, 1).get('Diagnostic-Code'), 'smtp; 550 5.1.1 unbekannt: josé');
    assert.match(view.human, /<josé@exämple\.net>/);
    assert.deepEqual(view.originalHeaders, [['From', 'Älice <älice@example.org>'], ['Subject', 'Grüße']]);
  });

  it('decodes the quoted-printable parts of a 7-bit report carrying UTF-8 text', () => {
    const view = parseWithPython(
      buildDsn({
        ...baseRequest,
        originalHeaders: 'Subject: Grüße aus Köln\r\n',
        recipients: [{ ...recipients[0]!, diagnostic: '550 5.7.1 Zugriff verweigert – Spam' }],
      }).content,
    );
    assert.deepEqual(view.defects, []);
    assert.match(view.human.replace(/\s+/g, ' '), /Zugriff verweigert – Spam/);
    assert.deepEqual(view.originalHeaders, [['Subject', 'Grüße aus Köln']]);
    assert.equal(group(view, 1).get('Diagnostic-Code'), 'smtp; 550 5.7.1 Zugriff verweigert ? Spam');
  });
});
