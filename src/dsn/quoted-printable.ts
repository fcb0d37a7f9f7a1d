// Quoted-Printable content transfer encoding (RFC 2045 §6.7) of text lines,
// used to keep a report 7-bit when it carries UTF-8 text.

/** RFC 2045 §6.7 rule 5: encoded lines are at most 76 characters. */
const MAX_ENCODED_LINE = 76;

function encodeByte(byte: number, isLast: boolean): string {
  const isWhitespace = byte === 0x20 || byte === 0x09;
  const isLiteral = (byte >= 0x21 && byte <= 0x7e && byte !== 0x3d) || (isWhitespace && !isLast);
  return isLiteral ? String.fromCharCode(byte) : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
}

/** Encodes each line (without its line end) as UTF-8 QP; returns encoded lines, soft breaks ("=") included. */
export function encodeQuotedPrintableLines(lines: readonly string[]): string[] {
  const encodedLines: string[] = [];
  for (const line of lines) {
    const bytes = Buffer.from(line, 'utf8');
    let current = '';
    bytes.forEach((byte, index) => {
      const token = encodeByte(byte, index === bytes.length - 1);
      // Leave room for the soft line break "=".
      if (current.length + token.length > MAX_ENCODED_LINE - 1) {
        encodedLines.push(`${current}=`);
        current = '';
      }
      current += token;
    });
    encodedLines.push(current);
  }
  return encodedLines;
}
