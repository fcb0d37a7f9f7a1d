// Quoted-printable (RFC 2045 §6.7), streamed: an encoder for text whose line
// ends become hard line breaks, and a re-wrapper that puts soft line breaks
// into over-long lines of a body that is already quoted-printable.

import type { ByteSink } from './byte-sink.js';

/** RFC 2045 §6.7 rule 5: encoded lines are at most 76 characters, the soft break's "=" included. */
export const MAX_ENCODED_LINE_CHARS = 76;
/** Room for content on a line that may still need its soft-break "=". */
const CONTENT_CHARS = MAX_ENCODED_LINE_CHARS - 1;
/** RFC 5322 §2.1.1 hard limit, excluding CRLF. */
const MAX_LINE_OCTETS = 998;

const SP = 0x20;
const HTAB = 0x09;
const EQUALS = 0x3d;
const HEX = '0123456789ABCDEF';
const SOFT_BREAK = '=\r\n';

const isWsp = (octet: number): boolean => octet === SP || octet === HTAB;

/**
 * Encodes text line by line: printable ASCII except "=" stays literal
 * (rule 2), everything else becomes "=XX" (rule 1), a space or tab that ends
 * a line is encoded (rule 3), and a soft break keeps lines within 76
 * characters. Only one trailing space or tab is ever held back.
 */
export class QuotedPrintableEncoder {
  readonly #sink: ByteSink;
  #column = 0;
  /** A space or tab not yet known to be followed by more of the line; -1 when none. */
  #heldWhitespace = -1;

  constructor(sink: ByteSink) {
    this.#sink = sink;
  }

  /** Part of the current line (without its line break). */
  write(bytes: Buffer): void {
    for (let index = 0; index < bytes.length; index += 1) {
      const octet = bytes[index] as number;
      if (this.#heldWhitespace !== -1) {
        this.#literal(this.#heldWhitespace);
        this.#heldWhitespace = -1;
      }
      if (isWsp(octet)) this.#heldWhitespace = octet;
      else if (octet > SP && octet < 0x7f && octet !== EQUALS) this.#literal(octet);
      else this.#escaped(octet);
    }
  }

  /** The line ended: with a hard line break (CRLF), or at the end of the body when `lineBreak` is false. */
  endLine(lineBreak: boolean): void {
    if (this.#heldWhitespace !== -1) this.#escaped(this.#heldWhitespace);
    this.#heldWhitespace = -1;
    if (lineBreak) this.#sink.text('\r\n');
    this.#column = 0;
  }

  #literal(octet: number): void {
    if (this.#column + 1 > CONTENT_CHARS) this.#softBreak();
    this.#sink.byte(octet);
    this.#column += 1;
  }

  #escaped(octet: number): void {
    if (this.#column + 3 > CONTENT_CHARS) this.#softBreak();
    this.#sink.text(`=${HEX[octet >> 4]}${HEX[octet & 0x0f]}`);
    this.#column += 3;
  }

  #softBreak(): void {
    this.#sink.text(SOFT_BREAK);
    this.#column = 0;
  }
}

/**
 * Re-wraps lines of an existing quoted-printable body that are longer than 76
 * characters by inserting soft line breaks, which decoders remove (rule 5).
 * A break goes only after a literal character that is not a space or tab, or
 * after a whole "=XX" escape: never inside an escape, never after a "=" that
 * starts none (so no new escape can form), and never after white space, so
 * white space that decoders strip at a line's end (rule 3) stays at the line's
 * end and white space they keep is never left at one. A run of white space
 * too long to fit on one line cannot be re-wrapped so.
 */
export class QuotedPrintableRewrapper {
  readonly #sink: ByteSink;
  readonly #segment = Buffer.allocUnsafe(MAX_LINE_OCTETS);
  #length = 0;
  /** Segment length after the last token a soft break may follow. */
  #splitAt = 0;
  /** Hex digits seen of an escape begun by the last "=": 0 or 1; -1 outside an escape. */
  #escapeDigits = -1;
  #inLongLine = false;

  constructor(sink: ByteSink) {
    this.#sink = sink;
  }

  /** A piece of a line; false when the line cannot be re-wrapped (nothing more may be written then). */
  write(bytes: Buffer, wholeLine: boolean): boolean {
    if (wholeLine && !this.#inLongLine && bytes.length <= MAX_ENCODED_LINE_CHARS) {
      this.#sink.bytes(bytes);
      return true;
    }
    this.#inLongLine = true;
    for (let index = 0; index < bytes.length; index += 1) {
      const octet = bytes[index] as number;
      if (this.#escapeDigits !== -1) {
        if (isHexDigit(octet)) {
          this.#segment[this.#length++] = octet;
          this.#escapeDigits += 1;
          if (this.#escapeDigits === 2) {
            this.#escapeDigits = -1;
            this.#splitAt = this.#length;
          }
          continue;
        }
        // "=" without two hex digits is a literal "=" to decoders; a break may follow "=X", never a bare "=".
        if (this.#escapeDigits === 1) this.#splitAt = this.#length;
        this.#escapeDigits = -1;
      }
      if (!this.#token(octet)) return false;
    }
    return true;
  }

  endLine(lineBreak: boolean): void {
    this.#sink.copy(this.#segment.subarray(0, this.#length));
    if (lineBreak) this.#sink.text('\r\n');
    this.#length = 0;
    this.#splitAt = 0;
    this.#escapeDigits = -1;
    this.#inLongLine = false;
  }

  /** Starts a token: a literal octet, or a "=" that may begin an escape (room for three kept). */
  #token(octet: number): boolean {
    const room = octet === EQUALS ? 3 : 1;
    if (this.#length + room > CONTENT_CHARS && this.#splitAt > 0) this.#softBreak();
    if (this.#length + room > MAX_LINE_OCTETS - 1) return false;
    this.#segment[this.#length++] = octet;
    if (octet === EQUALS) this.#escapeDigits = 0;
    else if (!isWsp(octet)) this.#splitAt = this.#length;
    return true;
  }

  #softBreak(): void {
    this.#sink.copy(this.#segment.subarray(0, this.#splitAt));
    this.#sink.text(SOFT_BREAK);
    this.#segment.copy(this.#segment, 0, this.#splitAt, this.#length);
    this.#length -= this.#splitAt;
    this.#splitAt = 0;
  }
}

function isHexDigit(octet: number): boolean {
  return (octet >= 0x30 && octet <= 0x39) || (octet >= 0x41 && octet <= 0x46) || (octet >= 0x61 && octet <= 0x66);
}
