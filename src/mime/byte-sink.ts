// Collects the output of the streaming encoders: single octets and short runs
// are batched into 64 KiB buffers, long runs are passed on as they are.

const BATCH_BYTES = 64 * 1024;
/** Runs at least this long are handed on without copying. */
const PASS_THROUGH_BYTES = 4096;

export class ByteSink {
  #batch = Buffer.allocUnsafe(BATCH_BYTES);
  #used = 0;
  #pieces: Buffer[] = [];
  #pendingBytes = 0;

  /** Output collected since the last take(). */
  get pendingBytes(): number {
    return this.#pendingBytes + this.#used;
  }

  byte(octet: number): void {
    if (this.#used === BATCH_BYTES) this.#flushFull();
    this.#batch[this.#used++] = octet;
  }

  /** A run the caller never changes afterwards: long ones are passed on without copying. */
  bytes(run: Buffer): void {
    if (run.length >= PASS_THROUGH_BYTES) {
      this.#flushPartial();
      this.#pieces.push(run);
      this.#pendingBytes += run.length;
      return;
    }
    if (this.#used + run.length > BATCH_BYTES) this.#flushFull();
    run.copy(this.#batch, this.#used);
    this.#used += run.length;
  }

  /** A run from a buffer that will be reused: always copied. */
  copy(run: Buffer): void {
    if (run.length >= PASS_THROUGH_BYTES) {
      this.bytes(Buffer.from(run));
      return;
    }
    if (this.#used + run.length > BATCH_BYTES) this.#flushFull();
    run.copy(this.#batch, this.#used);
    this.#used += run.length;
  }

  /** ASCII text (line breaks, QP escapes, base64). */
  text(ascii: string): void {
    if (ascii.length >= PASS_THROUGH_BYTES) {
      this.bytes(Buffer.from(ascii, 'latin1'));
      return;
    }
    if (this.#used + ascii.length > BATCH_BYTES) this.#flushFull();
    this.#used += this.#batch.write(ascii, this.#used, 'latin1');
  }

  /** Hands over everything collected, in order. */
  take(): Buffer[] {
    this.#flushPartial();
    const pieces = this.#pieces;
    this.#pieces = [];
    this.#pendingBytes = 0;
    return pieces;
  }

  /** The batch buffer is handed on whole and a new one started. */
  #flushFull(): void {
    if (this.#used === 0) return;
    this.#pieces.push(this.#batch.subarray(0, this.#used));
    this.#pendingBytes += this.#used;
    this.#batch = Buffer.allocUnsafe(BATCH_BYTES);
    this.#used = 0;
  }

  /** A partly filled batch is copied out, so the buffer can be reused. */
  #flushPartial(): void {
    if (this.#used === 0) return;
    this.#pieces.push(Buffer.from(this.#batch.subarray(0, this.#used)));
    this.#pendingBytes += this.#used;
    this.#used = 0;
  }
}
