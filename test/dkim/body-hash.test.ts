// Relaxed body canonicalization (RFC 6376 §3.4.4) and its SHA-256 body hash,
// streamed in chunks split anywhere, against a whole-body reference.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { RelaxedBodyHasher } from '../../src/dkim/body-hash.js';

/** The canonical body of RFC 6376 §3.4.4 computed on the whole text at once (the test oracle). */
function relaxedBodyReference(body: string): string {
  // A last line without CRLF ends at the end of the body: its trailing WSP goes too.
  const text = body
    .replace(/[ \t]+(?=\r\n|$)/g, '')
    .replace(/[ \t]+/g, ' ')
    .replace(/(\r\n)+$/, '');
  return text === '' ? '' : `${text}\r\n`;
}

function sha256Base64(text: string): string {
  return createHash('sha256').update(Buffer.from(text, 'latin1')).digest('base64');
}

function hashInChunks(body: Buffer, chunkBytes: readonly number[]): string {
  const hasher = new RelaxedBodyHasher();
  let offset = 0;
  for (const size of chunkBytes) {
    hasher.update(body.subarray(offset, offset + size));
    offset += size;
  }
  hasher.update(body.subarray(offset));
  return hasher.digest().toString('base64');
}

const CASES: ReadonlyArray<readonly [string, string, string]> = [
  ['empty body', '', ''],
  ['one CRLF', '\r\n', ''],
  ['only blank lines', '\r\n\r\n\r\n\r\n', ''],
  ['only white-space lines', '  \r\n\t\r\n \t \r\n', ''],
  ['RFC 6376 §3.4.6 example', ' C \r\nD \t E\r\n\r\n\r\n', ' C\r\nD E\r\n'],
  ['trailing WSP on every line', 'a \r\nb\t\r\nc \t \r\n', 'a\r\nb\r\nc\r\n'],
  ['WSP runs inside lines', 'a  b\t\tc \t d\r\n', 'a b c d\r\n'],
  ['leading WSP kept as one SP', '\t\t indented\r\n', ' indented\r\n'],
  ['empty lines inside are kept', 'a\r\n\r\n\r\nb\r\n\r\n', 'a\r\n\r\n\r\nb\r\n'],
  ['white-space lines inside become empty lines', 'a\r\n  \r\nb\r\n', 'a\r\n\r\nb\r\n'],
  ['missing final CRLF gets one', 'abc', 'abc\r\n'],
  ['missing final CRLF after trailing WSP', 'a\r\nabc  ', 'a\r\nabc\r\n'],
  ['last line only WSP without CRLF is an empty line', 'abc\r\n   ', 'abc\r\n'],
  ['lines starting with dots stay', '.\r\n..x\r\n', '.\r\n..x\r\n'],
  ['8-bit octets pass through', 'caf\xe9  \xc3\xa9t\xe9\r\n', 'caf\xe9 \xc3\xa9t\xe9\r\n'],
  ['a bare CR is content', 'a\rb \r\n\r', 'a\rb\r\n\r\r\n'],
  ['a bare LF is content', 'a\nb\r\n', 'a\nb\r\n'],
];

test('relaxed body canonicalization table (hash equals SHA-256 of the expected canonical body)', () => {
  for (const [name, body, canonical] of CASES) {
    assert.equal(relaxedBodyReference(body), canonical, `reference: ${name}`);
    assert.equal(hashInChunks(Buffer.from(body, 'latin1'), []), sha256Base64(canonical), name);
  }
});

test('the empty body hashes to the SHA-256 of nothing (RFC 6376 §3.4.4 relaxed)', () => {
  assert.equal(new RelaxedBodyHasher().digest().toString('base64'), '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
});

test('the digest is the same wherever the body is split into two or three chunks', () => {
  const bodies = [...CASES.map(([, body]) => body), 'x \t \r\n\r\n  \r\ny\t\r\n \r\n\r\n', 'a\r\r\n\r\n \r'];
  for (const body of bodies) {
    const bytes = Buffer.from(body, 'latin1');
    const expected = sha256Base64(relaxedBodyReference(body));
    for (let first = 0; first <= bytes.length; first++) {
      assert.equal(hashInChunks(bytes, [first]), expected, `${JSON.stringify(body)} split at ${first}`);
      for (let second = 0; second <= bytes.length - first; second++) {
        assert.equal(hashInChunks(bytes, [first, second]), expected, `${JSON.stringify(body)} split at ${first}+${second}`);
      }
    }
    assert.equal(hashInChunks(bytes, Array.from({ length: bytes.length }, () => 1)), expected, `${JSON.stringify(body)} byte by byte`);
  }
});

test('a several-MB body fed in odd chunk sizes matches the whole-body reference', () => {
  const lines: string[] = [];
  for (let index = 0; index < 60_000; index++) lines.push(`line ${index}${' '.repeat(index % 5)}\t${index % 7 === 0 ? '' : 'word  word'}${'\t'.repeat(index % 3)}`);
  const body = `${lines.join('\r\n')}\r\n${'\r\n'.repeat(5000)}`;
  const bytes = Buffer.from(body, 'latin1');
  const expected = sha256Base64(relaxedBodyReference(body));
  const sizes: number[] = [];
  for (let total = 0, size = 1; total < bytes.length; total += size, size = (size * 7 + 3) % 65_521) sizes.push(size);
  assert.equal(hashInChunks(bytes, sizes), expected);
});

test('a long run of empty lines before more text is kept (counted, not buffered)', () => {
  const body = `a\r\n${'\r\n'.repeat(200_000)}b\r\n`;
  assert.equal(hashInChunks(Buffer.from(body, 'latin1'), [3, 65_536]), sha256Base64(body));
});

test('digest twice gives the same hash; update after digest is a bug', () => {
  const hasher = new RelaxedBodyHasher();
  hasher.update(Buffer.from('a\r\n'));
  const first = hasher.digest();
  assert.deepEqual(hasher.digest(), first);
  assert.throws(() => hasher.update(Buffer.from('b')));
});

test('mostly canonical text (the fast path) with odd lines mixed in, in random chunks, matches the reference', () => {
  let seed = 7;
  const random = (n: number): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  const odd = ['', ' ', '  ', '\t', 'x ', ' x', 'a\rb', 'a\nb', 'tab\there', 'two  spaces', '.', '\xe9t\xe9'];
  for (let round = 0; round < 200; round++) {
    const lines: string[] = [];
    for (let line = random(30); line >= 0; line--) lines.push(random(4) === 0 ? (odd[random(odd.length)] as string) : `plain text line ${random(1000)} with words`);
    const body = lines.join('\r\n') + (random(2) === 0 ? '\r\n' : '') + '\r\n'.repeat(random(3));
    const bytes = Buffer.from(body, 'latin1');
    const sizes = Array.from({ length: random(6) }, () => random(bytes.length + 1));
    assert.equal(hashInChunks(bytes, sizes), sha256Base64(relaxedBodyReference(body)), JSON.stringify({ body, sizes }));
  }
});
