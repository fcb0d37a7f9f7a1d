// What both content decoders (DATA, data-decoder.ts; BDAT, chunk-decoder.ts) count
// as they store a message: its size against the limit (nothing stored past it),
// its line lengths, 8-bit octets, bare line ends and NULs.

export const DEFAULT_MAX_LINE_BYTES = 1000;

export abstract class ContentTally {
  /** Stored content bytes, counted on past maxMessageBytes. */
  sizeBytes = 0;
  oversized = false;
  lineTooLong = false;
  /** Longest complete stored line, including its CRLF. */
  longestLineBytes = 0;
  has8bit = false;
  /** Bare LFs (read as line ends) plus bare CRs (turned into spaces). */
  bareLineEnds = 0;
  nulCount = 0;
  /** Stored bytes of the line in progress, without its line end. */
  protected lineBytes = 0;
  protected readonly maxMessageBytes: number;
  protected readonly maxLineBytes: number;

  constructor(options: { readonly maxMessageBytes: number; readonly maxLineBytes?: number | undefined }) {
    this.maxMessageBytes = options.maxMessageBytes;
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  /** The line in progress ended (its CRLF is stored): its length counts. */
  protected countLine(): void {
    const storedBytes = this.lineBytes + 2;
    if (storedBytes > this.longestLineBytes) this.longestLineBytes = storedBytes;
    if (storedBytes > this.maxLineBytes) this.lineTooLong = true;
    this.lineBytes = 0;
  }

  /** Counts every stored byte; adds `piece` to `out` only up to maxMessageBytes. */
  protected store(out: Buffer[], piece: Buffer): void {
    const allowedBytes = this.maxMessageBytes - this.sizeBytes;
    this.sizeBytes += piece.length;
    if (piece.length <= allowedBytes) {
      out.push(piece);
      return;
    }
    this.oversized = true;
    if (allowedBytes > 0) out.push(piece.subarray(0, allowedBytes));
  }
}
