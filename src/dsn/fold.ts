// Line-length rules: header fields folded at whitespace (RFC 5322 §2.2.3,
// 78-octet target, 998-octet hard limit of §2.1.1) and plain-text wrapping.

import { octetLength, splitOctets } from './text.js';

/** RFC 5322 §2.1.1: lines SHOULD be at most 78 characters. */
export const FOLD_TARGET_OCTETS = 78;
/** A word longer than this is cut into pieces so no line can reach the 998-octet limit. */
export const MAX_WORD_OCTETS = 900;

/** Cuts over-long words; the pieces become separate words (a space is inserted where the cut falls). */
function words(text: string): string[] {
  return text
    .split(' ')
    .filter((word) => word !== '')
    .flatMap((word) => (octetLength(word) > MAX_WORD_OCTETS ? splitOctets(word, MAX_WORD_OCTETS) : [word]));
}

/**
 * One header field ("Name: value" plus CRLF), folded before whitespace so that
 * lines stay near 78 octets; continuation lines start with one space.
 * `value` must already be a single line (see sanitizeLine).
 */
export function foldField(name: string, value: string): string {
  const lines: string[] = [];
  let line = `${name}:`;
  let lineHasWord = false;
  for (const word of words(value)) {
    const candidate = `${line} ${word}`;
    if (lineHasWord && octetLength(candidate) > FOLD_TARGET_OCTETS) {
      lines.push(line);
      line = ` ${word}`;
    } else {
      line = candidate;
    }
    lineHasWord = true;
  }
  lines.push(line);
  return `${lines.join('\r\n')}\r\n`;
}

/** Wraps one paragraph greedily at `widthCharacters`; continuation lines get `indent`. */
export function wrapText(text: string, widthCharacters: number, indent = ''): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of words(text)) {
    if (line === '') {
      line = lines.length === 0 ? word : `${indent}${word}`;
    } else if (line.length + 1 + word.length > widthCharacters) {
      lines.push(line);
      line = `${indent}${word}`;
    } else {
      line = `${line} ${word}`;
    }
  }
  if (line !== '' || lines.length === 0) lines.push(line);
  return lines;
}
