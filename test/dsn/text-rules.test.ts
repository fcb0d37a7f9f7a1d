// Table and property tests for the DSN text rules: folding (RFC 5322 §2.2.3),
// quoted-printable (RFC 2045 §6.7), sanitizing, dates (RFC 5322 §3.3).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatRfc5322DateMs } from '../../src/core/date.js';
import { foldField, wrapText } from '../../src/dsn/fold.js';
import { encodeQuotedPrintableLines } from '../../src/dsn/quoted-printable.js';
import { sanitizeLine, splitOctets } from '../../src/dsn/text.js';
import { buildDsn } from '../../src/dsn/build.js';
import type { DsnRecipient } from '../../src/dsn/types.js';
import { pick, seededRandom } from '../helpers/seeded-random.js';
import { assertWellFormedLines, decodeQuotedPrintable, field, parseFields, parseReport } from './report-parser.js';

describe('foldField', () => {
  it('keeps a short field on one line', () => {
    assert.equal(foldField('Action', 'failed'), 'Action: failed\r\n');
  });

  it('folds before whitespace near 78 octets and unfolds to the original value', () => {
    const value = Array.from({ length: 60 }, (_, index) => `w${index}`).join(' ');
    const folded = foldField('Diagnostic-Code', value);
    const lines = folded.slice(0, -2).split('\r\n');
    assert.ok(lines.length > 1);
    for (const line of lines) assert.ok(line.length <= 78);
    for (const line of lines.slice(1)) assert.ok(line.startsWith(' ') && !line.startsWith('  '));
    assert.equal(parseFields(folded)[0]?.value, value);
  });

  it('never produces a whitespace-only line, even from runs of spaces', () => {
    const folded = foldField('X', `a${' '.repeat(200)}b`);
    assert.equal(folded, 'X: a b\r\n');
  });
});

describe('wrapText', () => {
  it('wraps at the width with an indent on continuation lines', () => {
    assert.deepEqual(wrapText('aaa bbb ccc ddd', 8, '  '), ['aaa bbb', '  ccc', '  ddd']);
  });

  it('cuts words over 900 octets', () => {
    const lines = wrapText('z'.repeat(2000), 72);
    assert.deepEqual(lines.map((line) => line.length), [900, 900, 200]);
  });
});

describe('sanitizeLine and splitOctets', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['550 ok', '550 ok'],
    ['550 a\r\nBcc: b', '550 a Bcc: b'],
    ['  550\ttab\u0000nul\u007fdel\u0085nel\u2028ls\u202eRLO  ', '550 tab nul del nel ls RLO'],
    ['\r\n', ''],
  ];
  for (const [input, expected] of cases) {
    it(`sanitizes ${JSON.stringify(input)}`, () => assert.equal(sanitizeLine(input), expected));
  }

  it('splits on character boundaries by octets', () => {
    assert.deepEqual(splitOctets('ééé', 4), ['éé', 'é']);
    assert.deepEqual(splitOctets('a😀b', 4), ['a', '😀', 'b']);
    assert.deepEqual(splitOctets('', 4), ['']);
  });
});

describe('encodeQuotedPrintableLines', () => {
  it('escapes "=", 8-bit octets and trailing whitespace', () => {
    assert.deepEqual(encodeQuotedPrintableLines(['a=b é ', 'tab\t']), ['a=3Db =C3=A9=20', 'tab=09']);
  });

  it('round-trips random text with lines of at most 76 characters', () => {
    const random = seededRandom(3464);
    const alphabet = ['a', ' ', '=', 'é', '–', '😀', '\t', '.', 'Z', '-'];
    for (let round = 0; round < 200; round += 1) {
      const lines = Array.from({ length: 1 + Math.floor(random() * 4) }, () =>
        Array.from({ length: Math.floor(random() * 200) }, () => pick(random, alphabet)).join(''),
      );
      const encoded = encodeQuotedPrintableLines(lines);
      for (const line of encoded) {
        assert.ok(line.length <= 76, `encoded line of ${line.length}`);
        assert.match(line, /^[\x21-\x7e \t]*$/);
        assert.ok(!/[ \t]$/.test(line), 'no trailing whitespace');
      }
      assert.equal(decodeQuotedPrintable(`${encoded.join('\r\n')}\r\n`), `${lines.join('\r\n')}\r\n`);
    }
  });
});

describe('formatRfc5322DateMs', () => {
  it('formats UTC dates with day and month names', () => {
    assert.equal(formatRfc5322DateMs(Date.UTC(2026, 10, 26, 10, 0, 0)), 'Thu, 26 Nov 2026 10:00:00 +0000');
    assert.equal(formatRfc5322DateMs(Date.UTC(2027, 0, 3, 4, 5, 6)), 'Sun, 3 Jan 2027 04:05:06 +0000');
  });
});

describe('buildDsn: property test with hostile random input', () => {
  it('always yields well-formed lines, three parts and one field per recipient value', () => {
    const random = seededRandom(6533);
    const alphabet = ['a', 'b', ' ', '\r', '\n', '\r\n', '\t', '\u0000', ':', 'é', '😀', '--', '=_outpost_t', 'Bcc: x@y', '\u2028', 'x'.repeat(300)];
    const text = (maxPieces: number): string =>
      Array.from({ length: Math.floor(random() * maxPieces) }, () => pick(random, alphabet)).join('');
    for (let round = 0; round < 150; round += 1) {
      const recipients: DsnRecipient[] = Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({
        address: `${text(5)}u@example.net`,
        action: pick(random, ['failed', 'delayed'] as const),
        status: pick(random, ['5.1.1', '4.4.7', '', 'x']),
        diagnostic: text(30),
        diagnosticIsRemote: random() < 0.5,
        remoteMta: random() < 0.5 ? undefined : text(4),
        lastAttemptMs: random() < 0.5 ? undefined : 1_800_000_000_000,
      }));
      const built = buildDsn({
        hostname: 'mail.example.org',
        originalId: 'Q1',
        originalSender: `${text(4)}s@example.org`,
        arrivalMs: 1_800_000_000_000,
        originalHeaders: text(40),
        recipients,
        willRetryUntilMs: 1_800_400_000_000,
        nowMs: 1_800_000_100_000,
        uniqueToken: 't',
      });
      assertWellFormedLines(built.content);
      const report = parseReport(built.content);
      assert.equal(report.perRecipient.length, recipients.length);
      for (const fields of report.perRecipient) {
        assert.match(field(fields, 'Action'), /^(failed|delayed)$/);
        assert.match(field(fields, 'Status'), /^[245]\.\d+\.\d+$/);
        assert.ok(fields.every((f) => /^(Final-Recipient|Action|Status|Remote-MTA|Diagnostic-Code|Last-Attempt-Date|Will-Retry-Until)$/.test(f.name)), 'only known fields');
      }
      assert.ok(!report.top.fields.some((f) => f.name.toLowerCase() === 'bcc'));
    }
  });
});
