// The original message's header section for the third report part
// (text/rfc822-headers, RFC 6522 §4; message/global-headers, RFC 6533 §6):
// canonical lines, no empty line inside, none over 998 octets (RFC 5322 §2.1.1).

import { octetLength, splitOctets } from './text.js';

const MAX_LINE_OCTETS = 998;
/** Controls other than TAB would corrupt the part; line ends are handled by splitting. */
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

/** Splits on any line end (CRLF, bare LF, bare CR); drops empty lines so the section cannot end early. */
export function originalHeaderLines(headerSection: string): string[] {
  return headerSection
    .split(/\r\n|\r|\n/)
    .map((line) => line.replace(CONTROL_CHARACTERS, ''))
    .filter((line) => line.trim() !== '')
    .flatMap(limitLine);
}

/** An over-long line is cut into a line and continuation lines (a fold: each piece after the first starts with a space). */
function limitLine(line: string): string[] {
  if (octetLength(line) <= MAX_LINE_OCTETS) return [line];
  const [first = '', ...rest] = splitOctets(line, MAX_LINE_OCTETS - 1);
  return [first, ...rest.map((piece) => ` ${piece}`)];
}
