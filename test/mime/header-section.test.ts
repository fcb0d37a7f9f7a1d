// Header sections: folding lines over 998 octets at white space (RFC 5322
// §2.2.3, §3.2.2), the field edits of a re-encoding, and reading MIME fields
// (RFC 2045 §5.1, §6.1, RFC 2231 continuations).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { foldLine, rewriteSection } from '../../src/mime/header-section.js';
import { parseContentType, parseTransferEncoding } from '../../src/mime/media-fields.js';

const text = (pieces: readonly Buffer[] | undefined): string[] | undefined => pieces?.map((piece) => piece.toString('latin1'));

describe('folding a header line', () => {
  it('leaves a line of 998 octets alone', () => {
    const line = Buffer.from(`Subject: ${'x'.repeat(989)}`);
    assert.deepEqual(text(foldLine(line)), [line.toString('latin1')]);
  });

  it('breaks before white space near 78 octets, and unfolding gives the line back', () => {
    const line = `To: ${Array.from({ length: 80 }, (_, n) => `"User ${n}" <u${n}@example.net>`).join(', ')}`;
    const pieces = text(foldLine(Buffer.from(line))) ?? [];
    assert.ok(pieces.length > 20);
    assert.ok(pieces.every((piece) => piece.length <= 78), 'every piece within 78 octets');
    assert.ok(pieces.slice(1).every((piece) => /^[ \t]\S/.test(piece)), 'continuations start with one WSP, then content');
    assert.equal(pieces.join(''), line);
  });

  it('never breaks before the value starts, never leaves a line of white space only, breaks at the first WSP of a run', () => {
    const line = `X-A: ${'w'.repeat(100)}   ${'v'.repeat(950)}    `;
    const pieces = text(foldLine(Buffer.from(line)));
    assert.deepEqual(pieces, [`X-A: ${'w'.repeat(100)}`, `   ${'v'.repeat(950)}    `]);
  });

  it('takes a break beyond 78 octets when there is none before, and gives up when a piece would pass 998', () => {
    assert.deepEqual(text(foldLine(Buffer.from(`X-B: ${'a'.repeat(500)} ${'b'.repeat(600)}`))), [`X-B: ${'a'.repeat(500)}`, ` ${'b'.repeat(600)}`]);
    assert.equal(foldLine(Buffer.from(`X-C: ${'a'.repeat(1000)} b`)), undefined);
    assert.equal(foldLine(Buffer.from(`X-D: ${'a'.repeat(1000)}`)), undefined);
    assert.equal(foldLine(Buffer.from(`X-E:${' '.repeat(1000)}`)), undefined, 'white space only: nothing to fold before');
  });

  it('keeps 8-bit UTF-8 intact (breaks only at ASCII WSP)', () => {
    const line = Buffer.from(`Subject: ${'Grüße aus Köln '.repeat(80)}`.trimEnd());
    const pieces = foldLine(line) ?? [];
    assert.equal(Buffer.concat(pieces).toString('utf8'), line.toString('utf8'));
    assert.ok(pieces.every((piece) => !piece.toString('utf8').includes('\ufffd')));
  });
});

describe('rewriting a section', () => {
  const section = Buffer.from('From: a@example.org\r\nContent-Transfer-Encoding: 8bit\r\nSubject: s\r\ncontent-transfer-encoding:\r\n  7bit\r\n');

  it('replaces every Content-Transfer-Encoding with one, where the first stood', () => {
    const result = rewriteSection(section, { transferEncoding: 'quoted-printable' });
    assert.ok(result.ok);
    assert.equal(result.section.toString(), 'From: a@example.org\r\nContent-Transfer-Encoding: quoted-printable\r\nSubject: s\r\n');
  });

  it('appends fields, and the encoding at the end when there was none', () => {
    const result = rewriteSection(Buffer.from('Subject: s\r\n'), { transferEncoding: 'base64', append: ['MIME-Version: 1.0', 'Content-Type: application/octet-stream'] });
    assert.ok(result.ok);
    assert.equal(result.section.toString(), 'Subject: s\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n');
  });

  it('without edits, changes nothing but long lines', () => {
    const unchanged = rewriteSection(section);
    assert.ok(unchanged.ok && unchanged.section.equals(section) && unchanged.foldedLines === 0);
    const long = rewriteSection(Buffer.from(`Subject: ${'word '.repeat(300)}\r\nX: y\r\n`));
    assert.ok(long.ok && long.foldedLines === 1);
    assert.equal(long.section.toString().replace(/\r\n(?=[ \t])/g, ''), `Subject: ${'word '.repeat(300)}\r\nX: y\r\n`);
    assert.deepEqual(rewriteSection(Buffer.from(`X: ${'z'.repeat(1200)}\r\n`)), { ok: false, unfoldableLineOctets: 1203 });
  });
});

describe('MIME fields', () => {
  const cases: ReadonlyArray<[string, string, { type: string; subtype: string; parameters: Record<string, string> } | undefined]> = [
    ['plain', 'text/plain', { type: 'text', subtype: 'plain', parameters: {} }],
    ['case and parameters', 'Text/HTML; Charset="UTF-8"', { type: 'text', subtype: 'html', parameters: { charset: 'UTF-8' } }],
    ['quoted boundary with specials', 'multipart/mixed; boundary="=_a;b c"', { type: 'multipart', subtype: 'mixed', parameters: { boundary: '=_a;b c' } }],
    ['comments and folding', ' multipart/alternative (comment)\r\n\t; boundary=abc (x)', { type: 'multipart', subtype: 'alternative', parameters: { boundary: 'abc' } }],
    ['quoted pair', 'text/plain; name="a\\"b"', { type: 'text', subtype: 'plain', parameters: { name: 'a"b' } }],
    ['RFC 2231 continuations', "multipart/mixed; boundary*0=abc; boundary*1*=%41%42", { type: 'multipart', subtype: 'mixed', parameters: { boundary: 'abcAB' } }],
    ['RFC 2231 extended value', "text/plain; title*=utf-8''%C3%A9t%C3%A9", { type: 'text', subtype: 'plain', parameters: { title: 'été' } }],
    ['first of a repeated parameter', 'text/plain; charset=a; charset=b', { type: 'text', subtype: 'plain', parameters: { charset: 'a' } }],
    ['no subtype', 'text', undefined],
    ['empty', '', undefined],
  ];
  for (const [name, value, expected] of cases) {
    it(`Content-Type: ${name}`, () => {
      const parsed = parseContentType(value);
      assert.deepEqual(parsed === undefined ? undefined : { type: parsed.type, subtype: parsed.subtype, parameters: Object.fromEntries(parsed.parameters) }, expected);
    });
  }

  it('Content-Transfer-Encoding: the mechanism in lowercase, comments ignored', () => {
    assert.equal(parseTransferEncoding(' Quoted-Printable (x)'), 'quoted-printable');
    assert.equal(parseTransferEncoding('8BIT'), '8bit');
    assert.equal(parseTransferEncoding(''), undefined);
  });
});
