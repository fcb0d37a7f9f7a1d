// Bodies of recently committed small messages, kept in memory so their first
// delivery reads them from here instead of opening the queue log again (a
// message is usually delivered within seconds of its arrival). Bounded in
// bytes; the oldest go first. Only a copy of what is on disk: losing it costs a read.

/** Bodies up to this size are kept. */
export const DEFAULT_MAX_BODY_BYTES = 128 * 1024;
/** All kept bodies together. */
export const DEFAULT_BUDGET_BYTES = 32 * 1024 * 1024;

export class RecentBodies {
  private readonly bodies = new Map<string, Buffer>();
  private readonly maxBodyBytes: number;
  private readonly budgetBytes: number;
  private bytes = 0;

  constructor(options: { readonly maxBodyBytes?: number; readonly budgetBytes?: number } = {}) {
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.budgetBytes = options.budgetBytes ?? DEFAULT_BUDGET_BYTES;
  }

  /** Bytes held now. */
  get size(): number {
    return this.bytes;
  }

  /** Keeps a copy of the body (pieces in order), unless it is too large; evicts the oldest over budget. */
  put(id: string, pieces: readonly Buffer[], length: number): void {
    if (length > this.maxBodyBytes || length > this.budgetBytes) return;
    this.delete(id);
    // A copy: the pieces may be views into larger buffers that must not stay alive.
    this.bodies.set(id, Buffer.concat(pieces as Buffer[], length));
    this.bytes += length;
    for (const [oldest, body] of this.bodies) {
      if (this.bytes <= this.budgetBytes) break;
      this.bodies.delete(oldest);
      this.bytes -= body.length;
    }
  }

  get(id: string): Buffer | undefined {
    return this.bodies.get(id);
  }

  delete(id: string): void {
    const body = this.bodies.get(id);
    if (body === undefined) return;
    this.bodies.delete(id);
    this.bytes -= body.length;
  }
}
