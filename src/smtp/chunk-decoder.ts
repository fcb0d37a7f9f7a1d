// Inbound BDAT content decoding (RFC 3030 §2 without BINARYMIME): the chunks'
// octets are the message text as is, with no dot-stuffing and no end marker, and
// get the same line-end normalisation as DATA (RFC 5321 §2.3.8, §4.5.3.1.6): a
// bare LF ends a line, a bare CR or a NUL becomes a space, every line ends in CRLF.

import { isAscii } from 'node:buffer';
import type { ContentDecoder } from './content-decoder.js';
import type { DecodeStep } from './data-decoder.js';
import { ContentTally } from './content-tally.js';

const CR = 0x0d;
const LF = 0x0a;
const NUL = 0x00;
const SPACE = 0x20;
/** Above this many pieces a step's output is joined into one buffer (bounds fragmentation). */
const MAX_OUTPUT_PIECES = 32;

export interface ChunkDecoderOptions {
  /** Content beyond this many bytes is not emitted; `oversized` is set instead. */
  readonly maxMessageBytes: number;
  /** Longest stored line including its CRLF before `lineTooLong` is set (default 1000, as for DATA). */
  readonly maxLineBytes?: number;
}

/** Per-push working state. */
interface Scan {
  readonly chunk: Buffer;
  /** `chunk`, or a private copy of it once a bare CR or NUL had to be patched to a space. */
  src: Buffer;
  runStart: number;
  readonly out: Buffer[];
  /** Next CR / NUL at or after the scan position; -1 when there is none; -2 not yet searched. */
  nextCr: number;
  nextNul: number;
}

/**
 * Incremental decoder for the concatenated chunks of one message, split
 * anywhere (also between the CR and LF of a line end). Between pushes it holds
 * back at most a trailing CR; end() settles it and ends an unterminated last
 * line with CRLF, so the stored message is CRLF text like one received by DATA.
 */
export class ChunkDecoder extends ContentTally implements ContentDecoder {
  #pendingCr = false;
  #ended = false;

  push(chunk: Buffer): DecodeStep {
    if (this.#ended) throw new Error('ChunkDecoder.push called after end');
    const scan: Scan = { chunk, src: chunk, runStart: 0, out: [], nextCr: -2, nextNul: -2 };
    if (chunk.length > 0) {
      if (!this.has8bit && !isAscii(chunk)) this.has8bit = true;
      this.#scanLines(scan, this.#resolvePendingCr(scan));
    }
    return { output: joined(scan.out), done: false, rest: undefined };
  }

  end(): DecodeStep {
    if (this.#ended) throw new Error('ChunkDecoder.end called twice');
    this.#ended = true;
    const empty = Buffer.alloc(0);
    const scan: Scan = { chunk: empty, src: empty, runStart: 0, out: [], nextCr: -1, nextNul: -1 };
    if (this.#pendingCr) {
      this.#pendingCr = false;
      this.#emitBareCr(scan);
    }
    if (this.lineBytes > 0) {
      this.store(scan.out, Buffer.from('\r\n', 'latin1'));
      this.countLine();
    }
    return { output: scan.out, done: true, rest: Buffer.alloc(0) };
  }

  /** A CR held from the last chunk: a line end if this chunk starts with LF, else a bare CR. */
  #resolvePendingCr(scan: Scan): number {
    if (!this.#pendingCr) return 0;
    this.#pendingCr = false;
    if (scan.chunk[0] !== LF) {
      this.#emitBareCr(scan);
      return 0;
    }
    this.store(scan.out, Buffer.from('\r\n', 'latin1'));
    this.countLine();
    scan.runStart = 1;
    return 1;
  }

  /** Line by line with Buffer.indexOf, emitting runs of unchanged bytes. */
  #scanLines(scan: Scan, from: number): void {
    const { chunk } = scan;
    const length = chunk.length;
    let i = from;
    while (i < length) {
      const lf = chunk.indexOf(LF, i);
      if (lf === -1) {
        const heldCr = chunk[length - 1] === CR;
        const contentEnd = heldCr ? length - 1 : length;
        this.#patch(scan, i, contentEnd);
        this.#pendingCr = heldCr;
        this.lineBytes += contentEnd - i;
        this.#flushRun(scan, contentEnd);
        scan.runStart = length;
        return;
      }
      const crlf = lf > i && chunk[lf - 1] === CR;
      const contentEnd = crlf ? lf - 1 : lf;
      this.#patch(scan, i, contentEnd);
      this.lineBytes += contentEnd - i;
      if (!crlf) {
        this.bareLineEnds += 1;
        this.#flushRun(scan, lf);
        this.store(scan.out, Buffer.from('\r\n', 'latin1'));
        scan.runStart = lf + 1;
      }
      this.countLine();
      i = lf + 1;
    }
    this.#flushRun(scan, length);
  }

  /** Turns every CR and NUL in [from, to) into a space: there, none of them ends a line. */
  #patch(scan: Scan, from: number, to: number): void {
    scan.nextCr = this.#patchEach(scan, CR, scan.nextCr, from, to);
    scan.nextNul = this.#patchEach(scan, NUL, scan.nextNul, from, to);
  }

  /** Patches each `byte` in [from, to); returns its next index at or after `to`, or -1 (the search is cached per push). */
  #patchEach(scan: Scan, byte: number, cached: number, from: number, to: number): number {
    let at = cached === -1 || cached >= from ? cached : scan.chunk.indexOf(byte, from);
    while (at !== -1 && at < to) {
      if (scan.src === scan.chunk) scan.src = Buffer.from(scan.chunk);
      scan.src[at] = SPACE;
      if (byte === CR) this.bareLineEnds += 1;
      else this.nulCount += 1;
      at = scan.chunk.indexOf(byte, at + 1);
    }
    return at;
  }

  #emitBareCr(scan: Scan): void {
    this.bareLineEnds += 1;
    this.lineBytes += 1;
    this.store(scan.out, Buffer.from(' ', 'latin1'));
  }

  #flushRun(scan: Scan, end: number): void {
    if (end > scan.runStart) this.store(scan.out, scan.src.subarray(scan.runStart, end));
    scan.runStart = end;
  }

}

function joined(pieces: Buffer[]): Buffer[] {
  return pieces.length > MAX_OUTPUT_PIECES ? [Buffer.concat(pieces)] : pieces;
}
