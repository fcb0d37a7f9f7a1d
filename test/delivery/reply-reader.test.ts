// Table tests of the reply parser (RFC 5321 §4.2, RFC 2034): multiline
// replies, enhanced codes, caps, malformed lines, arbitrary chunk splits.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanRemoteText, ReplyReader, type ReplyParse } from '../../src/delivery/reply-reader.js';
import { seededRandom } from '../helpers/seeded-random.js';

function parseAll(wire: string | Buffer, limits = { maxLineBytes: 2048, maxReplyBytes: 65536 }): ReplyParse[] {
  const reader = new ReplyReader(limits);
  reader.push(Buffer.isBuffer(wire) ? wire : Buffer.from(wire, 'utf8'));
  const results: ReplyParse[] = [];
  for (let parsed = reader.next(); parsed !== undefined; parsed = reader.next()) {
    results.push(parsed);
    if (parsed.kind === 'malformed') break;
  }
  return results;
}

describe('ReplyReader', () => {
  const good: [string, string, { code: number; status: string | undefined; lines: string[] }][] = [
    ['single line', '250 ok\r\n', { code: 250, status: undefined, lines: ['ok'] }],
    ['enhanced status', '550 5.1.1 no such user\r\n', { code: 550, status: '5.1.1', lines: ['no such user'] }],
    ['status class must match the code', '550 4.1.1 odd\r\n', { code: 550, status: undefined, lines: ['4.1.1 odd'] }],
    ['code only', '250\r\n', { code: 250, status: undefined, lines: [''] }],
    ['multiline', '250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n', { code: 250, status: undefined, lines: ['mx.example', 'PIPELINING', 'SIZE 1000'] }],
    ['multiline with repeated status', '451-4.3.0 first\r\n451 4.3.0 second\r\n', { code: 451, status: '4.3.0', lines: ['first', 'second'] }],
    ['bare LF ends a line', '220 hi\n', { code: 220, status: undefined, lines: ['hi'] }],
    ['control characters stripped', '550 5.7.1 bad\u0000\u001b[31m news\u0085\r\n', { code: 550, status: '5.7.1', lines: ['bad [31m news'] }],
  ];
  for (const [name, wire, expected] of good) {
    it(`parses ${name}`, () => {
      assert.deepEqual(parseAll(wire), [{ kind: 'reply', reply: expected }]);
    });
  }

  const bad: [string, string, RegExp][] = [
    ['a line without a code', 'hello\r\n', /malformed reply line/],
    ['a 1xx code', '199 what\r\n', /malformed reply line/],
    ['a code change inside a multiline reply', '250-a\r\n251 b\r\n', /reply code changed/],
    ['no space or dash after the code', '250ok\r\n', /malformed reply line/],
  ];
  for (const [name, wire, detail] of bad) {
    it(`rejects ${name}`, () => {
      const [result] = parseAll(wire);
      assert.equal(result?.kind, 'malformed');
      assert.match(result.kind === 'malformed' ? result.detail : '', detail);
    });
  }

  it('rejects a line longer than maxLineBytes, even before its end arrives', () => {
    const reader = new ReplyReader({ maxLineBytes: 100, maxReplyBytes: 1000 });
    reader.push(Buffer.from(`250 ${'x'.repeat(200)}`));
    const result = reader.next();
    assert.equal(result?.kind, 'malformed');
  });

  it('rejects a multiline reply over maxReplyBytes and stays broken', () => {
    const reader = new ReplyReader({ maxLineBytes: 100, maxReplyBytes: 300 });
    reader.push(Buffer.from('250-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n'.repeat(10)));
    assert.equal(reader.next()?.kind, 'malformed');
    reader.push(Buffer.from('250 ok\r\n'));
    assert.equal(reader.next()?.kind, 'malformed');
  });

  it('returns pipelined replies one at a time and counts what is left', () => {
    const reader = new ReplyReader();
    reader.push(Buffer.from('250 a\r\n250 b\r\n354 c\r\n'));
    assert.equal(reader.bufferedBytes, 21);
    const codes: number[] = [];
    for (let parsed = reader.next(); parsed?.kind === 'reply'; parsed = reader.next()) codes.push(parsed.reply.code);
    assert.deepEqual(codes, [250, 250, 354]);
    assert.equal(reader.bufferedBytes, 0);
  });

  it('discard() drops buffered bytes, including a partial reply', () => {
    const reader = new ReplyReader();
    reader.push(Buffer.from('250-partial\r\n250 inj'));
    assert.equal(reader.next(), undefined);
    assert.equal(reader.discard(), 20);
    reader.push(Buffer.from('220 fresh\r\n'));
    const parsed = reader.next();
    assert.equal(parsed?.kind === 'reply' ? parsed.reply.lines[0] : undefined, 'fresh');
  });

  it('gives the same replies however the bytes are split (seeded)', () => {
    const wire = Buffer.from('220-mx ESMTP\r\n220 2.0.0 ready\r\n250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n550 5.1.1 caf\u00e9 unknown\r\n', 'utf8');
    const expected = parseAll(wire);
    const random = seededRandom(4);
    for (let round = 0; round < 200; round++) {
      const reader = new ReplyReader();
      const results: ReplyParse[] = [];
      let offset = 0;
      while (offset < wire.length) {
        const size = 1 + Math.floor(random() * 12);
        reader.push(wire.subarray(offset, offset + size));
        offset += size;
        for (let parsed = reader.next(); parsed !== undefined; parsed = reader.next()) results.push(parsed);
      }
      assert.deepEqual(results, expected);
    }
  });
});

describe('cleanRemoteText', () => {
  it('turns control characters into single spaces and trims', () => {
    assert.equal(cleanRemoteText(' a\r\nb\t\tc\u007f '), 'a b c');
  });
});
