// Incremental parser of SMTP server replies for the outbound client: single
// and multiline replies (RFC 5321 §4.2, §4.2.1), enhanced status codes
// (RFC 3463, RFC 2034), with a line cap and a total cap per reply.

import type { Reply } from '../smtp/reply.js';

export interface ReplyLimits {
  /** Longest reply line accepted, including its CRLF. */
  readonly maxLineBytes: number;
  /** Most bytes one (multiline) reply may take. */
  readonly maxReplyBytes: number;
}

/** RFC 5321 §4.5.3.1.5 says 512 octets per reply line; real servers send longer, so we allow 2048 (as Postfix does). */
export const DEFAULT_REPLY_LIMITS: ReplyLimits = { maxLineBytes: 2048, maxReplyBytes: 64 * 1024 };

export type ReplyParse = { readonly kind: 'reply'; readonly reply: Reply } | { readonly kind: 'malformed'; readonly detail: string };

const LF = 0x0a;
const REPLY_LINE = /^([2-5][0-9][0-9])(?:([ -])(.*))?$/s;
/** An enhanced status code at the start of the text: class.subject.detail (RFC 3463 §2). */
const ENHANCED_STATUS = /^([245])\.([0-9]{1,3})\.([0-9]{1,3})(?: |$)/;
/** C0 controls, DEL and C1 controls: never passed on to logs or DSNs. */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/** Remote text made safe for logs and DSNs: control characters become spaces, runs of spaces one. */
export function cleanRemoteText(text: string): string {
  return text.replace(CONTROL_CHARACTERS, ' ').replace(/ {2,}/g, ' ').trim();
}

/** Splits "2.1.5 Ok" into status and text when the status class matches the reply code's. */
function splitStatus(code: number, text: string): { status: string | undefined; text: string } {
  const match = ENHANCED_STATUS.exec(text);
  if (match === null || Number(match[1]) !== Math.floor(code / 100)) return { status: undefined, text };
  return { status: `${match[1]}.${match[2]}.${match[3]}`, text: text.slice(match[0].length) };
}

/**
 * Feed it the bytes from the server; `next()` gives one complete reply at a
 * time. A malformed reply (bad line, mixed codes, over a cap) is final: the
 * reader stays broken, since nothing after it can be matched to a command.
 */
export class ReplyReader {
  readonly #limits: ReplyLimits;
  #pending: Buffer = Buffer.alloc(0);
  #code = 0;
  #lines: string[] = [];
  #replyBytes = 0;
  #broken: string | undefined;

  constructor(limits: ReplyLimits = DEFAULT_REPLY_LIMITS) {
    this.#limits = limits;
  }

  /** Bytes received and not yet part of a returned reply. */
  get bufferedBytes(): number {
    return this.#pending.length + this.#replyBytes;
  }

  push(chunk: Buffer): void {
    if (this.#broken !== undefined || chunk.length === 0) return;
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
  }

  /** Drops everything buffered (RFC 3207 §4.2 / CVE-2021-38371); returns how many bytes. */
  discard(): number {
    const dropped = this.bufferedBytes;
    this.#pending = Buffer.alloc(0);
    this.#resetReply();
    return dropped;
  }

  /** The next complete reply, a malformed verdict, or undefined when more bytes are needed. */
  next(): ReplyParse | undefined {
    while (this.#broken === undefined) {
      const lf = this.#pending.indexOf(LF);
      if (lf === -1) {
        if (this.#pending.length >= this.#limits.maxLineBytes) return this.#break(`reply line longer than ${this.#limits.maxLineBytes} bytes`);
        if (this.#replyBytes + this.#pending.length > this.#limits.maxReplyBytes) return this.#break(`reply longer than ${this.#limits.maxReplyBytes} bytes`);
        return undefined;
      }
      const lineBytes = lf + 1;
      if (lineBytes > this.#limits.maxLineBytes) return this.#break(`reply line longer than ${this.#limits.maxLineBytes} bytes`);
      if (this.#replyBytes + lineBytes > this.#limits.maxReplyBytes) return this.#break(`reply longer than ${this.#limits.maxReplyBytes} bytes`);
      const raw = this.#pending.subarray(0, lf);
      this.#pending = this.#pending.subarray(lineBytes);
      this.#replyBytes += lineBytes;
      const line = (raw.length > 0 && raw[raw.length - 1] === 0x0d ? raw.subarray(0, raw.length - 1) : raw).toString('utf8');
      const done = this.#takeLine(line);
      if (done !== undefined) return done;
    }
    return { kind: 'malformed', detail: this.#broken };
  }

  /** Adds one line to the reply in progress; returns the reply when it was the last line. */
  #takeLine(line: string): ReplyParse | undefined {
    const match = REPLY_LINE.exec(line);
    if (match === null) return this.#break(`malformed reply line "${cleanRemoteText(line).slice(0, 80)}"`);
    const code = Number(match[1]);
    if (this.#lines.length > 0 && code !== this.#code) return this.#break(`reply code changed from ${this.#code} to ${code} inside a multiline reply`);
    this.#code = code;
    this.#lines.push(cleanRemoteText(match[3] ?? ''));
    if (match[2] === '-') return undefined;
    const lines = this.#lines;
    this.#resetReply();
    const first = splitStatus(code, lines[0] ?? '');
    // RFC 2034 §4: the code repeats on each line; keep only the text.
    const rest = lines.slice(1).map((text) => (first.status !== undefined && text.startsWith(`${first.status} `) ? text.slice(first.status.length + 1) : text));
    return { kind: 'reply', reply: { code, status: first.status, lines: [first.text, ...rest] } };
  }

  #resetReply(): void {
    this.#code = 0;
    this.#lines = [];
    this.#replyBytes = 0;
  }

  #break(detail: string): ReplyParse {
    this.#broken = detail;
    this.#pending = Buffer.alloc(0);
    this.#resetReply();
    return { kind: 'malformed', detail };
  }
}
