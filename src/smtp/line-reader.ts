// Splits the SMTP command stream into lines (RFC 5321 §2.3.8: a line ends only at CRLF) with the
// §4.5.3.1.4 limit. A line holding a bare LF, a bare CR or a NUL is reported as such, whole, up to
// its CRLF, never cut in two or cleaned; an over-long line is discarded to its CRLF and reported once.

export type CommandLine =
  | { readonly kind: 'line'; readonly text: Buffer }
  | { readonly kind: 'too-long' }
  /** An LF not preceded by CR inside the line (SMTP smuggling: it never ends a command). */
  | { readonly kind: 'bare-lf' }
  /** A NUL, or a CR not followed by LF, inside the line. */
  | { readonly kind: 'nul-or-bare-cr' };

export const MAX_COMMAND_LINE_BYTES = 512;

const CR = 0x0d;
const LF = 0x0a;
const NUL = 0x00;

export class CommandLineReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private discarding = false;
  /** The last byte taken of the line in progress (buffered or discarded), to see a CRLF split across chunks. */
  private lastByte: number | undefined;
  private readonly maxLineBytes: number;

  constructor(maxLineBytes = MAX_COMMAND_LINE_BYTES) {
    this.maxLineBytes = maxLineBytes;
  }

  /** Bytes held that do not yet form a complete line. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /**
   * Takes the next complete line out of `chunk` (plus what is buffered).
   * Returns the line and the unconsumed remainder of `chunk`, or undefined
   * when `chunk` is used up without completing a line (it is then buffered).
   */
  next(chunk: Buffer): { line: CommandLine; rest: Buffer } | undefined {
    const end = this.lineEnd(chunk);
    if (end === undefined) {
      this.buffer(chunk);
      return undefined;
    }
    const rest = chunk.subarray(end + 1);
    // The line without its CRLF: what is buffered plus the chunk up to the CR.
    const pieceBytes = end - 1;
    const wholeBytes = this.pendingBytes + pieceBytes;
    if (this.discarding || wholeBytes + 2 > this.maxLineBytes) {
      this.clear();
      return { line: { kind: 'too-long' }, rest };
    }
    const piece = chunk.subarray(0, Math.max(0, pieceBytes));
    const whole = this.pending.length === 0 ? piece : Buffer.concat([...this.pending, piece]);
    // A CRLF split across chunks leaves its CR as the last buffered byte.
    const text = pieceBytes < 0 ? whole.subarray(0, whole.length - 1) : whole;
    this.clear();
    return { line: classify(text), rest };
  }

  /** Index in `chunk` of the LF of the first CRLF, looking back into the buffered bytes for its CR. */
  private lineEnd(chunk: Buffer): number | undefined {
    for (let lf = chunk.indexOf(LF); lf !== -1; lf = chunk.indexOf(LF, lf + 1)) {
      const before = lf > 0 ? chunk[lf - 1] : this.lastByte;
      if (before === CR) return lf;
    }
    return undefined;
  }

  private buffer(piece: Buffer): void {
    if (piece.length === 0) return;
    this.lastByte = piece[piece.length - 1];
    if (this.discarding) return;
    if (this.pendingBytes + piece.length > this.maxLineBytes) {
      this.pending = [];
      this.pendingBytes = 0;
      this.discarding = true;
      return;
    }
    this.pending.push(Buffer.from(piece));
    this.pendingBytes += piece.length;
  }

  private clear(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.discarding = false;
    this.lastByte = undefined;
  }
}

/** A complete line (CRLF removed): any LF left in it was bare, any CR too. */
function classify(text: Buffer): CommandLine {
  if (text.includes(LF)) return { kind: 'bare-lf' };
  if (text.includes(CR) || text.includes(NUL)) return { kind: 'nul-or-bare-cr' };
  return { kind: 'line', text };
}
