// Inbound DATA decoding: finds the only valid end-of-data marker <CRLF>.<CRLF>,
// removes dot-stuffing and normalises bare CR / bare LF / NUL so a message
// cannot be smuggled (RFC 5321 §4.1.1.4, §4.5.2, §4.5.3.1.6; CVE-2023-51764).

import { isAscii } from 'node:buffer';
import { ContentTally } from './content-tally.js';

export { DotStuffer } from './dot-stuffing.js';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const NUL = 0x00;
const SPACE = 0x20;
/** Above this many pieces a step's output is joined into one buffer (bounds fragmentation). */
const MAX_OUTPUT_PIECES = 32;

export interface DataDecoderOptions {
  /** Content beyond this many bytes is not emitted; `oversized` is set instead. */
  readonly maxMessageBytes: number;
  /** Longest stored line including its CRLF before `lineTooLong` is set (default 1000). */
  readonly maxLineBytes?: number;
}

export interface DecodeStep {
  /** Canonical content to append (may be empty); never anything past maxMessageBytes. */
  readonly output: readonly Buffer[];
  /** The end-of-data marker was consumed in this chunk. */
  readonly done: boolean;
  /** When done: the bytes after "<CRLF>.<CRLF>" (pipelined commands), possibly empty. */
  readonly rest: Buffer | undefined;
}

/** Bytes consumed at the end of one chunk whose meaning depends on the next one. */
type Pending = 'none' | 'cr' | 'dot' | 'dot-cr';
type DotLine = 'end-of-data' | 'lone-dot' | 'stuffed' | 'need-more';

/** Per-push working state: where the unemitted run starts and cached search hits. */
interface Scan {
  readonly chunk: Buffer;
  /** `chunk`, or a private copy of it once a bare CR or NUL had to be patched to a space. */
  src: Buffer;
  runStart: number;
  readonly out: Buffer[];
  /** Next CR / NUL at or after the scan position; -1 when there is none; -2 not yet searched. */
  nextCr: number;
  nextNul: number;
  /** Index just after the end-of-data marker, or -1. */
  endOfData: number;
}

/**
 * Decides a line that starts with "." from the two bytes after the dot.
 * Only ".<CRLF>" after a real CRLF (or at the start of the data) ends it;
 * a "." line ended or preceded by a bare LF is lone-dot content.
 */
function classifyDotLine(
  prevLineEndedCrlf: boolean,
  afterDot: number | undefined,
  afterThat: number | undefined,
): DotLine {
  if (afterDot === undefined) return 'need-more';
  if (afterDot === LF) return 'lone-dot';
  if (afterDot !== CR) return 'stuffed';
  if (afterThat === undefined) return 'need-more';
  if (afterThat === LF) return prevLineEndedCrlf ? 'end-of-data' : 'lone-dot';
  return 'stuffed';
}

/**
 * Incremental DATA decoder: feed raw socket chunks split anywhere; each step
 * returns the canonical content (CRLF lines, unstuffed) as subarrays of the
 * input where possible. Between chunks it holds back no bytes, only a state
 * for a trailing CR, ".", or ".\r".
 */
export class DataDecoder extends ContentTally {
  #pending: Pending = 'none';
  #atLineStart = true;
  /** The DATA command line ended with CRLF, so the first line may be the marker. */
  #prevLineEndedCrlf = true;
  #done = false;

  /** DATA content ends only at its marker, which push() reports; there is nothing to end after it. */
  end(): DecodeStep {
    if (!this.#done) throw new Error('DATA content ends only at <CRLF>.<CRLF>');
    return { output: [], done: true, rest: Buffer.alloc(0) };
  }

  push(chunk: Buffer): DecodeStep {
    if (this.#done) throw new Error('DataDecoder.push called after end of data');
    const scan: Scan = { chunk, src: chunk, runStart: 0, out: [], nextCr: -2, nextNul: -2, endOfData: -1 };
    if (chunk.length > 0) {
      const resumeAt = this.#resolvePending(scan);
      if (scan.endOfData === -1) this.#scanLines(scan, resumeAt);
    }
    const consumedEnd = scan.endOfData === -1 ? chunk.length : scan.endOfData;
    if (!this.has8bit && !isAscii(chunk.subarray(0, consumedEnd))) this.has8bit = true;
    const output = scan.out.length > MAX_OUTPUT_PIECES ? [Buffer.concat(scan.out)] : scan.out;
    if (scan.endOfData === -1) return { output, done: false, rest: undefined };
    this.#done = true;
    return { output, done: true, rest: chunk.subarray(scan.endOfData) };
  }

  /** Settles the bytes held over from the last chunk; returns where scanning resumes. */
  #resolvePending(scan: Scan): number {
    const { chunk } = scan;
    const pending = this.#pending;
    this.#pending = 'none';
    if (pending === 'none') return 0;
    if (pending === 'cr') {
      if (chunk[0] === LF) {
        this.#emitText(scan, '\r\n');
        this.#endLine(true);
        scan.runStart = 1;
        return 1;
      }
      this.#emitBareCr(scan);
      return 0;
    }
    const kind = pending === 'dot'
      ? classifyDotLine(this.#prevLineEndedCrlf, chunk[0], chunk[1])
      : classifyDotLine(this.#prevLineEndedCrlf, CR, chunk[0]);
    const heldCr = pending === 'dot' ? 0 : 1;
    switch (kind) {
      case 'need-more': // ".", then a chunk holding only "\r"
        this.#pending = 'dot-cr';
        scan.runStart = 1;
        return 1;
      case 'end-of-data':
        scan.endOfData = 2 - heldCr;
        return scan.endOfData;
      case 'lone-dot': {
        const bareLf = chunk[0] === LF && heldCr === 0;
        const consumed = bareLf || heldCr === 1 ? 1 : 2;
        if (bareLf) this.bareLineEnds += 1;
        this.#emitText(scan, '.\r\n');
        this.lineBytes = 1;
        this.#endLine(!bareLf);
        scan.runStart = consumed;
        return consumed;
      }
      case 'stuffed': // the held dot is dropped
        this.#atLineStart = false;
        if (heldCr === 1) this.#emitBareCr(scan);
        return 0;
    }
  }

  /** The fast path: line by line with Buffer.indexOf, emitting runs of unchanged bytes. */
  #scanLines(scan: Scan, from: number): void {
    const { chunk } = scan;
    const length = chunk.length;
    let i = from;
    while (i < length) {
      if (this.#atLineStart) {
        if (chunk[i] === DOT) {
          const kind = classifyDotLine(this.#prevLineEndedCrlf, chunk[i + 1], chunk[i + 2]);
          if (kind === 'end-of-data') {
            this.#flushRun(scan, i);
            scan.endOfData = i + 3;
            return;
          }
          if (kind === 'need-more') {
            this.#flushRun(scan, i);
            this.#pending = i + 1 < length ? 'dot-cr' : 'dot';
            scan.runStart = length;
            return;
          }
          if (kind === 'stuffed') {
            this.#flushRun(scan, i);
            i += 1;
            scan.runStart = i;
          }
        }
        this.#atLineStart = false;
      }
      const lf = chunk.indexOf(LF, i);
      const lineEnd = lf === -1 ? length : lf;
      this.#patchInside(scan, i, lineEnd);
      if (lf === -1) {
        const heldCr = chunk[length - 1] === CR;
        const contentEnd = heldCr ? length - 1 : length;
        if (heldCr) this.#pending = 'cr';
        this.lineBytes += contentEnd - i;
        this.#flushRun(scan, contentEnd);
        scan.runStart = length;
        return;
      }
      const crlf = lf > i && chunk[lf - 1] === CR;
      if (crlf) {
        this.lineBytes += lf - 1 - i;
      } else {
        this.lineBytes += lf - i;
        this.bareLineEnds += 1;
        this.#flushRun(scan, lf);
        this.#emitText(scan, '\r\n');
        scan.runStart = lf + 1;
      }
      this.#endLine(crlf);
      i = lf + 1;
    }
    this.#flushRun(scan, length);
  }

  /** Turns bare CRs (any CR before `to - 1`) and NULs in [from, to) into spaces. */
  #patchInside(scan: Scan, from: number, to: number): void {
    const { chunk } = scan;
    if (scan.nextCr !== -1 && scan.nextCr < from) scan.nextCr = chunk.indexOf(CR, from);
    while (scan.nextCr !== -1 && scan.nextCr < to - 1) {
      this.#patchSpace(scan, scan.nextCr);
      this.bareLineEnds += 1;
      scan.nextCr = chunk.indexOf(CR, scan.nextCr + 1);
    }
    if (scan.nextNul !== -1 && scan.nextNul < from) scan.nextNul = chunk.indexOf(NUL, from);
    while (scan.nextNul !== -1 && scan.nextNul < to) {
      this.#patchSpace(scan, scan.nextNul);
      this.nulCount += 1;
      scan.nextNul = chunk.indexOf(NUL, scan.nextNul + 1);
    }
  }

  /** Patches one byte to a space in a private copy of the chunk (made once per chunk). */
  #patchSpace(scan: Scan, index: number): void {
    if (scan.src === scan.chunk) scan.src = Buffer.from(scan.chunk);
    scan.src[index] = SPACE;
  }

  /** A CR held over from the last chunk turned out bare: it is stored as a space. */
  #emitBareCr(scan: Scan): void {
    this.bareLineEnds += 1;
    this.lineBytes += 1;
    this.#emitText(scan, ' ');
  }

  #endLine(endedWithCrlf: boolean): void {
    this.countLine();
    this.#prevLineEndedCrlf = endedWithCrlf;
    this.#atLineStart = true;
  }

  #flushRun(scan: Scan, end: number): void {
    if (end > scan.runStart) this.store(scan.out, scan.src.subarray(scan.runStart, end));
    scan.runStart = end;
  }

  #emitText(scan: Scan, text: string): void {
    this.store(scan.out, Buffer.from(text, 'latin1'));
  }

}
