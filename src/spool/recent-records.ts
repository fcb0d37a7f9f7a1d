// The records this process wrote last, kept in memory up to a byte budget so
// the delivery of a fresh message (read, update, read again) does not go back
// to the disk; older ones are read from their segment on demand.

export const DEFAULT_RECENT_RECORD_BYTES = 16 * 1024 * 1024;

export class RecentRecords {
  /** Oldest first (a set moves an id to the end). */
  private readonly records = new Map<string, string>();
  private bytes = 0;

  constructor(private readonly maxBytes = DEFAULT_RECENT_RECORD_BYTES) {}

  get(id: string): string | undefined {
    return this.records.get(id);
  }

  set(id: string, json: string): void {
    this.delete(id);
    if (json.length > this.maxBytes) return;
    this.records.set(id, json);
    this.bytes += json.length;
    for (const [oldId, oldJson] of this.records) {
      if (this.bytes <= this.maxBytes) break;
      this.records.delete(oldId);
      this.bytes -= oldJson.length;
    }
  }

  delete(id: string): void {
    const json = this.records.get(id);
    if (json === undefined) return;
    this.records.delete(id);
    this.bytes -= json.length;
  }
}
