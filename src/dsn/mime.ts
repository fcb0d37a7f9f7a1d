// MIME assembly for the report: body parts with their transfer encoding
// (RFC 2045 §6), and a multipart body whose boundary occurs in no part (RFC 2046 §5.1.1).

import { foldField } from './fold.js';
import { encodeQuotedPrintableLines } from './quoted-printable.js';
import { hasNonAscii } from './text.js';

export type TransferEncoding = '7bit' | '8bit' | 'quoted-printable';

export interface MimePart {
  readonly contentType: string;
  readonly description: string;
  readonly encoding: TransferEncoding;
  /** Encoded content lines, without line ends. */
  readonly lines: readonly string[];
}

/**
 * A part from plain content lines: 7bit when ASCII, 8bit when UTF-8 may travel
 * as is (the report goes out with SMTPUTF8), else quoted-printable.
 */
export function textPart(contentType: string, description: string, lines: readonly string[], allow8bit: boolean): MimePart {
  if (!lines.some(hasNonAscii)) return { contentType, description, encoding: '7bit', lines };
  if (allow8bit) return { contentType, description, encoding: '8bit', lines };
  return { contentType, description, encoding: 'quoted-printable', lines: encodeQuotedPrintableLines(lines) };
}

/** Content with CRLF line ends as lines (the final line end dropped). */
export function contentLines(content: string): string[] {
  const lines = content.split('\r\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * "=_outpost_<token>" (at most 58 characters of RFC 2046 bcharsnospace, well
 * under the limit of 70; "=_" never occurs in quoted-printable output),
 * suffixed until no line of any part starts with "--" and it (RFC 2046 §5.1.1).
 */
export function chooseBoundary(uniqueToken: string, parts: readonly MimePart[]): string {
  const token = uniqueToken.replace(/[^A-Za-z0-9._-]/g, '').slice(0, 48);
  const base = `=_outpost_${token === '' ? 'report' : token}`;
  const collides = (boundary: string): boolean =>
    parts.some((part) => part.lines.some((line) => line.startsWith(`--${boundary}`)));
  let boundary = base;
  for (let suffix = 1; collides(boundary); suffix += 1) boundary = `${base}_${suffix}`;
  return boundary;
}

/** The multipart body (after the top-level header section) with CRLF line ends. */
export function multipartBody(boundary: string, preamble: string, parts: readonly MimePart[]): string {
  const renderedParts = parts.map(
    (part) =>
      `--${boundary}\r\n` +
      foldField('Content-Description', part.description) +
      foldField('Content-Type', part.contentType) +
      foldField('Content-Transfer-Encoding', part.encoding) +
      '\r\n' +
      part.lines.map((line) => `${line}\r\n`).join(''),
  );
  return `${preamble}\r\n\r\n${renderedParts.join('\r\n')}\r\n--${boundary}--\r\n`;
}
