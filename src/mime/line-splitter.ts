// Cuts a stored message (CRLF line ends) into lines as chunks stream past.
// A line up to 64 KiB comes whole; a longer one comes in pieces, so memory
// stays bounded whatever the line length (RFC 5322 §2.1: CRLF ends a line).

const CR = 0x0d;
const LF = 0x0a;

/** Lines up to this length are handed over whole (boundary lines and header lines are judged whole). */
export const MAX_WHOLE_LINE_BYTES = 64 * 1024;

export interface LinePiece {
  /** Line content, without the line break. */
  readonly bytes: Buffer;
  /** The piece starts its line. */
  readonly first: boolean;
  /** The piece ends its line. */
  readonly last: boolean;
  /** When `last`: a line break ended the line (false only for a last line without one). */
  readonly broken: boolean;
}

export class LineSplitter {
  #held: Buffer[] = [];
  #heldBytes = 0;
  #lineStarted = false;

  /** Bytes held back for the current line (at most MAX_WHOLE_LINE_BYTES plus one chunk). */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  push(chunk: Buffer, emit: (piece: LinePiece) => void): void {
    let position = 0;
    while (position < chunk.length) {
      const lf = chunk.indexOf(LF, position);
      if (lf === -1) {
        this.#hold(chunk.subarray(position), emit);
        return;
      }
      this.#finishLine(chunk.subarray(position, lf), true, emit);
      position = lf + 1;
    }
  }

  /** The input ended: a last line without a line break is handed over. */
  end(emit: (piece: LinePiece) => void): void {
    if (this.#heldBytes > 0 || this.#lineStarted) this.#finishLine(Buffer.alloc(0), false, emit);
  }

  #hold(part: Buffer, emit: (piece: LinePiece) => void): void {
    if (part.length === 0) return;
    this.#held.push(part);
    this.#heldBytes += part.length;
    if (this.#heldBytes <= MAX_WHOLE_LINE_BYTES) return;
    const all = Buffer.concat(this.#held);
    // A CR at the end may be the first half of the CRLF: it waits for the next chunk.
    const keep = all[all.length - 1] === CR ? 1 : 0;
    emit({ bytes: all.subarray(0, all.length - keep), first: !this.#lineStarted, last: false, broken: false });
    this.#lineStarted = true;
    this.#held = keep === 1 ? [all.subarray(all.length - 1)] : [];
    this.#heldBytes = keep;
  }

  #finishLine(tail: Buffer, broken: boolean, emit: (piece: LinePiece) => void): void {
    let bytes = this.#held.length === 0 ? tail : Buffer.concat([...this.#held, tail]);
    if (broken && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
    emit({ bytes, first: !this.#lineStarted, last: true, broken });
    this.#held = [];
    this.#heldBytes = 0;
    this.#lineStarted = false;
  }
}
