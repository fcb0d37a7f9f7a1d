// The octets of one BDAT chunk on the wire (RFC 3030 §2): exactly the declared
// count is taken from the client's byte stream, whatever it looks like (commands,
// "<CRLF>.<CRLF>"), into the message or thrown away; what follows is commands.

import type { ChunkPlan } from './chunking.js';
import type { DataReceiver } from './data-receiver.js';

export type ReadChunkPlan = Exclude<ChunkPlan, { kind: 'close' }>;

export class ChunkTransfer {
  private remainingOctets: number;
  private taken = 0;

  /** `receiver` takes the octets of a 'take' plan; without one they are discarded (never buffered). */
  constructor(
    readonly plan: ReadChunkPlan,
    private readonly receiver: DataReceiver | undefined,
  ) {
    this.remainingOctets = plan.sizeOctets;
  }

  /** Octets of this chunk read so far (for the minimum data rate). */
  get takenOctets(): number {
    return this.taken;
  }

  get complete(): boolean {
    return this.remainingOctets === 0;
  }

  /** Takes this chunk's octets from the front of `data`; returns the bytes after them (empty while more is due). */
  async take(data: Buffer): Promise<Buffer> {
    const count = Math.min(this.remainingOctets, data.length);
    if (count === 0) return data;
    this.remainingOctets -= count;
    this.taken += count;
    if (this.receiver !== undefined) await this.receiver.push(data.subarray(0, count));
    return data.subarray(count);
  }
}
