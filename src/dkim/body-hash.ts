// The DKIM body hash: SHA-256 over the body under "relaxed" canonicalization
// (RFC 6376 §3.4.4, §3.7), computed as the body streams past in chunks of any size.

import { createHash, type Hash } from 'node:crypto';

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const DOUBLE_SP = Buffer.from('  ');

/** Bytes collected before they go to the hash: keeps `update` calls few and memory flat. */
const OUTPUT_BUFFER_BYTES = 64 * 1024;

/**
 * Relaxed body canonicalization, streamed: WSP runs inside a line become one SP,
 * WSP at the end of a line goes, empty lines at the end of the body go, and a
 * non-empty body gets a final CRLF when it lacks one. Only what cannot be decided
 * yet is held back: a count of empty lines, one pending WSP run and one CR.
 */
export class RelaxedBodyHasher {
  private readonly hash: Hash = createHash('sha256');
  /** Written before it is read: no need to zero it. */
  private readonly output = Buffer.allocUnsafe(OUTPUT_BUFFER_BYTES);
  private outputBytes = 0;
  /** Lines that are empty after canonicalization, not yet known to be followed by content. */
  private pendingEmptyLines = 0;
  /** A WSP run seen in the current line, not yet known to be followed by content. */
  private pendingWhitespace = false;
  /** A CR seen last, not yet known to start a CRLF. */
  private pendingCr = false;
  /** The current line has written content (so it is not empty). */
  private lineHasContent = false;
  private finished = false;

  update(chunk: Buffer): void {
    if (this.finished) throw new Error('RelaxedBodyHasher.update after digest');
    const specials = new SpecialOctets(chunk);
    // chunk[runStart, index): whole canonical lines not yet hashed (hashed as one piece).
    let runStart = -1;
    const closeRun = (end: number): void => {
      if (runStart < 0) return;
      this.flush();
      this.hash.update(chunk.subarray(runStart, end));
      runStart = -1;
    };
    let index = 0;
    while (index < chunk.length) {
      if (this.pendingCr || this.pendingWhitespace || this.lineHasContent) {
        // Inside a line begun in an earlier chunk: octet by octet up to its end.
        const lf = chunk.indexOf(LF, index);
        const end = lf < 0 ? chunk.length : lf + 1;
        this.scan(chunk, index, end);
        index = end;
        continue;
      }
      const eol = lineEnd(chunk, index);
      if (eol < 0) break;
      if (eol > index && specials.canonicalLine(index, eol)) {
        // Most lines are already canonical: they are hashed as they stand, found by native searches.
        if (runStart < 0) {
          this.writeEmptyLines();
          this.flush();
          runStart = index;
        }
      } else {
        closeRun(index);
        if (eol === index) this.endLine();
        else this.scan(chunk, index, eol + 2);
      }
      index = eol + 2;
    }
    closeRun(index);
    if (index < chunk.length) this.scan(chunk, index, chunk.length);
  }

  /** The state machine, octet by octet, over chunk[from, to). */
  private scan(chunk: Buffer, from: number, to: number): void {
    for (let index = from; index < to; index++) {
      const octet = chunk[index] as number;
      if (this.pendingCr) {
        this.pendingCr = false;
        if (octet === LF) {
          this.endLine();
          continue;
        }
        this.content(CR);
      }
      if (octet === CR) this.pendingCr = true;
      else if (octet === SP || octet === HTAB) this.pendingWhitespace = true;
      else this.content(octet);
    }
  }

  /** The SHA-256 of the canonical body; the hasher takes no more input afterwards. */
  digest(): Buffer {
    if (!this.finished) {
      this.finished = true;
      if (this.pendingCr) this.content(CR);
      // A last line without CRLF: its trailing WSP goes; if it had content, it gets its CRLF.
      if (this.lineHasContent) this.endLine();
      this.flush();
    }
    return this.hash.copy().digest();
  }

  private writeEmptyLines(): void {
    for (; this.pendingEmptyLines > 0; this.pendingEmptyLines--) {
      this.write(CR);
      this.write(LF);
    }
  }

  private content(octet: number): void {
    if (!this.lineHasContent) {
      this.writeEmptyLines();
      this.lineHasContent = true;
    }
    if (this.pendingWhitespace) {
      this.write(SP);
      this.pendingWhitespace = false;
    }
    this.write(octet);
  }

  private endLine(): void {
    this.pendingWhitespace = false;
    if (this.lineHasContent) {
      this.write(CR);
      this.write(LF);
      this.lineHasContent = false;
    } else {
      this.pendingEmptyLines++;
    }
  }

  private write(octet: number): void {
    if (this.outputBytes === this.output.length) this.flush();
    this.output[this.outputBytes++] = octet;
  }

  private flush(): void {
    if (this.outputBytes === 0) return;
    this.hash.update(this.output.subarray(0, this.outputBytes));
    this.outputBytes = 0;
  }
}

/** Where the next CRLF from `from` starts, or -1 (a number needle: a plain byte search). */
function lineEnd(chunk: Buffer, from: number): number {
  for (let lf = chunk.indexOf(LF, from); lf >= 0; lf = chunk.indexOf(LF, lf + 1)) if (lf > from && chunk[lf - 1] === CR) return lf - 1;
  return -1;
}

/**
 * Where a chunk's HTAB, CR and double SP are, found by native searches that
 * only move forward: tells whether a line keeps its octets under relaxed
 * canonicalization (no HTAB, no bare CR, no WSP run, no trailing SP).
 */
class SpecialOctets {
  private nextTab = -1;
  private nextCr = -1;
  private nextDoubleSpace = -1;

  constructor(private readonly chunk: Buffer) {}

  /** chunk[start, end) is a line without its CRLF (chunk[end] is its CR); lines are asked in order. */
  canonicalLine(start: number, end: number): boolean {
    const { chunk } = this;
    if (chunk[end - 1] === SP) return false;
    if (this.nextTab !== -2 && this.nextTab < start) this.nextTab = nextOrNone(chunk.indexOf(HTAB, start));
    if (this.nextCr !== -2 && this.nextCr < start) this.nextCr = nextOrNone(chunk.indexOf(CR, start));
    if (this.nextDoubleSpace !== -2 && this.nextDoubleSpace < start) this.nextDoubleSpace = nextOrNone(chunk.indexOf(DOUBLE_SP, start));
    return !within(this.nextTab, end) && !within(this.nextCr, end) && !within(this.nextDoubleSpace, end);
  }
}

/** -2: none left in the chunk. */
function nextOrNone(position: number): number {
  return position < 0 ? -2 : position;
}

/** True when a found position lies before `end` (-2: none). */
function within(position: number, end: number): boolean {
  return position !== -2 && position < end;
}
