// Splits a stored message (CRLF line ends) into its header fields and its body
// as the bytes stream past (RFC 5322 §2.1, §2.2; RFC 6376 §5.4-5.5): fields are
// kept (up to a cap) for signing, body bytes go straight into the body hasher.

import { RelaxedBodyHasher } from './body-hash.js';

export interface HeaderField {
  /** The field name as written (any case), without the colon. */
  readonly name: string;
  /** The whole field as stored, continuation lines included, without the final CRLF (UTF-8 decoded, RFC 6532). */
  readonly raw: string;
  /** The exact octets of `raw`; signing uses these when present (8-bit headers that are not UTF-8 survive). */
  readonly octets?: Buffer;
}

export const DEFAULT_MAX_HEADER_BYTES = 256 * 1024;

export interface SplitterOptions {
  readonly maxHeaderBytes?: number;
  /**
   * Told the header fields (undefined: over the cap) when the header section ends; false means
   * the body is not needed (the message will not be signed): it is then not hashed at all.
   */
  readonly wantsBody?: (headers: readonly HeaderField[] | undefined) => boolean;
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

export class MessageSplitter {
  private readonly maxHeaderBytes: number;
  private readonly wantsBody: SplitterOptions['wantsBody'];
  /** Made when the body starts (or at bodyHash()), unless the body is not wanted. */
  private bodyHasher: RelaxedBodyHasher | undefined;
  private bodySkipped = false;
  private readonly headerChunks: Buffer[] = [];
  private headerBytes = 0;
  private tooLarge = false;
  private inBody = false;
  /** Where the header scan stands: at a line's start, after a CR there, inside a line, after a CR inside. */
  private lineState: 'start' | 'start-cr' | 'inside' | 'inside-cr' = 'start';
  private fields: HeaderField[] | undefined;

  constructor(options: SplitterOptions = {}) {
    this.maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
    this.wantsBody = options.wantsBody;
  }

  push(chunk: Buffer): void {
    if (this.inBody) {
      this.bodyHasher?.update(chunk);
      return;
    }
    const headerEnd = this.findHeaderEnd(chunk);
    this.keepHeader(headerEnd === undefined ? chunk : chunk.subarray(0, headerEnd.headerBytes));
    if (headerEnd === undefined) return;
    this.inBody = true;
    if (this.wantsBody !== undefined && !this.wantsBody(this.headers)) {
      this.bodySkipped = true;
      return;
    }
    this.bodyHasher = new RelaxedBodyHasher();
    if (headerEnd.bodyStart < chunk.length) this.bodyHasher.update(chunk.subarray(headerEnd.bodyStart));
  }

  /** True when `wantsBody` declined the body: there is no body hash. */
  get bodyHashSkipped(): boolean {
    return this.bodySkipped;
  }

  /** The header fields in message order; undefined when the header is larger than the cap (do not sign). */
  get headers(): readonly HeaderField[] | undefined {
    if (this.tooLarge) return undefined;
    this.fields ??= splitFields(Buffer.concat(this.headerChunks));
    return this.fields;
  }

  /** The relaxed-canonical body hash (RFC 6376 §3.7); call once all bytes are pushed (never after the body was declined). */
  bodyHash(): Buffer {
    if (this.bodySkipped) throw new Error('MessageSplitter.bodyHash: the body was declined and not hashed');
    this.bodyHasher ??= new RelaxedBodyHasher();
    return this.bodyHasher.digest();
  }

  /**
   * Scans for the empty line that ends the header: returns how many bytes of
   * `chunk` belong to the header (without the empty line) and where the body starts.
   */
  private findHeaderEnd(chunk: Buffer): { headerBytes: number; bodyStart: number } | undefined {
    for (let index = 0; index < chunk.length; index++) {
      const octet = chunk[index];
      if (this.lineState === 'start-cr' && octet === LF) {
        // The empty line: its CR may sit at the end of the previous chunk, already kept.
        if (index === 0) this.dropKeptCr();
        return { headerBytes: Math.max(index - 1, 0), bodyStart: index + 1 };
      }
      if (octet === CR) this.lineState = this.lineState === 'start' ? 'start-cr' : 'inside-cr';
      else if (octet === LF && this.lineState === 'inside-cr') this.lineState = 'start';
      else this.lineState = 'inside';
    }
    return undefined;
  }

  private keepHeader(bytes: Buffer): void {
    if (this.tooLarge || bytes.length === 0) return;
    this.headerBytes += bytes.length;
    if (this.headerBytes > this.maxHeaderBytes) {
      this.tooLarge = true;
      this.headerChunks.length = 0;
      return;
    }
    this.headerChunks.push(Buffer.from(bytes));
  }

  private dropKeptCr(): void {
    if (this.tooLarge) return;
    const last = this.headerChunks.pop();
    if (last === undefined) return;
    this.headerBytes -= 1;
    if (last.length > 1) this.headerChunks.push(last.subarray(0, last.length - 1));
  }
}

/** Header bytes (lines joined by CRLF, no empty line) cut into fields; a line starting with WSP continues the field before it. */
export function splitFields(header: Buffer): HeaderField[] {
  const fields: HeaderField[] = [];
  let fieldStart = 0;
  let lineStart = 0;
  const finish = (end: number): void => {
    if (end > fieldStart) fields.push(headerField(header.subarray(fieldStart, end)));
  };
  while (lineStart < header.length) {
    const crlf = header.indexOf('\r\n', lineStart);
    const lineEnd = crlf === -1 ? header.length : crlf;
    const next = crlf === -1 ? header.length : crlf + 2;
    const first = header[lineStart];
    if (lineStart > 0 && first !== SP && first !== HTAB) {
      finish(lineStart - 2);
      fieldStart = lineStart;
    }
    if (next >= header.length) finish(lineEnd);
    lineStart = next;
  }
  return fields;
}

function headerField(octets: Buffer): HeaderField {
  const colon = octets.indexOf(COLON);
  const name = (colon === -1 ? '' : octets.subarray(0, colon).toString('latin1')).replace(/[ \t]+$/, '');
  return { name, raw: octets.toString('utf8'), octets: Buffer.from(octets) };
}
