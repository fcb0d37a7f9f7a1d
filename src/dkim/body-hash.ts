// The DKIM body hash: SHA-256 over the body under "relaxed" canonicalization
// (RFC 6376 §3.4.4, §3.7), computed as the body streams past in chunks of any size.

import { createHash, type Hash } from 'node:crypto';

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;

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
    for (let index = 0; index < chunk.length; index++) {
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

  private content(octet: number): void {
    if (!this.lineHasContent) {
      for (; this.pendingEmptyLines > 0; this.pendingEmptyLines--) {
        this.write(CR);
        this.write(LF);
      }
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
