// Tests for the DATA decoder and dot-stuffer: end-of-data detection, smuggling
// variants, normalisation, limits, and chunking/round-trip properties (RFC 5321 §4.5.2).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DataDecoder, DotStuffer, type DataDecoderOptions } from '../../src/smtp/data-decoder.js';
import { seededRandom } from '../helpers/seeded-random.js';

interface Decoded {
  readonly content: string;
  readonly done: boolean;
  readonly rest: string | undefined;
  readonly sizeBytes: number;
  readonly oversized: boolean;
  readonly lineTooLong: boolean;
  readonly longestLineBytes: number;
  readonly has8bit: boolean;
  readonly bareLineEnds: number;
  readonly nulCount: number;
}

const LARGE: DataDecoderOptions = { maxMessageBytes: 1 << 30 };

/** Feeds `input` cut at `cuts` (ascending offsets); stops feeding once done. */
function decode(input: Buffer, cuts: readonly number[] = [], options: DataDecoderOptions = LARGE): Decoded {
  const decoder = new DataDecoder(options);
  const pieces: Buffer[] = [];
  let done = false;
  let rest: Buffer | undefined;
  let start = 0;
  for (const end of [...cuts, input.length]) {
    if (done) {
      rest = Buffer.concat([rest ?? Buffer.alloc(0), input.subarray(start, end)]);
    } else {
      const step = decoder.push(input.subarray(start, end));
      pieces.push(...step.output);
      done = step.done;
      rest = step.rest;
    }
    start = end;
  }
  return {
    content: Buffer.concat(pieces).toString('latin1'),
    done,
    rest: rest?.toString('latin1'),
    sizeBytes: decoder.sizeBytes,
    oversized: decoder.oversized,
    lineTooLong: decoder.lineTooLong,
    longestLineBytes: decoder.longestLineBytes,
    has8bit: decoder.has8bit,
    bareLineEnds: decoder.bareLineEnds,
    nulCount: decoder.nulCount,
  };
}

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');
const everyByte = (length: number): number[] => Array.from({ length: Math.max(0, length - 1) }, (_, k) => k + 1);

/** Random raw DATA bytes, heavy in the bytes that matter: CR, LF, ".", NUL, 8-bit. */
function randomRaw(random: () => number, maxLength: number): Buffer {
  const alphabet = [0x0d, 0x0a, 0x0d, 0x0a, 0x2e, 0x2e, 0x2e, 0x61, 0x62, 0x20, 0x00, 0xe9];
  const length = Math.floor(random() * maxLength);
  const out = Buffer.alloc(length);
  for (let k = 0; k < length; k++) out[k] = alphabet[Math.floor(random() * alphabet.length)] ?? 0x61;
  return out;
}

/**
 * Reference model, written differently from the decoder: split the raw data
 * into lines byte by byte, normalise each line, then apply the marker and
 * unstuffing rules to the normalised line.
 */
function referenceDecode(input: Buffer): { content: string; done: boolean; rest: string | undefined } {
  let content = '';
  let prevCrlf = true;
  let k = 0;
  while (k < input.length) {
    let line = '';
    let terminator: 'crlf' | 'lf' | 'none' = 'none';
    const lineStart = k;
    while (k < input.length) {
      const b = input[k] ?? 0;
      if (b === 0x0a) { terminator = 'lf'; k += 1; break; }
      if (b === 0x0d && input[k + 1] === 0x0a) { terminator = 'crlf'; k += 2; break; }
      line += b === 0x0d || b === 0x00 ? ' ' : String.fromCharCode(b);
      k += 1;
    }
    const raw = input.subarray(lineStart, k).toString('latin1');
    if (prevCrlf && raw === '.\r\n') return { content, done: true, rest: input.subarray(k).toString('latin1') };
    if (terminator === 'none') break; // incomplete last line: not compared
    if (line.startsWith('.') && line !== '.') line = line.slice(1);
    content += `${line}\r\n`;
    prevCrlf = terminator === 'crlf';
  }
  return { content, done: false, rest: undefined };
}

describe('DataDecoder: end of data and content', () => {
  const table: ReadonlyArray<readonly [name: string, raw: string, content: string, rest: string | undefined]> = [
    ['empty message', '.\r\n', '', ''],
    ['one line', 'Subject: hi\r\n\r\nbody\r\n.\r\n', 'Subject: hi\r\n\r\nbody\r\n', ''],
    ['dot-stuffed line', '..x\r\n.\r\n', '.x\r\n', ''],
    ['stuffed dot-only line', '..\r\n.\r\n', '.\r\n', ''],
    ['dot inside a line is kept', 'a.b\r\n a .\r\n.\r\n', 'a.b\r\n a .\r\n', ''],
    ['pipelined commands come back as rest', 'x\r\n.\r\nQUIT\r\n', 'x\r\n', 'QUIT\r\n'],
    ['rest may hold a whole next transaction', '.\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n', '', 'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n'],
    ['no marker yet', 'abc\r\ndef\r\n', 'abc\r\ndef\r\n', undefined],
    ['marker without final LF is not yet the end', 'abc\r\n.\r', 'abc\r\n', undefined],
    ['bare CR becomes a space', 'a\rb\r\n.\r\n', 'a b\r\n', ''],
    ['NUL becomes a space', 'a\0b\r\n.\r\n', 'a b\r\n', ''],
    ['bare LF ends a line', 'a\nb\r\n.\r\n', 'a\r\nb\r\n', ''],
    ['CR CR LF: first CR bare', 'a\r\r\n.\r\n', 'a \r\n', ''],
    ['unstuffing after a bare LF', 'a\n..b\r\n.\r\n', 'a\r\n.b\r\n', ''],
    ['dot then NUL is stuffed', '.\0x\r\n.\r\n', ' x\r\n', ''],
  ];
  for (const [name, raw, content, rest] of table) {
    it(`${name}: ${JSON.stringify(raw)}`, () => {
      const whole = decode(bytes(raw));
      assert.equal(whole.content, content);
      assert.equal(whole.done, rest !== undefined);
      assert.equal(whole.rest, rest);
      assert.deepEqual(decode(bytes(raw), everyByte(raw.length)), whole);
    });
  }
});

describe('DataDecoder: SMTP smuggling variants never end the data (CVE-2023-51764)', () => {
  // Each variant sits between "a" and "MAIL FROM:<x@y>"; then a real marker ends the data.
  const table: ReadonlyArray<readonly [variant: string, stored: string]> = [
    ['\n.\n', 'a\r\n.\r\n'],
    ['\r.\r', 'a . MAIL'],
    ['\n.\r\n', 'a\r\n.\r\n'],
    ['\r\n.\r', 'a\r\n MAIL'],
    ['\r.\r\n', 'a .\r\n'],
    ['\r\n.\n', 'a\r\n.\r\n'],
    ['\n.\n\r\n', 'a\r\n.\r\n\r\n'],
  ];
  for (const [variant, storedStart] of table) {
    it(`treats ${JSON.stringify(variant)} as content`, () => {
      const raw = `a${variant}MAIL FROM:<x@y>\r\n.\r\nQUIT\r\n`;
      const whole = decode(bytes(raw));
      assert.equal(whole.done, true);
      assert.equal(whole.rest, 'QUIT\r\n');
      assert.ok(whole.content.startsWith(storedStart), JSON.stringify(whole.content));
      assert.doesNotMatch(whole.content, /\r(?!\n)|(?<!\r)\n|\0/);
      assert.ok(whole.bareLineEnds >= 1);
      assert.deepEqual(decode(bytes(raw), everyByte(raw.length)), whole);
    });
  }

  it('stores exactly the normalised form for each variant', () => {
    const expected: Record<string, string> = {
      '\n.\n': 'a\r\n.\r\nMAIL FROM:<x@y>\r\n',
      '\r.\r': 'a . MAIL FROM:<x@y>\r\n',
      '\n.\r\n': 'a\r\n.\r\nMAIL FROM:<x@y>\r\n',
      '\r\n.\r': 'a\r\n MAIL FROM:<x@y>\r\n',
      '\r.\r\n': 'a .\r\nMAIL FROM:<x@y>\r\n',
      '\r\n.\n': 'a\r\n.\r\nMAIL FROM:<x@y>\r\n',
    };
    for (const [variant, content] of Object.entries(expected)) {
      assert.equal(decode(bytes(`a${variant}MAIL FROM:<x@y>\r\n.\r\n`)).content, content, JSON.stringify(variant));
    }
  });

  it('a lone "." content line leaves as ".." so the recipient sees "."', () => {
    const stored = decode(bytes('a\n.\nb\r\n.\r\n')).content;
    const stuffed = Buffer.concat([...stuffAll(bytes(stored))]).toString('latin1');
    assert.equal(stuffed, 'a\r\n..\r\nb\r\n.\r\n');
  });
});

describe('DataDecoder: limits and flags', () => {
  it('emits nothing past maxMessageBytes but still finds the marker', () => {
    const raw = `${'0123456789\r\n'.repeat(10)}.\r\nQUIT\r\n`;
    for (const cuts of [[], everyByte(raw.length), [5, 50, 51]]) {
      const result = decode(bytes(raw), cuts, { maxMessageBytes: 30 });
      assert.equal(result.content, '0123456789\r\n'.repeat(10).slice(0, 30));
      assert.equal(result.oversized, true);
      assert.equal(result.sizeBytes, 120);
      assert.equal(result.done, true);
      assert.equal(result.rest, 'QUIT\r\n');
    }
  });

  it('a message of exactly maxMessageBytes is not oversized', () => {
    const result = decode(bytes('abc\r\n.\r\n'), [], { maxMessageBytes: 5 });
    assert.equal(result.content, 'abc\r\n');
    assert.equal(result.oversized, false);
  });

  it('flags a stored line over 1000 octets including CRLF, and keeps emitting', () => {
    const atLimit = `${'x'.repeat(998)}\r\n`;
    const over = `${'y'.repeat(999)}\r\n`;
    const ok = decode(bytes(`${atLimit}.\r\n`), [500, 999]);
    assert.equal(ok.lineTooLong, false);
    assert.equal(ok.longestLineBytes, 1000);
    const long = decode(bytes(`${over}tail\r\n.\r\n`), [3, 999, 1000]);
    assert.equal(long.lineTooLong, true);
    assert.equal(long.longestLineBytes, 1001);
    assert.equal(long.content, `${over}tail\r\n`);
  });

  it('measures the stored line: the stuffing dot does not count', () => {
    const result = decode(bytes(`.${'z'.repeat(998)}\r\n.\r\n`));
    assert.equal(result.longestLineBytes, 1000);
    assert.equal(result.lineTooLong, false);
  });

  it('honours maxLineBytes', () => {
    assert.equal(decode(bytes('abcd\r\n.\r\n'), [], { maxMessageBytes: 100, maxLineBytes: 5 }).lineTooLong, true);
  });

  it('sets has8bit only for octets of the data, not of the rest', () => {
    assert.equal(decode(bytes('caf\xe9\r\n.\r\n')).has8bit, true);
    assert.equal(decode(bytes('cafe\r\n.\r\n\xe9')).has8bit, false);
    assert.equal(decode(bytes('plain\r\n.\r\n')).has8bit, false);
  });

  it('counts bare line ends and NULs', () => {
    const result = decode(bytes('a\nb\rc\0\0d\r\n.\r\n'));
    assert.equal(result.bareLineEnds, 2);
    assert.equal(result.nulCount, 2);
    assert.equal(result.content, 'a\r\nb c  d\r\n');
  });

  it('holds back no line data for endless input without CRLF', () => {
    const decoder = new DataDecoder({ maxMessageBytes: 1 << 30 });
    let emittedBytes = 0;
    for (let k = 0; k < 100; k++) {
      const step = decoder.push(Buffer.alloc(4096, 0x61));
      emittedBytes += step.output.reduce((sum, piece) => sum + piece.length, 0);
    }
    assert.equal(emittedBytes, 409600);
    assert.equal(decoder.lineTooLong, false); // no line has ended yet
    const last = decoder.push(bytes('\r\n.\r\n'));
    assert.equal(last.done, true);
    assert.equal(decoder.lineTooLong, true);
  });

  it('does not modify the caller\'s chunk when patching', () => {
    const chunk = bytes('a\0\rb\r\n.\r\n');
    new DataDecoder(LARGE).push(chunk);
    assert.equal(chunk.toString('latin1'), 'a\0\rb\r\n.\r\n');
  });

  it('refuses push after done', () => {
    const decoder = new DataDecoder(LARGE);
    decoder.push(bytes('.\r\n'));
    assert.throws(() => decoder.push(bytes('x')));
  });
});

function stuffAll(content: Buffer, cuts: readonly number[] = []): Buffer[] {
  const stuffer = new DotStuffer();
  const out: Buffer[] = [];
  let start = 0;
  for (const end of [...cuts, content.length]) {
    out.push(...stuffer.push(content.subarray(start, end)));
    start = end;
  }
  out.push(...stuffer.end());
  return out;
}

describe('DotStuffer', () => {
  const table: ReadonlyArray<readonly [content: string, wire: string]> = [
    ['', '.\r\n'],
    ['a\r\n', 'a\r\n.\r\n'],
    ['.\r\n', '..\r\n.\r\n'],
    ['.a\r\n..b\r\nc.d\r\n.', '..a\r\n...b\r\nc.d\r\n..\r\n.\r\n'],
    ['no final crlf', 'no final crlf\r\n.\r\n'],
  ];
  for (const [content, wire] of table) {
    it(`stuffs ${JSON.stringify(content)}`, () => {
      assert.equal(Buffer.concat(stuffAll(bytes(content))).toString('latin1'), wire);
      assert.equal(Buffer.concat(stuffAll(bytes(content), everyByte(content.length))).toString('latin1'), wire);
    });
  }
});

describe('DataDecoder properties (seeded)', () => {
  it('gives identical results however the input is split', () => {
    const random = seededRandom(0x5eed);
    for (let round = 0; round < 400; round++) {
      const input = randomRaw(random, 40);
      const whole = decode(input);
      assert.deepEqual(decode(input, everyByte(input.length)), whole, JSON.stringify(input.toString('latin1')));
      const cuts = everyByte(input.length).filter(() => random() < 0.3);
      assert.deepEqual(decode(input, cuts), whole, JSON.stringify(input.toString('latin1')));
    }
  });

  it('matches the line-by-line reference model', () => {
    const random = seededRandom(42);
    for (let round = 0; round < 2000; round++) {
      const input = Buffer.concat([randomRaw(random, 60), bytes('\r\n.\r\nNEXT')]);
      const expected = referenceDecode(input);
      const actual = decode(input);
      const label = JSON.stringify(input.toString('latin1'));
      assert.equal(actual.done, true, label);
      assert.deepEqual({ content: actual.content, done: actual.done, rest: actual.rest }, expected, label);
      assert.equal(actual.sizeBytes, Buffer.byteLength(expected.content, 'latin1'), label);
    }
  });

  it('never stores a bare CR, a bare LF or a NUL', () => {
    const random = seededRandom(7);
    for (let round = 0; round < 1000; round++) {
      const input = randomRaw(random, 80);
      const cuts = everyByte(input.length).filter(() => random() < 0.2);
      const { content, done } = decode(input, cuts);
      assert.doesNotMatch(content, /\r(?!\n)|(?<!\r)\n|\0/);
      if (done) assert.ok(content === '' || content.endsWith('\r\n'));
    }
  });

  it('round-trips canonical content through DotStuffer and DataDecoder', () => {
    const random = seededRandom(2024);
    const alphabet = ['.', '.', 'a', ' ', '\xe9', '..', 'x.'];
    for (let round = 0; round < 500; round++) {
      const lineCount = Math.floor(random() * 8);
      let content = '';
      for (let l = 0; l < lineCount; l++) {
        const length = Math.floor(random() * 5);
        for (let c = 0; c < length; c++) content += alphabet[Math.floor(random() * alphabet.length)] ?? 'a';
        content += '\r\n';
      }
      const wire = Buffer.concat(stuffAll(bytes(content), everyByte(content.length).filter(() => random() < 0.3)));
      const cuts = everyByte(wire.length).filter(() => random() < 0.3);
      const result = decode(wire, cuts);
      assert.equal(result.content, content, JSON.stringify(content));
      assert.equal(result.done, true);
      assert.equal(result.rest, '');
    }
  });
});
