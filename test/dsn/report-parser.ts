// A small, strict MIME reader for the DSN tests: header sections with
// unfolding, multipart splitting on the boundary, quoted-printable decoding.

import assert from 'node:assert/strict';

export interface Field {
  readonly name: string;
  /** Unfolded: each CRLF before whitespace removed (RFC 5322 §2.2.3). */
  readonly value: string;
}

export interface Entity {
  readonly fields: readonly Field[];
  readonly body: string;
}

/** Parses "name: value" lines with continuation lines; fails on anything else. */
export function parseFields(section: string): Field[] {
  const fields: Array<{ name: string; value: string }> = [];
  for (const line of section.split('\r\n')) {
    if (line === '') continue;
    const last = fields[fields.length - 1];
    if (line.startsWith(' ') || line.startsWith('\t')) {
      assert.ok(last !== undefined, `continuation line without a field: ${JSON.stringify(line)}`);
      last.value += line;
      continue;
    }
    const match = /^([\x21-\x39\x3b-\x7e]+):[ \t]?(.*)$/.exec(line);
    assert.ok(match !== null, `not a header field: ${JSON.stringify(line)}`);
    fields.push({ name: match[1] ?? '', value: match[2] ?? '' });
  }
  return fields;
}

export function parseEntity(text: string): Entity {
  const split = text.indexOf('\r\n\r\n');
  assert.ok(split >= 0, 'entity has no blank line after its header section');
  return { fields: parseFields(text.slice(0, split + 2)), body: text.slice(split + 4) };
}

export function fieldValues(fields: readonly Field[], name: string): string[] {
  return fields.filter((field) => field.name.toLowerCase() === name.toLowerCase()).map((field) => field.value);
}

/** The single value of a field that must occur exactly once. */
export function field(fields: readonly Field[], name: string): string {
  const values = fieldValues(fields, name);
  assert.equal(values.length, 1, `${name} occurs ${values.length} times`);
  return values[0] ?? '';
}

export function contentType(fields: readonly Field[]): { type: string; params: Map<string, string> } {
  const [type = '', ...rest] = field(fields, 'Content-Type').split(';');
  const params = new Map<string, string>();
  for (const param of rest) {
    const equals = param.indexOf('=');
    const name = param.slice(0, equals).trim().toLowerCase();
    params.set(name, param.slice(equals + 1).trim().replace(/^"(.*)"$/, '$1'));
  }
  return { type: type.trim().toLowerCase(), params };
}

/** The body parts between "--boundary" lines (RFC 2046 §5.1.1); asserts the closing delimiter. */
export function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = `\r\n--${boundary}`;
  const text = `\r\n${body}`;
  const pieces = text.split(delimiter);
  const epilogue = pieces.pop() ?? '';
  assert.ok(epilogue.startsWith('--'), 'missing closing delimiter');
  // pieces[0] is the preamble; each later piece starts with the CRLF that ends the delimiter line.
  return pieces.slice(1).map((piece) => {
    assert.ok(piece.startsWith('\r\n'), 'delimiter line has trailing text');
    return piece.slice(2);
  });
}

export function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  const softJoined = text.replace(/=\r\n/g, '');
  for (let index = 0; index < softJoined.length; index += 1) {
    const character = softJoined[index] ?? '';
    if (character === '=') {
      bytes.push(parseInt(softJoined.slice(index + 1, index + 3), 16));
      index += 2;
    } else {
      bytes.push(...Buffer.from(character, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The groups of a delivery-status body (blank-line separated, RFC 3464 §2.1). */
export function fieldGroups(content: string): Field[][] {
  return content
    .split('\r\n\r\n')
    .filter((group) => group.trim() !== '')
    .map((group) => parseFields(group));
}

export interface ParsedReport {
  readonly top: Entity;
  readonly boundary: string;
  readonly parts: readonly Entity[];
  /** Part 1 text, transfer-decoded. */
  readonly human: string;
  readonly perMessage: readonly Field[];
  readonly perRecipient: readonly (readonly Field[])[];
  /** Part 3 content, transfer-decoded. */
  readonly originalHeaders: string;
}

function decoded(part: Entity): string {
  const encoding = field(part.fields, 'Content-Transfer-Encoding').toLowerCase();
  return encoding === 'quoted-printable' ? decodeQuotedPrintable(part.body) : part.body;
}

/** Parses a whole report and checks its multipart/report skeleton. */
export function parseReport(content: Buffer): ParsedReport {
  const top = parseEntity(content.toString('utf8'));
  const type = contentType(top.fields);
  assert.equal(type.type, 'multipart/report');
  assert.equal(type.params.get('report-type'), 'delivery-status');
  const boundary = type.params.get('boundary') ?? '';
  assert.ok(boundary !== '');
  const parts = splitMultipart(top.body, boundary).map(parseEntity);
  assert.equal(parts.length, 3);
  const [human, status, headers] = parts as [Entity, Entity, Entity];
  const [perMessage = [], ...perRecipient] = fieldGroups(decoded(status));
  return { top, boundary, parts, human: decoded(human), perMessage, perRecipient, originalHeaders: decoded(headers) };
}

/** Every line ends in CRLF, no bare CR or LF, none over 998 octets (RFC 5322 §2.1.1, §2.3). */
export function assertWellFormedLines(content: Buffer): void {
  assert.ok(content.length >= 2 && content[content.length - 2] === 0x0d && content[content.length - 1] === 0x0a);
  let lineStart = 0;
  for (let index = 0; index < content.length; index += 1) {
    const byte = content[index];
    if (byte === 0x0d) {
      assert.equal(content[index + 1], 0x0a, `bare CR at ${index}`);
      assert.ok(index - lineStart <= 998, `line of ${index - lineStart} octets at ${lineStart}`);
      index += 1;
      lineStart = index + 1;
    } else {
      assert.notEqual(byte, 0x0a, `bare LF at ${index}`);
      assert.notEqual(byte, 0x00, `NUL at ${index}`);
    }
  }
}
