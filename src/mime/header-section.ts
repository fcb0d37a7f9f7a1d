// One header section as stored (CRLF lines, no empty line): its fields, the
// value of a field, folding of lines over 998 octets at white space
// (RFC 5322 §2.1.1, §2.2.3, §3.2.2) and the field edits a re-encoding needs.

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const CRLF = Buffer.from('\r\n', 'latin1');

/** RFC 5322 §2.1.1: a line MUST NOT exceed 998 octets, excluding the CRLF. */
export const MAX_LINE_OCTETS = 998;
/** RFC 5322 §2.1.1: lines SHOULD stay within 78 octets; folding aims for this. */
export const FOLD_TARGET_OCTETS = 78;

export interface FieldSpan {
  /** Lowercase field name, without the colon; "" for a line that is no field. */
  readonly name: string;
  /** Byte range of the whole field in the section, continuation lines and the final CRLF included. */
  readonly start: number;
  readonly end: number;
}

const isWsp = (octet: number | undefined): boolean => octet === SP || octet === HTAB;

/** The fields of a section; a line starting with WSP continues the field before it. */
export function fieldSpans(section: Buffer): FieldSpan[] {
  const spans: FieldSpan[] = [];
  let start = -1;
  let lineStart = 0;
  while (lineStart < section.length) {
    const lf = section.indexOf(LF, lineStart);
    const next = lf === -1 ? section.length : lf + 1;
    if (!isWsp(section[lineStart]) || start === -1) {
      if (start !== -1) spans.push(span(section, start, lineStart));
      start = lineStart;
    }
    lineStart = next;
  }
  if (start !== -1) spans.push(span(section, start, section.length));
  return spans;
}

function span(section: Buffer, start: number, end: number): FieldSpan {
  const lf = section.indexOf(LF, start);
  const colon = section.indexOf(COLON, start);
  const hasName = colon !== -1 && (lf === -1 || colon < lf);
  const name = hasName ? section.toString('latin1', start, colon).replace(/[ \t]+$/, '').toLowerCase() : '';
  return { name, start, end };
}

/** The first field named `name` (lowercase), unfolded, after its colon; undefined when absent. */
export function fieldValue(section: Buffer, spans: readonly FieldSpan[], name: string): string | undefined {
  const found = spans.find((candidate) => candidate.name === name);
  if (found === undefined) return undefined;
  const raw = section.toString('latin1', found.start, found.end);
  return raw.slice(raw.indexOf(':') + 1).replace(/\r?\n/g, '');
}

/**
 * Folds one line (no CRLF) longer than 998 octets into lines near 78 octets by
 * inserting CRLF before white space (unfolding gives the line back). Breaks only
 * after the start of the field's value, before the first WSP of a run, and never
 * so that a line holds only WSP. Undefined when some piece would still exceed 998 octets.
 */
export function foldLine(line: Buffer): Buffer[] | undefined {
  if (line.length <= MAX_LINE_OCTETS) return [line];
  // The first line keeps the field name and the start of its value.
  let earliest = line.indexOf(COLON) + 1;
  while (earliest < line.length && isWsp(line[earliest])) earliest += 1;
  earliest += 1;
  let lastContent = line.length - 1;
  while (lastContent >= 0 && isWsp(line[lastContent])) lastContent -= 1;
  const breakable = (at: number): boolean => at >= earliest && at < lastContent && isWsp(line[at]) && !isWsp(line[at - 1]);
  const pieces: Buffer[] = [];
  let start = 0;
  while (line.length - start > FOLD_TARGET_OCTETS) {
    let at = -1;
    for (let candidate = Math.min(start + FOLD_TARGET_OCTETS, lastContent); candidate > start; candidate -= 1) {
      if (breakable(candidate)) {
        at = candidate;
        break;
      }
    }
    const furthest = Math.min(start + MAX_LINE_OCTETS, lastContent);
    for (let candidate = start + FOLD_TARGET_OCTETS + 1; at === -1 && candidate <= furthest; candidate += 1) {
      if (breakable(candidate)) at = candidate;
    }
    if (at === -1) {
      if (line.length - start > MAX_LINE_OCTETS) return undefined;
      break;
    }
    pieces.push(line.subarray(start, at));
    start = at;
  }
  pieces.push(line.subarray(start));
  return pieces;
}

/** What a re-encoding changes in a section. */
export interface SectionEdits {
  /** Replaces every Content-Transfer-Encoding field with one of this value (at the first one's place, else at the end). */
  readonly transferEncoding?: string;
  /** Whole fields ("Name: value", no CRLF) appended at the end. */
  readonly append?: readonly string[];
}

export type SectionRewrite =
  | { readonly ok: true; readonly section: Buffer; readonly foldedLines: number }
  | { readonly ok: false; readonly unfoldableLineOctets: number };

/** Applies `edits`, then folds every line over 998 octets; the result ends with CRLF when not empty. */
export function rewriteSection(section: Buffer, edits: SectionEdits = {}): SectionRewrite {
  const parts: Buffer[] = [];
  let replaced = false;
  const encodingField = edits.transferEncoding === undefined ? undefined : Buffer.from(`Content-Transfer-Encoding: ${edits.transferEncoding}\r\n`, 'latin1');
  for (const field of fieldSpans(section)) {
    if (encodingField !== undefined && field.name === 'content-transfer-encoding') {
      if (!replaced) parts.push(encodingField);
      replaced = true;
      continue;
    }
    parts.push(section.subarray(field.start, field.end));
    if (section[field.end - 1] !== LF) parts.push(CRLF);
  }
  for (const field of edits.append ?? []) parts.push(Buffer.from(`${field}\r\n`, 'utf8'));
  if (encodingField !== undefined && !replaced) parts.push(encodingField);
  return foldSection(Buffer.concat(parts));
}

function foldSection(section: Buffer): SectionRewrite {
  const out: Buffer[] = [];
  let foldedLines = 0;
  let lineStart = 0;
  while (lineStart < section.length) {
    const lf = section.indexOf(LF, lineStart);
    const next = lf === -1 ? section.length : lf + 1;
    const contentEnd = lf > lineStart && section[lf - 1] === CR ? lf - 1 : lf === -1 ? section.length : lf;
    const line = section.subarray(lineStart, contentEnd);
    const pieces = foldLine(line);
    if (pieces === undefined) return { ok: false, unfoldableLineOctets: line.length };
    if (pieces.length > 1) foldedLines += 1;
    for (const piece of pieces) out.push(piece, CRLF);
    lineStart = next;
  }
  return { ok: true, section: Buffer.concat(out), foldedLines };
}
