// Text hygiene for DSNs: strips control and line-breaking characters from
// remote text (no field injection, RFC 5322 §2.2) and counts octets.

/** Characters that break lines or hide text: C0 (incl. CR, LF, TAB), DEL, C1, line/paragraph separators, bidi controls. */
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Upper bound on one diagnostic's length, so a hostile reply cannot bloat a report. */
export const MAX_DIAGNOSTIC_OCTETS = 4096;

/** One line of text: every unsafe character becomes a space, runs of spaces collapse, ends trimmed, length capped. */
export function sanitizeLine(text: string, maxOctets: number = MAX_DIAGNOSTIC_OCTETS): string {
  const cleaned = text.replace(UNSAFE_CHARACTERS, ' ').replace(/ {2,}/g, ' ').trim();
  return truncateOctets(cleaned, maxOctets);
}

/** A token (address, host name): unsafe characters and spaces removed entirely. */
export function sanitizeToken(text: string, maxOctets: number = 990): string {
  return truncateOctets(text.replace(UNSAFE_CHARACTERS, '').replace(/ /g, ''), maxOctets);
}

export function hasNonAscii(text: string): boolean {
  return /[^\x00-\x7f]/.test(text);
}

/** Replaces every non-ASCII character with "?" (for the 7-bit message/delivery-status part, RFC 3464 §2.1.1). */
export function toAscii(text: string): string {
  return text.replace(/[^\x00-\x7f]/gu, '?');
}

export function octetLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Splits `text` into pieces of at most `maxOctets` UTF-8 octets each, never inside a character. */
export function splitOctets(text: string, maxOctets: number): string[] {
  const pieces: string[] = [];
  let current = '';
  let currentOctets = 0;
  for (const character of text) {
    const characterOctets = octetLength(character);
    if (currentOctets + characterOctets > maxOctets && current !== '') {
      pieces.push(current);
      current = '';
      currentOctets = 0;
    }
    current += character;
    currentOctets += characterOctets;
  }
  if (current !== '' || pieces.length === 0) pieces.push(current);
  return pieces;
}

function truncateOctets(text: string, maxOctets: number): string {
  if (octetLength(text) <= maxOctets) return text;
  const ellipsis = '...';
  return (splitOctets(text, maxOctets - ellipsis.length)[0] ?? '') + ellipsis;
}
