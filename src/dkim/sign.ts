// DKIM-Signature header fields for a message (RFC 6376 §3.5, §5.4, §5.6), one per key:
// rsa-sha256 (RFC 8301) and ed25519-sha256 (RFC 8463), each independent of the other.

import { createHash, sign } from 'node:crypto';
import { OutpostError } from '../core/errors.js';
import { headerHashInput, sameFieldName, selectSignedFields } from './header-canon.js';
import type { DkimKey } from './keys.js';
import type { HeaderField } from './message-splitter.js';

/** Fields signed as often as present (RFC 6376 §5.4.1), in h= order. */
export const SIGNED_FIELD_NAMES: readonly string[] = [
  'From', 'Reply-To', 'Subject', 'Date', 'To', 'Cc',
  'Resent-Date', 'Resent-From', 'Resent-To', 'Resent-Cc',
  'In-Reply-To', 'References',
  'List-Id', 'List-Help', 'List-Unsubscribe', 'List-Unsubscribe-Post', 'List-Subscribe', 'List-Post', 'List-Owner', 'List-Archive',
  'Message-ID', 'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding', 'Content-ID', 'Content-Description',
  'Sender', 'Feedback-ID',
  // RFC 8460 §5.3: TLS report mail signs its report fields.
  'TLS-Report-Domain', 'TLS-Report-Submitter',
];

/** Fields named once more than present, so that adding one breaks the signature (RFC 6376 §8.15). */
export const OVERSIGNED_FIELD_NAMES: ReadonlySet<string> = new Set(
  ['From', 'Subject', 'Date', 'To', 'Cc', 'Reply-To', 'Message-ID', 'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding', 'Sender', 'List-Unsubscribe', 'List-Unsubscribe-Post'],
);

const FIELD_NAME = 'DKIM-Signature';
/** RFC 5322 §2.1.1: lines SHOULD stay within 78 characters (MUST within 998). */
const MAX_LINE_CHARS = 78;

export interface DkimSignInput {
  readonly headers: readonly HeaderField[];
  readonly bodyHash: Buffer;
  /** The d= domain; every key must belong to it. */
  readonly domain: string;
  readonly keys: readonly DkimKey[];
  readonly timestampSeconds: number;
}

/** The h= list for these headers: each signed name as many times as present, over-signed names once more. */
export function signedHeaderNames(headers: readonly HeaderField[]): string[] {
  return SIGNED_FIELD_NAMES.flatMap((name) => {
    const present = headers.filter((field) => sameFieldName(field.name, name)).length;
    const times = present + (OVERSIGNED_FIELD_NAMES.has(name) ? 1 : 0);
    return Array.from({ length: times }, () => name);
  });
}

/** Complete folded DKIM-Signature fields, each ending in CRLF, in the order of `keys`; put them in front of the message. */
export function dkimSignatureFields(input: DkimSignInput): string[] {
  return unsignedFields(input).map(({ field, data, key }) => completed(field, signatureOf(data, key)));
}

/**
 * The same fields, the signatures made on libuv's thread pool: an RSA-2048
 * signature costs ~0.3 ms of CPU, which then stays off the main thread.
 */
export async function dkimSignatureFieldsAsync(input: DkimSignInput): Promise<string[]> {
  return Promise.all(unsignedFields(input).map(async ({ field, data, key }) => completed(field, await signatureOfAsync(data, key))));
}

interface UnsignedField {
  readonly field: FoldedField;
  /** The header hash input (RFC 6376 §3.7), ending with this field with b= empty. */
  readonly data: Buffer;
  readonly key: DkimKey;
}

function unsignedFields(input: DkimSignInput): UnsignedField[] {
  const names = signedHeaderNames(input.headers);
  const selected = selectSignedFields(input.headers, names);
  return input.keys.map((key) => {
    if (key.domain !== input.domain) throw new OutpostError('EDKIMDOMAIN', `DKIM key ${key.file} is for ${key.domain}, not ${input.domain}`);
    const field = new FoldedField(FIELD_NAME);
    field.add(`v=1;`, ' ');
    field.add(`a=${key.algorithm};`, ' ');
    field.add('c=relaxed/relaxed;', ' ');
    field.add(`d=${input.domain};`, ' ');
    field.add(`s=${key.selector};`, ' ');
    field.add(`t=${Math.floor(input.timestampSeconds)};`, ' ');
    names.forEach((name, index) => field.add(`${index === 0 ? 'h=' : ''}${name}${index === names.length - 1 ? ';' : ':'}`, index === 0 ? ' ' : ''));
    field.add(`bh=${input.bodyHash.toString('base64')};`, ' ');
    field.add('b=', ' ');
    return { field, data: headerHashInput(selected, Buffer.from(field.text(), 'latin1')), key };
  });
}

function completed(field: FoldedField, signature: Buffer): string {
  field.addSplittable(signature.toString('base64'));
  return `${field.text()}\r\n`;
}

/** rsa-sha256: RSASSA-PKCS1-v1_5 over SHA-256 (RFC 8301); ed25519-sha256: pure Ed25519 over the SHA-256 digest (RFC 8463 §3). */
function signingInput(data: Buffer, key: DkimKey): [algorithm: string | null, input: Buffer] {
  return key.algorithm === 'rsa-sha256' ? ['sha256', data] : [null, createHash('sha256').update(data).digest()];
}

export function signatureOf(data: Buffer, key: DkimKey): Buffer {
  const [algorithm, input] = signingInput(data, key);
  return sign(algorithm, input, key.privateKey);
}

function signatureOfAsync(data: Buffer, key: DkimKey): Promise<Buffer> {
  const [algorithm, input] = signingInput(data, key);
  return new Promise((resolve, reject) => sign(algorithm, input, key.privateKey, (error, signature) => (error === null ? resolve(signature) : reject(error))));
}

/** A header field folded as it is built: words go on the current line while it stays within 78 characters. */
class FoldedField {
  private readonly lines: string[] = [];
  private current: string;

  constructor(name: string) {
    this.current = `${name}:`;
  }

  /** Adds `word` after `separator` on this line, or on a new line (starting with one SP) when it would not fit. */
  add(word: string, separator: ' ' | ''): void {
    if (this.current.length + separator.length + word.length <= MAX_LINE_CHARS) {
      this.current += separator + word;
      return;
    }
    this.lines.push(this.current);
    this.current = ` ${word}`;
  }

  /** Adds `text` (base64: FWS may go anywhere in it) filling each line to 78 characters. */
  addSplittable(text: string): void {
    let rest = text;
    while (rest.length > 0) {
      const room = MAX_LINE_CHARS - this.current.length;
      if (room <= 0) {
        this.lines.push(this.current);
        this.current = ' ';
        continue;
      }
      this.current += rest.slice(0, room);
      rest = rest.slice(room);
    }
  }

  text(): string {
    return [...this.lines, this.current].join('\r\n');
  }
}
