// Outbound DATA transparency: dot-stuffs canonical CRLF message content and
// appends the end-of-data marker, incrementally (RFC 5321 §4.5.2, §4.1.1.4).

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
/** Searched for with Buffer.indexOf: a line that begins with ".". */
const LINE_START_DOT = Buffer.from('\n.', 'latin1');

/**
 * Doubles the "." at the start of every line so the receiver's unstuffing
 * restores the content exactly. Output pieces are subarrays of the input
 * chunks (the doubled dot is the same input byte emitted twice), so pushing
 * copies nothing; the caller must not modify a chunk until its pieces are written.
 */
export class DotStuffer {
  #atLineStart = true;
  #lastByte = -1;
  #secondLastByte = -1;
  #ended = false;

  push(chunk: Buffer): Buffer[] {
    if (this.#ended) throw new Error('DotStuffer.push called after end()');
    const pieces: Buffer[] = [];
    if (chunk.length === 0) return pieces;
    let runStart = 0;
    if (this.#atLineStart && chunk[0] === DOT) pieces.push(chunk.subarray(0, 1));
    let hit = chunk.indexOf(LINE_START_DOT);
    while (hit !== -1) {
      // Emit through the dot; the next run starts at the same dot, doubling it.
      pieces.push(chunk.subarray(runStart, hit + 2));
      runStart = hit + 1;
      hit = chunk.indexOf(LINE_START_DOT, hit + 2);
    }
    pieces.push(chunk.subarray(runStart));
    this.#remember(chunk);
    return pieces;
  }

  /** Finishes the data: a CRLF if the content did not end with one, then ".\r\n". */
  end(): Buffer[] {
    if (this.#ended) throw new Error('DotStuffer.end called twice');
    this.#ended = true;
    const emptyContent = this.#lastByte === -1;
    const endsWithCrlf = this.#secondLastByte === CR && this.#lastByte === LF;
    return [Buffer.from(emptyContent || endsWithCrlf ? '.\r\n' : '\r\n.\r\n', 'latin1')];
  }

  #remember(chunk: Buffer): void {
    const last = chunk[chunk.length - 1] ?? -1;
    this.#secondLastByte = chunk.length >= 2 ? (chunk[chunk.length - 2] ?? -1) : this.#lastByte;
    this.#lastByte = last;
    this.#atLineStart = last === LF;
  }
}
