// Quoted-printable encoding and re-wrapping (RFC 2045 §6.7) checked against
// Python's quopri decoder: random text, the 76-character limit, white space
// at line ends, "=" and 8-bit octets, input cut anywhere.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ByteSink } from '../../src/mime/byte-sink.js';
import { QuotedPrintableEncoder, QuotedPrintableRewrapper } from '../../src/mime/quoted-printable.js';
import { pythonDecodeQuotedPrintable } from '../helpers/python-mime.js';
import { seededRandom } from '../helpers/seeded-random.js';

/** Encodes `lines` (no line breaks inside) as text, each line fed in pieces of `pieceBytes`. */
function encode(lines: readonly Buffer[], pieceBytes = 1 << 20): Buffer {
  const sink = new ByteSink();
  const encoder = new QuotedPrintableEncoder(sink);
  for (const line of lines) {
    for (let at = 0; at < line.length; at += pieceBytes) encoder.write(line.subarray(at, at + pieceBytes));
    encoder.endLine(true);
  }
  return Buffer.concat(sink.take());
}

function rewrap(lines: readonly string[], pieceBytes = 1 << 20): Buffer | undefined {
  const sink = new ByteSink();
  const rewrapper = new QuotedPrintableRewrapper(sink);
  for (const text of lines) {
    const line = Buffer.from(text, 'latin1');
    for (let at = 0; at < line.length || at === 0; at += pieceBytes) {
      if (!rewrapper.write(line.subarray(at, at + pieceBytes), pieceBytes >= line.length)) return undefined;
      if (line.length === 0) break;
    }
    rewrapper.endLine(true);
  }
  return Buffer.concat(sink.take());
}

function longestLine(encoded: Buffer): number {
  return Math.max(...encoded.toString('latin1').split('\r\n').map((line) => line.length));
}

describe('quoted-printable encoder', () => {
  const cases: ReadonlyArray<[string, string, string]> = [
    ['printable ASCII stays literal', 'Hello, world!', 'Hello, world!\r\n'],
    ['"=" is escaped', 'a=b', 'a=3Db\r\n'],
    ['8-bit octets are escaped', 'caf\xe9', 'caf=E9\r\n'],
    ['a space that ends a line is escaped', 'end ', 'end=20\r\n'],
    ['a tab that ends a line is escaped', 'end\t', 'end=09\r\n'],
    ['only the last of several spaces is escaped', 'a   ', 'a  =20\r\n'],
    ['inner white space stays literal', 'a \tb', 'a \tb\r\n'],
    ['an empty line stays empty', '', '\r\n'],
    ['75 characters fit on one line', 'x'.repeat(75), `${'x'.repeat(75)}\r\n`],
    ['76 characters take a soft break', 'x'.repeat(76), `${'x'.repeat(75)}=\r\nx\r\n`],
    ['an escape is never split by a soft break', `${'x'.repeat(73)}=`, `${'x'.repeat(73)}=\r\n=3D\r\n`],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => assert.equal(encode([Buffer.from(input, 'latin1')]).toString('latin1'), expected));
  }

  it('keeps every line within 76 characters and decodes to the input with Python, fed whole or octet by octet', async () => {
    const random = seededRandom(11);
    const alphabet = [0x20, 0x09, 0x3d, 0x2e, 0x41, 0x7a, 0x7e, 0x7f, 0x80, 0xc3, 0xa9, 0xff, 0x01, 0x3d];
    const samples = Array.from({ length: 60 }, () => {
      const lines = Array.from({ length: 1 + Math.floor(random() * 4) }, () =>
        Buffer.from(Array.from({ length: Math.floor(random() * 400) }, () => alphabet[Math.floor(random() * alphabet.length)] as number)),
      );
      return lines;
    });
    const encoded = samples.map((lines) => encode(lines));
    samples.forEach((lines, index) => assert.ok(encode(lines, 1).equals(encoded[index] as Buffer), 'octet by octet gives the same'));
    for (const item of encoded) {
      assert.ok(longestLine(item) <= 76);
      assert.ok(item.every((octet) => octet < 0x80), '7-bit output');
      assert.doesNotMatch(item.toString('latin1'), /[ \t]\r\n/, 'no white space before a hard line break');
    }
    const decoded = await pythonDecodeQuotedPrintable(encoded);
    samples.forEach((lines, index) => {
      assert.deepEqual(decoded[index], Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\r\n')])));
    });
  });
});

describe('quoted-printable re-wrapper', () => {
  it('passes lines within 76 characters unchanged', () => {
    assert.equal(rewrap(['short =3D line', 'x'.repeat(76)])?.toString('latin1'), `short =3D line\r\n${'x'.repeat(76)}\r\n`);
  });

  it('breaks after the last non-space before 76 characters, never inside an escape', () => {
    const line = `${'a'.repeat(74)}=3Dbbb`;
    assert.equal(rewrap([line])?.toString('latin1'), `${'a'.repeat(74)}=\r\n=3Dbbb\r\n`);
    assert.equal(rewrap([`${'a'.repeat(70)}     ${'b'.repeat(10)}`])?.toString('latin1'), `${'a'.repeat(70)}=\r\n     ${'b'.repeat(10)}\r\n`);
  });

  it('decodes to what the long lines decoded to, whatever the cuts', async () => {
    const random = seededRandom(5);
    const tokens = ['a', 'Z', ' ', '\t', '=3D', '=C3=A9', '=20', '=09', '.', '-', '=\r'];
    const samples = Array.from({ length: 40 }, () =>
      Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
        let line = '';
        const length = Math.floor(random() * 3000);
        while (line.length < length) line += tokens[Math.floor(random() * tokens.length)]?.replace('\r', '') ?? '';
        return random() < 0.3 ? `${line}=` : random() < 0.5 ? `${line}  \t` : line;
      }),
    );
    const originals = samples.map((lines) => Buffer.from(lines.map((line) => `${line}\r\n`).join(''), 'latin1'));
    const rewrapped = samples.map((lines) => rewrap(lines));
    samples.forEach((lines, index) => {
      for (const pieceBytes of [1, 7, 100]) assert.ok(rewrap(lines, pieceBytes)?.equals(rewrapped[index] as Buffer), `pieces of ${pieceBytes}`);
    });
    for (const item of rewrapped) assert.ok(item !== undefined && longestLine(item) <= 76);
    const [before, after] = [await pythonDecodeQuotedPrintable(originals), await pythonDecodeQuotedPrintable(rewrapped as Buffer[])];
    assert.deepEqual(after, before);
  });

  it('gives up on a run of white space that cannot fit on one line', () => {
    assert.equal(rewrap([`x${' '.repeat(997)}y`]), undefined);
    assert.ok(rewrap([`x${' '.repeat(900)}y`]) !== undefined);
  });
});
