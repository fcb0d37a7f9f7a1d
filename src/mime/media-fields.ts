// Reads the two MIME fields that decide how a body may be re-encoded:
// Content-Type (RFC 2045 §5.1, RFC 2046 boundary and charset, RFC 2231
// continuations) and Content-Transfer-Encoding (RFC 2045 §6.1).
// A value that does not parse reads as absent (RFC 2045 §5.2 defaults apply).

export interface MediaType {
  /** Lowercase, e.g. "text". */
  readonly type: string;
  /** Lowercase, e.g. "plain". */
  readonly subtype: string;
  /** Parameter values by lowercase name (RFC 2231 continuations joined). */
  readonly parameters: ReadonlyMap<string, string>;
}

/** RFC 2045 §5.1 tspecials, plus space and controls: never part of a token. */
const TOKEN_STOP = /[\x00-\x20\x7f()<>@,;:\\"/[\]?=]/;

class FieldScanner {
  position = 0;

  constructor(private readonly text: string) {}

  get done(): boolean {
    this.skipSpaceAndComments();
    return this.position >= this.text.length;
  }

  /** Skips white space and RFC 822 comments (nested, with quoted pairs). */
  skipSpaceAndComments(): void {
    const { text } = this;
    while (this.position < text.length) {
      const char = text[this.position];
      if (char === ' ' || char === '\t' || char === '\r' || char === '\n') {
        this.position += 1;
      } else if (char === '(') {
        let depth = 0;
        while (this.position < text.length) {
          const inside = text[this.position];
          this.position += inside === '\\' ? 2 : 1;
          if (inside === '(') depth += 1;
          else if (inside === ')' && --depth === 0) break;
        }
      } else {
        return;
      }
    }
  }

  /** Consumes `char` (after CFWS) when it is next. */
  accept(char: string): boolean {
    this.skipSpaceAndComments();
    if (this.text[this.position] !== char) return false;
    this.position += 1;
    return true;
  }

  token(): string | undefined {
    this.skipSpaceAndComments();
    const start = this.position;
    while (this.position < this.text.length && !TOKEN_STOP.test(this.text[this.position] ?? ' ')) this.position += 1;
    return this.position > start ? this.text.slice(start, this.position) : undefined;
  }

  /** A token or a quoted string (quoted pairs resolved). */
  value(): string | undefined {
    this.skipSpaceAndComments();
    if (this.text[this.position] !== '"') return this.token();
    let value = '';
    this.position += 1;
    while (this.position < this.text.length) {
      const char = this.text[this.position] ?? '';
      this.position += 1;
      if (char === '"') return value;
      if (char === '\\') {
        value += this.text[this.position] ?? '';
        this.position += 1;
      } else if (char !== '\r' && char !== '\n') {
        value += char;
      }
    }
    return undefined;
  }
}

/** Parses a Content-Type field value; undefined when type/subtype does not parse. */
export function parseContentType(value: string): MediaType | undefined {
  const scanner = new FieldScanner(value);
  const type = scanner.token();
  if (type === undefined || !scanner.accept('/')) return undefined;
  const subtype = scanner.token();
  if (subtype === undefined) return undefined;
  const raw = new Map<string, string>();
  while (scanner.accept(';')) {
    if (scanner.done) break;
    const name = scanner.token();
    if (name === undefined || !scanner.accept('=')) break;
    const parameterValue = scanner.value();
    if (parameterValue === undefined) break;
    const key = name.toLowerCase();
    if (!raw.has(key)) raw.set(key, parameterValue);
  }
  return { type: type.toLowerCase(), subtype: subtype.toLowerCase(), parameters: joinContinuations(raw) };
}

/**
 * RFC 2231 §3-4: `name*0`, `name*1*`… are joined into `name` (percent-decoded
 * where marked with `*`, the charset'language' prefix dropped) when `name` itself is absent.
 */
function joinContinuations(raw: ReadonlyMap<string, string>): ReadonlyMap<string, string> {
  const joined = new Map<string, string>();
  for (const [name, value] of raw) {
    const extended = /^([^*]+)\*$/.exec(name);
    if (extended?.[1] !== undefined) joined.set(extended[1], decodeExtended(value, true));
  }
  for (const [name, value] of raw) if (!name.includes('*')) joined.set(name, value);
  const sections = new Map<string, string[]>();
  for (const [name, value] of raw) {
    const section = /^([^*]+)\*(\d+)(\*?)$/.exec(name);
    if (section?.[1] === undefined || section[2] === undefined) continue;
    const parts = sections.get(section[1]) ?? [];
    parts[Number(section[2])] = section[3] === '*' ? decodeExtended(value, section[2] === '0') : value;
    sections.set(section[1], parts);
  }
  for (const [name, parts] of sections) if (!joined.has(name)) joined.set(name, parts.join(''));
  return joined;
}

function decodeExtended(value: string, hasCharsetPrefix: boolean): string {
  const text = hasCharsetPrefix ? value.replace(/^[^']*'[^']*'/, '') : value;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The Content-Transfer-Encoding mechanism, lowercase ("7bit", "quoted-printable", "x-uuencode"…). */
export function parseTransferEncoding(value: string): string | undefined {
  return new FieldScanner(value).token()?.toLowerCase();
}
