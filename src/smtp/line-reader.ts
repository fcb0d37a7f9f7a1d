// Splits the SMTP command stream into lines with the RFC 5321 §4.5.3.1.4
// limit (512 octets including CRLF). A bare LF also ends a command line
// (tolerated as Postfix does); an over-long line is discarded up to its end
// and reported once, so the session can answer 500 and stay in sync.

export type CommandLine =
  | { readonly kind: 'line'; readonly text: Buffer }
  | { readonly kind: 'too-long' };

export const MAX_COMMAND_LINE_BYTES = 512;

export class CommandLineReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private discarding = false;
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
    const lf = chunk.indexOf(0x0a);
    if (lf === -1) {
      this.buffer(chunk);
      return undefined;
    }
    const rest = chunk.subarray(lf + 1);
    if (this.discarding || this.pendingBytes + lf + 1 > this.maxLineBytes) {
      this.discarding = false;
      this.clear();
      return { line: { kind: 'too-long' }, rest };
    }
    const piece = chunk.subarray(0, lf);
    const whole = this.pending.length === 0 ? piece : Buffer.concat([...this.pending, piece]);
    this.clear();
    const text = whole.length > 0 && whole[whole.length - 1] === 0x0d ? whole.subarray(0, whole.length - 1) : whole;
    return { line: { kind: 'line', text }, rest };
  }

  private buffer(piece: Buffer): void {
    if (this.discarding || piece.length === 0) return;
    if (this.pendingBytes + piece.length > this.maxLineBytes) {
      this.clear();
      this.discarding = true;
      return;
    }
    this.pending.push(Buffer.from(piece));
    this.pendingBytes += piece.length;
  }

  private clear(): void {
    this.pending = [];
    this.pendingBytes = 0;
  }
}
