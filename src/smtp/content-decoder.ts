// What the spooling of a message needs of its decoder, whichever way the client
// sends the content: DATA with its end marker (data-decoder.ts, RFC 5321 §4.1.1.4)
// or BDAT chunks (chunk-decoder.ts, RFC 3030).

import type { DecodeStep } from './data-decoder.js';

export interface ContentDecoder {
  /** Canonical content for the raw bytes of `chunk` (CRLF lines, no more than the size limit). */
  push(chunk: Buffer): DecodeStep;
  /** The client declared the content complete (BDAT LAST): the held bytes, normalised; `done` is set. */
  end(): DecodeStep;
  /** Stored content bytes, counted on past the size limit. */
  readonly sizeBytes: number;
  readonly oversized: boolean;
  readonly lineTooLong: boolean;
  /** Longest complete stored line, including its CRLF. */
  readonly longestLineBytes: number;
  readonly has8bit: boolean;
}
