// Base64 (RFC 2045 §6.8), streamed into lines of 76 characters: an encoder
// for octets, and a wrapper that re-cuts over-long lines into shorter ones
// (used for base64 bodies, whose decoders ignore line breaks, and for the
// preamble and epilogue of a multipart, which readers ignore).

import type { ByteSink } from './byte-sink.js';

/** RFC 2045 §6.8: encoded lines are at most 76 characters. */
export const BASE64_LINE_CHARS = 76;
/** Octets that make one full 76-character line. */
const LINE_OCTETS = (BASE64_LINE_CHARS / 4) * 3;
/** Octets encoded per step (a whole number of lines). */
const STEP_OCTETS = LINE_OCTETS * 1024;

export class Base64Encoder {
  readonly #sink: ByteSink;
  /** Fewer than 57 octets waiting for the rest of their line. */
  #carry = Buffer.alloc(0);

  constructor(sink: ByteSink) {
    this.#sink = sink;
  }

  write(bytes: Buffer): void {
    let input = this.#carry.length === 0 ? bytes : Buffer.concat([this.#carry, bytes]);
    while (input.length >= LINE_OCTETS) {
      const take = Math.min(STEP_OCTETS, input.length - (input.length % LINE_OCTETS));
      const encoded = input.toString('base64', 0, take);
      for (let at = 0; at < encoded.length; at += BASE64_LINE_CHARS) this.#sink.text(`${encoded.slice(at, at + BASE64_LINE_CHARS)}\r\n`);
      input = input.subarray(take);
    }
    this.#carry = Buffer.from(input);
  }

  /** Encodes what is left (with padding) and ends the last line with CRLF. */
  end(): void {
    if (this.#carry.length > 0) this.#sink.text(`${this.#carry.toString('base64')}\r\n`);
    this.#carry = Buffer.alloc(0);
  }
}

export interface LineWrapperOptions {
  /** Lines up to this many octets pass unchanged. */
  readonly wrapAbove: number;
  /** Longer lines are cut into lines of this many octets. */
  readonly width: number;
  /** Continuation lines that would start with "-" get a leading space, so none can look like a boundary. */
  readonly guardDashes: boolean;
}

/** Cuts over-long lines into `width`-octet lines at any octet; short lines pass unchanged. */
export class LineWrapper {
  readonly #sink: ByteSink;
  readonly #options: LineWrapperOptions;
  readonly #line: Buffer;
  #length = 0;
  /** Output lines written for the current input line (a CRLF is due before the next one). */
  #written = 0;
  #inLongLine = false;

  constructor(sink: ByteSink, options: LineWrapperOptions) {
    this.#sink = sink;
    this.#options = options;
    this.#line = Buffer.allocUnsafe(options.width);
  }

  write(bytes: Buffer, wholeLine: boolean): void {
    if (wholeLine && !this.#inLongLine && bytes.length <= this.#options.wrapAbove) {
      this.#sink.bytes(bytes);
      return;
    }
    this.#inLongLine = true;
    let at = 0;
    while (at < bytes.length) {
      if (this.#length === this.#options.width) this.#emit();
      const take = Math.min(this.#options.width - this.#length, bytes.length - at);
      bytes.copy(this.#line, this.#length, at, at + take);
      this.#length += take;
      at += take;
    }
  }

  endLine(lineBreak: boolean): void {
    if (this.#length > 0) this.#emit();
    if (lineBreak) this.#sink.text('\r\n');
    this.#written = 0;
    this.#inLongLine = false;
  }

  #emit(): void {
    if (this.#written > 0) {
      this.#sink.text('\r\n');
      if (this.#options.guardDashes && this.#line[0] === 0x2d) this.#sink.text(' ');
    }
    this.#sink.copy(this.#line.subarray(0, this.#length));
    this.#length = 0;
    this.#written += 1;
  }
}
