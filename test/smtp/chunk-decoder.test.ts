// Tests for the BDAT chunk decoder (RFC 3030 without BINARYMIME): no dot
// handling, the DATA normalisation of bare CR / bare LF / NUL, a CRLF added to an
// unterminated last line, limits, and a seeded property against a reference
// over random cut points (chunks split anywhere, also inside CRLF).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkDecoder, type ChunkDecoderOptions } from '../../src/smtp/chunk-decoder.js';
import { seededRandom } from '../helpers/seeded-random.js';

const LARGE: ChunkDecoderOptions = { maxMessageBytes: 1 << 30 };
const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

interface Decoded {
  readonly content: string;
  readonly sizeBytes: number;
  readonly oversized: boolean;
  readonly lineTooLong: boolean;
  readonly longestLineBytes: number;
  readonly has8bit: boolean;
  readonly bareLineEnds: number;
  readonly nulCount: number;
}

/** Feeds `input` cut at `cuts` (ascending offsets), then ends it. */
function decode(input: Buffer, cuts: readonly number[] = [], options: ChunkDecoderOptions = LARGE): Decoded {
  const decoder = new ChunkDecoder(options);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const end of [...cuts, input.length]) {
    const step = decoder.push(input.subarray(start, end));
    assert.equal(step.done, false);
    pieces.push(...step.output);
    start = end;
  }
  const last = decoder.end();
  assert.equal(last.done, true);
  pieces.push(...last.output);
  return {
    content: Buffer.concat(pieces).toString('latin1'),
    sizeBytes: decoder.sizeBytes,
    oversized: decoder.oversized,
    lineTooLong: decoder.lineTooLong,
    longestLineBytes: decoder.longestLineBytes,
    has8bit: decoder.has8bit,
    bareLineEnds: decoder.bareLineEnds,
    nulCount: decoder.nulCount,
  };
}

/** The rule, stated plainly: NUL and bare CR become spaces, a bare LF a CRLF, an open last line gets one. */
function reference(input: string): string {
  const text = input.replace(/\0/g, ' ').replace(/\r\n|\n|\r/g, (end) => (end === '\r' ? ' ' : '\r\n'));
  return text === '' || text.endsWith('\r\n') ? text : `${text}\r\n`;
}

describe('ChunkDecoder', () => {
  it('stores the octets as they are: dot lines, "<CRLF>.<CRLF>" and commands are content', () => {
    const input = 'Subject: x\r\n\r\n.\r\n..leading dots stay\r\nRSET\r\nMAIL FROM:<evil@example.org>\r\n.\r\n';
    assert.equal(decode(bytes(input)).content, input);
  });

  it('normalises bare LF, bare CR and NUL as DATA does', () => {
    const result = decode(bytes('a\nb\rc\0\0d\r\n'));
    assert.equal(result.content, 'a\r\nb c  d\r\n');
    assert.equal(result.bareLineEnds, 2);
    assert.equal(result.nulCount, 2);
  });

  it('joins a CRLF split between chunks, and treats a CR at a chunk end followed by other text as bare', () => {
    assert.equal(decode(bytes('ab\r\ncd\r\n'), [3]).content, 'ab\r\ncd\r\n');
    assert.equal(decode(bytes('ab\rcd\r\n'), [3]).content, 'ab cd\r\n');
    assert.equal(decode(bytes('ab\r\r\n'), [3, 4]).content, 'ab \r\n');
  });

  it('ends an unterminated last line with CRLF, a trailing CR included (stored as a space)', () => {
    assert.equal(decode(bytes('Subject: x\r\n\r\nno newline')).content, 'Subject: x\r\n\r\nno newline\r\n');
    assert.equal(decode(bytes('text\r'), [2]).content, 'text \r\n');
    assert.equal(decode(bytes('text\r\n')).content, 'text\r\n');
  });

  it('stores nothing for an empty message (BDAT 0 LAST)', () => {
    const result = decode(Buffer.alloc(0));
    assert.equal(result.content, '');
    assert.equal(result.sizeBytes, 0);
  });

  it('flags a stored line over 1000 octets including CRLF, also an unterminated last one', () => {
    assert.equal(decode(bytes(`${'x'.repeat(998)}\r\n`)).lineTooLong, false);
    assert.equal(decode(bytes(`${'x'.repeat(998)}\r\n`)).longestLineBytes, 1000);
    assert.equal(decode(bytes(`${'y'.repeat(999)}\r\n`), [500]).lineTooLong, true);
    assert.equal(decode(bytes(`ok\r\n${'z'.repeat(999)}`)).lineTooLong, true);
    assert.equal(decode(bytes('abcd\r\n'), [], { maxMessageBytes: 100, maxLineBytes: 5 }).lineTooLong, true);
  });

  it('emits nothing past maxMessageBytes, counts on, and sets oversized', () => {
    const result = decode(bytes('0123456789\r\n0123456789\r\n'), [5, 13], { maxMessageBytes: 15 });
    assert.equal(result.content, '0123456789\r\n012');
    assert.equal(result.sizeBytes, 24);
    assert.equal(result.oversized, true);
    assert.equal(decode(bytes('exact\r\n'), [], { maxMessageBytes: 7 }).oversized, false);
    assert.equal(decode(bytes('no end'), [], { maxMessageBytes: 6 }).oversized, true, 'the CRLF added at the end counts');
  });

  it('sets has8bit on any octet above 127', () => {
    assert.equal(decode(bytes('caf\xe9\r\n')).has8bit, true);
    assert.equal(decode(bytes('cafe\r\n')).has8bit, false);
  });

  it('does not modify the caller\'s chunk when patching', () => {
    const chunk = bytes('a\0\rb\r\n');
    new ChunkDecoder(LARGE).push(chunk);
    assert.equal(chunk.toString('latin1'), 'a\0\rb\r\n');
  });

  it('refuses push after end, and a second end', () => {
    const decoder = new ChunkDecoder(LARGE);
    decoder.end();
    assert.throws(() => decoder.push(bytes('x')));
    assert.throws(() => decoder.end());
  });
});

describe('ChunkDecoder properties (seeded)', () => {
  /** Random raw bytes heavy in what matters here: CR, LF, NUL, ".", 8-bit; sometimes long lines. */
  function randomRaw(random: () => number, maxLength: number): Buffer {
    const alphabet = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x2e, 0x61, 0x62, 0x20, 0xe9];
    const length = Math.floor(random() * maxLength);
    const out = Buffer.alloc(length);
    for (let k = 0; k < length; k++) out[k] = random() < 0.05 ? 0x78 : (alphabet[Math.floor(random() * alphabet.length)] ?? 0x61);
    if (random() < 0.2) return Buffer.concat([out, Buffer.alloc(Math.floor(random() * 1200), 0x79), out]);
    return out;
  }

  function randomCuts(random: () => number, length: number): number[] {
    const cuts = new Set<number>();
    const count = Math.floor(random() * 6);
    for (let k = 0; k < count && length > 1; k++) cuts.add(1 + Math.floor(random() * (length - 1)));
    return [...cuts].sort((a, b) => a - b);
  }

  it('matches the reference for any input cut anywhere, with the same counts', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const random = seededRandom(seed);
      const input = randomRaw(random, 300);
      const expected = reference(input.toString('latin1'));
      const whole = decode(input);
      const cut = decode(input, randomCuts(random, input.length));
      assert.equal(whole.content, expected, `seed ${seed}`);
      assert.deepEqual(cut, whole, `seed ${seed}: the cuts change nothing`);
      const lines = expected.split('\r\n').slice(0, -1);
      assert.equal(whole.longestLineBytes, lines.length === 0 ? 0 : Math.max(...lines.map((line) => line.length + 2)), `seed ${seed}`);
      assert.equal(whole.lineTooLong, whole.longestLineBytes > 1000, `seed ${seed}`);
      assert.equal(whole.sizeBytes, expected.length, `seed ${seed}`);
      assert.doesNotMatch(whole.content, /\r(?!\n)|(?<!\r)\n|\0/, `seed ${seed}: CRLF lines only`);
    }
  });

  it('decodes one byte at a time as it decodes the whole', () => {
    for (let seed = 1000; seed < 1100; seed++) {
      const random = seededRandom(seed);
      const input = randomRaw(random, 120);
      const everyByte = Array.from({ length: Math.max(0, input.length - 1) }, (_, k) => k + 1);
      assert.deepEqual(decode(input, everyByte), decode(input), `seed ${seed}`);
    }
  });
});
