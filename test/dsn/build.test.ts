// Behaviour of buildDsn: RFC 3464 / RFC 6522 structure for failed and delayed
// reports, RFC 6533 global variant, line limits and injection safety.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildDsn, DELAYED_SUBJECT, FAILED_SUBJECT } from '../../src/dsn/build.js';
import type { DsnRecipient, DsnRequest } from '../../src/dsn/types.js';
import { OutpostError } from '../../src/core/errors.js';
import { ATTEMPT_MS, delayedRecipient } from './samples.js';
import { assertWellFormedLines, contentType, field, fieldValues, parseReport } from './report-parser.js';

const ARRIVAL_MS = Date.UTC(2026, 10, 26, 10, 0, 0);
const NOW_MS = Date.UTC(2026, 10, 26, 10, 6, 30);
const RETRY_UNTIL_MS = Date.UTC(2026, 11, 1, 10, 0, 0);
const ORIGINAL_HEADERS = 'Received: from client (127.0.0.1)\r\nFrom: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: Lunch?\r\nMessage-ID: <m1@example.org>\r\n';

const failedRecipient: DsnRecipient = {
  address: 'bob@example.net',
  action: 'failed',
  status: '5.1.1',
  diagnostic: '550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown',
  diagnosticIsRemote: true,
  remoteMta: 'mx1.example.net',
  lastAttemptMs: ATTEMPT_MS,
};


function request(overrides: Partial<DsnRequest> = {}): DsnRequest {
  return {
    hostname: 'mail.example.org',
    originalId: 'Q7F3K2',
    originalSender: 'alice@example.org',
    arrivalMs: ARRIVAL_MS,
    originalHeaders: ORIGINAL_HEADERS,
    recipients: [failedRecipient],
    willRetryUntilMs: undefined,
    nowMs: NOW_MS,
    uniqueToken: 'tok3n42',
    ...overrides,
  };
}

describe('buildDsn: a failed report', () => {
  const built = buildDsn(request());
  const report = parseReport(built.content);

  it('is addressed from <> to the original sender and needs no SMTPUTF8', () => {
    assert.equal(built.from, '');
    assert.equal(built.to, 'alice@example.org');
    assert.equal(built.smtputf8, false);
    assert.equal(built.body, '7BIT');
    assert.ok(!built.content.some((byte) => byte >= 0x80), 'a 7-bit report');
  });

  it('has the RFC 5322 / RFC 3834 top-level header fields', () => {
    const fields = report.top.fields;
    assert.equal(field(fields, 'From'), 'Mail Delivery System <MAILER-DAEMON@mail.example.org>');
    assert.equal(field(fields, 'To'), '<alice@example.org>');
    assert.equal(field(fields, 'Subject'), FAILED_SUBJECT);
    assert.equal(field(fields, 'Date'), 'Thu, 26 Nov 2026 10:06:30 +0000');
    assert.equal(field(fields, 'Message-ID'), '<tok3n42@mail.example.org>');
    assert.equal(field(fields, 'Auto-Submitted'), 'auto-replied');
    assert.equal(field(fields, 'MIME-Version'), '1.0');
    assert.ok(report.boundary.includes('tok3n42'));
  });

  it('has a human part, a message/delivery-status part and a text/rfc822-headers part, in that order', () => {
    assert.deepEqual(
      report.parts.map((part) => contentType(part.fields).type),
      ['text/plain', 'message/delivery-status', 'text/rfc822-headers'],
    );
    assert.equal(contentType(report.parts[0]?.fields ?? []).params.get('charset'), 'utf-8');
  });

  it('explains the failure in the human part with the remote reply quoted and what to do', () => {
    assert.match(report.human, /mail system at host mail\.example\.org/);
    assert.match(report.human, /<bob@example\.net>: host mx1\.example\.net said: 550 5\.1\.1/);
    assert.match(report.human.replace(/\s+/g, ' '), /Recipient address rejected: User unknown/);
    assert.match(report.human, /check each address/);
    assert.match(report.human, /permanent error/);
    assert.doesNotMatch(report.human, /only a warning/);
  });

  it('has the RFC 3464 §2.2 per-message fields', () => {
    assert.equal(field(report.perMessage, 'Reporting-MTA'), 'dns; mail.example.org');
    assert.equal(field(report.perMessage, 'X-Outpost-Queue-ID'), 'Q7F3K2');
    assert.equal(field(report.perMessage, 'Arrival-Date'), 'Thu, 26 Nov 2026 10:00:00 +0000');
  });

  it('has the RFC 3464 §2.3 per-recipient fields', () => {
    assert.equal(report.perRecipient.length, 1);
    const fields = report.perRecipient[0] ?? [];
    assert.equal(field(fields, 'Final-Recipient'), 'rfc822; bob@example.net');
    assert.equal(field(fields, 'Action'), 'failed');
    assert.equal(field(fields, 'Status'), '5.1.1');
    assert.equal(field(fields, 'Remote-MTA'), 'dns; mx1.example.net');
    assert.equal(field(fields, 'Diagnostic-Code'), `smtp; ${failedRecipient.diagnostic}`);
    assert.equal(field(fields, 'Last-Attempt-Date'), 'Thu, 26 Nov 2026 10:05:00 +0000');
    assert.deepEqual(fieldValues(fields, 'Will-Retry-Until'), []);
  });

  it('carries the original header section unchanged', () => {
    assert.equal(report.originalHeaders, ORIGINAL_HEADERS);
  });

  it('has CRLF line ends only and no line over 998 octets', () => {
    assertWellFormedLines(built.content);
  });

  it('is the same for the same request (deterministic)', () => {
    assert.deepEqual(buildDsn(request()).content, built.content);
  });
});

describe('buildDsn: a delayed report', () => {
  const built = buildDsn(request({ recipients: [delayedRecipient], willRetryUntilMs: RETRY_UNTIL_MS }));
  const report = parseReport(built.content);
  const fields = report.perRecipient[0] ?? [];

  it('says the mail is delayed, not returned', () => {
    assert.equal(field(report.top.fields, 'Subject'), DELAYED_SUBJECT);
  });

  it('has Action delayed, Will-Retry-Until, and an X-Outpost diagnostic for a local condition', () => {
    assert.equal(field(fields, 'Action'), 'delayed');
    assert.equal(field(fields, 'Status'), '4.4.1');
    assert.equal(field(fields, 'Will-Retry-Until'), 'Tue, 1 Dec 2026 10:00:00 +0000');
    assert.equal(field(fields, 'Diagnostic-Code'), `X-Outpost; ${delayedRecipient.diagnostic}`);
    assert.deepEqual(fieldValues(fields, 'Remote-MTA'), [], 'no Remote-MTA when none answered');
    assert.equal(field(fields, 'Last-Attempt-Date'), 'Thu, 26 Nov 2026 10:05:00 +0000');
  });

  it('tells the sender no action is needed and until when we keep trying', () => {
    const text = report.human.replace(/\s+/g, ' ');
    assert.match(text, /only a warning/);
    assert.match(text, /No action is needed/);
    assert.match(text, /until Tue, 1 Dec 2026 10:00:00 \+0000/);
    assert.match(text, /<carol@example\.com>: connection refused by mx\.example\.com\[192\.0\.2\.1\]:25/);
  });
});

describe('buildDsn: several recipients', () => {
  const unattempted: DsnRecipient = {
    address: 'dave@null.example',
    action: 'failed',
    status: '5.1.10',
    diagnostic: 'null MX: null.example accepts no mail',
    diagnosticIsRemote: false,
    remoteMta: undefined,
    lastAttemptMs: undefined,
  };
  const expired: DsnRecipient = { ...delayedRecipient, address: 'erin@example.com', action: 'failed', status: '4.4.7' };
  const built = buildDsn(
    request({ recipients: [failedRecipient, unattempted, expired, delayedRecipient], willRetryUntilMs: RETRY_UNTIL_MS }),
  );
  const report = parseReport(built.content);

  it('has one per-recipient group per recipient, in order', () => {
    assert.deepEqual(
      report.perRecipient.map((fields) => field(fields, 'Final-Recipient')),
      ['rfc822; bob@example.net', 'rfc822; dave@null.example', 'rfc822; erin@example.com', 'rfc822; carol@example.com'],
    );
    assert.deepEqual(report.perRecipient.map((fields) => field(fields, 'Action')), ['failed', 'failed', 'failed', 'delayed']);
    assert.deepEqual(report.perRecipient.map((fields) => field(fields, 'Status')), ['5.1.1', '5.1.10', '4.4.7', '4.4.1']);
  });

  it('leaves out Last-Attempt-Date when there was no attempt, and Will-Retry-Until on failed recipients', () => {
    assert.deepEqual(fieldValues(report.perRecipient[1] ?? [], 'Last-Attempt-Date'), []);
    assert.deepEqual(fieldValues(report.perRecipient[2] ?? [], 'Will-Retry-Until'), []);
    assert.equal(field(report.perRecipient[3] ?? [], 'Will-Retry-Until'), 'Tue, 1 Dec 2026 10:00:00 +0000');
  });

  it('uses the failure subject when any recipient failed, and names every recipient in the human part', () => {
    assert.equal(field(report.top.fields, 'Subject'), FAILED_SUBJECT);
    for (const address of ['bob@example.net', 'dave@null.example', 'erin@example.com', 'carol@example.com']) {
      assert.ok(report.human.includes(`<${address}>`), address);
    }
    assert.doesNotMatch(report.human, /only a warning/, 'no reassurance when something failed');
  });

  it('replaces a malformed status code with the generic one for the action', () => {
    const odd = buildDsn(request({ recipients: [{ ...failedRecipient, status: 'bogus\r\nX: y' }] }));
    assert.equal(field(parseReport(odd.content).perRecipient[0] ?? [], 'Status'), '5.0.0');
  });
});

describe('buildDsn: UTF-8 addresses (RFC 6533)', () => {
  const utf8Recipient: DsnRecipient = { ...failedRecipient, address: 'josé@exämple.net', diagnostic: '550 5.1.1 unknown user josé' };

  it('uses message/global-delivery-status with the utf-8 address type and message/global-headers', () => {
    const headers = 'From: José <jose@example.org>\r\nSubject: Grüße\r\n';
    const built = buildDsn(request({ recipients: [utf8Recipient, failedRecipient], originalHeaders: headers }));
    assert.equal(built.smtputf8, true);
    assert.equal(built.body, '8BITMIME');
    const report = parseReport(built.content);
    assert.deepEqual(
      report.parts.map((part) => contentType(part.fields).type),
      ['text/plain', 'message/global-delivery-status', 'message/global-headers'],
    );
    assert.equal(field(report.top.fields, 'Content-Transfer-Encoding'), '8bit');
    assert.equal(field(report.perRecipient[0] ?? [], 'Final-Recipient'), 'utf-8; josé@exämple.net');
    assert.equal(field(report.perRecipient[0] ?? [], 'Diagnostic-Code'), 'smtp; 550 5.1.1 unknown user josé');
    assert.equal(field(report.perRecipient[1] ?? [], 'Final-Recipient'), 'rfc822; bob@example.net');
    assert.equal(report.originalHeaders, headers);
    assert.ok(report.human.includes('<josé@exämple.net>'));
    assertWellFormedLines(built.content);
  });

  it('goes global when only the original sender is UTF-8', () => {
    const built = buildDsn(request({ originalSender: 'ünïcode@example.org' }));
    assert.equal(built.smtputf8, true);
    assert.equal(built.to, 'ünïcode@example.org');
    const report = parseReport(built.content);
    assert.equal(field(report.top.fields, 'To'), '<ünïcode@example.org>');
    assert.equal(contentType(report.parts[1]?.fields ?? []).type, 'message/global-delivery-status');
  });

  it('stays 7-bit for ASCII addresses, quoting UTF-8 text as quoted-printable and keeping delivery-status ASCII', () => {
    const headers = 'From: José <jose@example.org>\r\nSubject: Grüße\r\n';
    const built = buildDsn(
      request({ originalHeaders: headers, recipients: [{ ...failedRecipient, diagnostic: '550 5.7.1 Zugriff verweigert – Spam' }] }),
    );
    assert.equal(built.smtputf8, false);
    assert.equal(built.body, '7BIT');
    assert.ok(!built.content.some((byte) => byte >= 0x80), 'a 7-bit report');
    const report = parseReport(built.content);
    assert.equal(field(report.parts[0]?.fields ?? [], 'Content-Transfer-Encoding'), 'quoted-printable');
    assert.ok(report.human.replace(/\s+/g, ' ').includes('Zugriff verweigert – Spam'));
    assert.equal(field(report.perRecipient[0] ?? [], 'Diagnostic-Code'), 'smtp; 550 5.7.1 Zugriff verweigert ? Spam');
    assert.equal(contentType(report.parts[2]?.fields ?? []).params.get('charset'), 'utf-8');
    assert.equal(report.originalHeaders, headers);
  });
});

describe('buildDsn: line lengths', () => {
  it('folds a long diagnostic at whitespace and keeps every line within limits', () => {
    const words = Array.from({ length: 400 }, (_, index) => `word${index}`).join(' ');
    const built = buildDsn(request({ recipients: [{ ...failedRecipient, diagnostic: `550 5.1.1 ${words}` }] }));
    assertWellFormedLines(built.content);
    const text = built.content.toString('utf8');
    const statusSection = text.slice(text.indexOf('Diagnostic-Code:'), text.indexOf('Last-Attempt-Date:'));
    for (const line of statusSection.split('\r\n')) assert.ok(line.length <= 78, `folded line of ${line.length}`);
    const report = parseReport(built.content);
    assert.equal(field(report.perRecipient[0] ?? [], 'Diagnostic-Code'), `smtp; 550 5.1.1 ${words}`);
  });

  it('cuts a diagnostic word longer than a line, and caps diagnostic length', () => {
    const long = 'x'.repeat(3000);
    const built = buildDsn(request({ recipients: [{ ...failedRecipient, diagnostic: `550 ${long}` }] }));
    assertWellFormedLines(built.content);
    const diagnostic = field(parseReport(built.content).perRecipient[0] ?? [], 'Diagnostic-Code');
    assert.ok(diagnostic.startsWith('smtp; 550 xxx'));
    assert.equal(diagnostic.replace(/ /g, '').length, 'smtp;550'.length + 3000);

    const huge = buildDsn(request({ recipients: [{ ...failedRecipient, diagnostic: `550 ${'y '.repeat(10000)}` }] }));
    assertWellFormedLines(huge.content);
    assert.ok(huge.content.length < 20000, 'a hostile reply cannot bloat the report');
  });

  it('cuts an over-long original header line and a long UTF-8 line without splitting a character', () => {
    const headers = `Subject: ${'a'.repeat(2500)}\r\nX-Long: ${'é'.repeat(1200)}\r\nTo: bob@example.net\r\n`;
    for (const sender of ['alice@example.org', 'älice@example.org']) {
      const built = buildDsn(request({ originalSender: sender, originalHeaders: headers }));
      assertWellFormedLines(built.content);
      const original = parseReport(built.content).originalHeaders;
      assert.ok(!original.includes('\uFFFD'), 'no broken character');
      assert.equal(original.replace(/\r\n /g, ''), headers);
    }
  });

  it('normalizes bare LF and CR in the original headers to CRLF and drops empty lines', () => {
    const built = buildDsn(request({ originalHeaders: 'From: a@example.org\nSubject: x\r\rTo: b@example.net\r\n\r\nBody: no\r\n' }));
    assertWellFormedLines(built.content);
    assert.equal(parseReport(built.content).originalHeaders, 'From: a@example.org\r\nSubject: x\r\nTo: b@example.net\r\nBody: no\r\n');
  });
});

describe('buildDsn: injection attempts', () => {
  const hostile = '550 bad\r\nBcc: x@y\r\n\r\n--=_outpost_tok3n42\nContent-Type: text/html\rX-Evil: 1\u0000\u2028Y: 2';

  function allHeaderBlocks(content: Buffer): string[] {
    const report = parseReport(content);
    return [report.top.fields, ...report.parts.map((part) => part.fields), report.perMessage, ...report.perRecipient].flatMap(
      (fields) => fields.map((f) => f.name.toLowerCase()),
    );
  }

  it('keeps a diagnostic with line breaks on one field: no Bcc header, no extra part', () => {
    const built = buildDsn(request({ recipients: [{ ...failedRecipient, diagnostic: hostile }] }));
    assertWellFormedLines(built.content);
    const names = allHeaderBlocks(built.content);
    for (const name of ['bcc', 'x-evil', 'y']) assert.ok(!names.includes(name), `injected ${name}`);
    assert.doesNotMatch(built.content.toString('latin1'), /^(Bcc|X-Evil|Y):/im);
    const report = parseReport(built.content);
    const diagnostic = field(report.perRecipient[0] ?? [], 'Diagnostic-Code');
    assert.equal(diagnostic, 'smtp; 550 bad Bcc: x@y --=_outpost_tok3n42 Content-Type: text/html X-Evil: 1 Y: 2');
    assert.ok(!/[\u0000-\u001f\u007f\u2028]/.test(report.human.replace(/\r\n/g, '')), 'no control characters in the human part');
  });

  it('neutralizes line breaks in addresses, the remote MTA name, the queue ID and the token', () => {
    const built = buildDsn(
      request({
        originalSender: 'alice@example.org\r\nBcc: x@y',
        originalId: 'Q1\r\nBcc: x@y',
        uniqueToken: 'tok\r\nBcc: x@y',
        recipients: [{ ...failedRecipient, address: 'bob@example.net\r\nBcc: x@y', remoteMta: 'mx1\r\nBcc: x@y' }],
      }),
    );
    assertWellFormedLines(built.content);
    assert.ok(!allHeaderBlocks(built.content).includes('bcc'));
    assert.ok(!built.to.includes('\n') && !built.to.includes('\r'));
    assert.doesNotMatch(built.content.toString('latin1'), /^Bcc:/im);
  });

  it('writes a non-ASCII hostname as A-labels and makes a Message-ID from a token of stray characters', () => {
    const built = buildDsn(request({ hostname: 'mäil.example.org', uniqueToken: '<>@ \r\n' }));
    const fields = parseReport(built.content).top.fields;
    assert.equal(built.smtputf8, false);
    assert.equal(field(fields, 'From'), 'Mail Delivery System <MAILER-DAEMON@xn--mil-qla.example.org>');
    assert.match(field(fields, 'Message-ID'), /^<Q7F3K2\.\d+@xn--mil-qla\.example\.org>$/);
  });

  it('picks another boundary when the original headers contain the default one', () => {
    const headers = 'X-A: 1\r\n--=_outpost_tok3n42\r\n--=_outpost_tok3n42_1--\r\n';
    const built = buildDsn(request({ originalHeaders: headers }));
    const report = parseReport(built.content);
    assert.equal(report.boundary, '=_outpost_tok3n42_2');
    assert.equal(report.originalHeaders, headers);
  });
});

describe('buildDsn: caller errors', () => {
  it('refuses a report for the null sender <>', () => {
    assert.throws(() => buildDsn(request({ originalSender: '' })), (error) => error instanceof OutpostError && error.code === 'EDSN');
  });

  it('refuses a report without recipients', () => {
    assert.throws(() => buildDsn(request({ recipients: [] })), (error) => error instanceof OutpostError && error.code === 'EDSN');
  });
});
