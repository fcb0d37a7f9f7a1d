// The command line reader: lines end only at CRLF (RFC 5321 §2.3.8), a bare LF, bare CR or NUL
// makes the whole line a refusal, over-long lines are reported once; the same however the
// stream is cut into chunks.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CommandLineReader, MAX_COMMAND_LINE_BYTES } from '../../src/smtp/line-reader.js';

/** What the reader makes of `chunks`: each line as text or as its kind, and the bytes left buffered. */
function read(chunks: readonly (string | Buffer)[], maxLineBytes = MAX_COMMAND_LINE_BYTES): { lines: string[]; buffered: number } {
  const reader = new CommandLineReader(maxLineBytes);
  const lines: string[] = [];
  for (const chunk of chunks) {
    let data = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    while (data.length > 0) {
      const next = reader.next(data);
      if (next === undefined) break;
      lines.push(next.line.kind === 'line' ? next.line.text.toString('latin1') : `<${next.line.kind}>`);
      data = next.rest;
    }
  }
  return { lines, buffered: reader.bufferedBytes };
}

describe('command line reader', () => {
  const cases: readonly (readonly [name: string, input: string, lines: readonly string[]])[] = [
    ['a CRLF line', 'NOOP\r\n', ['NOOP']],
    ['pipelined lines', 'EHLO a\r\nMAIL FROM:<x@y>\r\nRSET\r\n', ['EHLO a', 'MAIL FROM:<x@y>', 'RSET']],
    ['an empty line', '\r\n', ['']],
    ['a bare LF inside a line: one line, refused whole', 'MAIL FROM:<x@y>\nRSET\r\nNOOP\r\n', ['<bare-lf>', 'NOOP']],
    ['a line of only LF, then CRLF', '\n\r\n', ['<bare-lf>']],
    ['a bare LF right after CRLF starts the next line', 'NOOP\r\n\nRSET\r\n', ['NOOP', '<bare-lf>']],
    ['a line ended by LF alone waits for CRLF', 'QUIT\n', []],
    ['a NUL', 'EHLO a\0b\r\n', ['<nul-or-bare-cr>']],
    ['a bare CR', 'NOOP\rRSET\r\n', ['<nul-or-bare-cr>']],
    ['CR CR LF (the first CR is bare)', 'NOOP\r\r\n', ['<nul-or-bare-cr>']],
    ['a bare LF and a NUL: the bare LF is named', 'A\0\nB\r\n', ['<bare-lf>']],
    ['8-bit text is kept', 'MAIL FROM:<jörg@example.org>\r\n', ['MAIL FROM:<jörg@example.org>']],
  ];
  for (const [name, input, lines] of cases) {
    it(`reads ${name}`, () => {
      assert.deepEqual(read([Buffer.from(input, 'utf8')]).lines, lines.map((line) => Buffer.from(line, 'utf8').toString('latin1')));
    });
  }

  it('keeps what follows an LF-only line buffered instead of running it', () => {
    const { lines, buffered } = read(['QUIT\n']);
    assert.deepEqual(lines, []);
    assert.equal(buffered, 5);
  });

  it('gives the same lines however the stream is cut into two chunks', () => {
    const input = 'EHLO a\r\nMAIL FROM:<x@y>\nRSET\r\nNOOP\r\r\nRCPT TO:<a@b>\r\n\n\r\nQUIT\r\n';
    const whole = read([input]).lines;
    assert.deepEqual(whole, ['EHLO a', '<bare-lf>', '<nul-or-bare-cr>', 'RCPT TO:<a@b>', '<bare-lf>', 'QUIT']);
    for (let cut = 0; cut <= input.length; cut += 1) {
      assert.deepEqual(read([input.slice(0, cut), input.slice(cut)]).lines, whole, `cut at ${cut}`);
    }
  });

  it('gives the same lines when fed one byte at a time', () => {
    const input = 'NOOP\r\nA\nB\r\nX\rY\r\nRSET\r\n';
    assert.deepEqual(read([...input]).lines, ['NOOP', '<bare-lf>', '<nul-or-bare-cr>', 'RSET']);
  });

  it('reports a line over the limit once, discarding it up to its CRLF (not a bare LF)', () => {
    const long = `EHLO ${'a'.repeat(600)}\nRSET`;
    assert.deepEqual(read([`${long}\r\nNOOP\r\n`]).lines, ['<too-long>', 'NOOP']);
    assert.deepEqual(read([long.slice(0, 300), long.slice(300), '\r', '\nNOOP\r\n']).lines, ['<too-long>', 'NOOP']);
  });

  it('takes a line of exactly the limit including CRLF and refuses one octet more', () => {
    assert.deepEqual(read([`${'a'.repeat(MAX_COMMAND_LINE_BYTES - 2)}\r\n`]).lines, ['a'.repeat(MAX_COMMAND_LINE_BYTES - 2)]);
    assert.deepEqual(read([`${'a'.repeat(MAX_COMMAND_LINE_BYTES - 1)}\r\n`]).lines, ['<too-long>']);
    assert.deepEqual(read(['a'.repeat(MAX_COMMAND_LINE_BYTES - 1), '\r\n']).lines, ['<too-long>']);
  });
});
