// Watches the header section of a message as it streams into the spool
// (RFC 5322 §2.2): counts Received fields for the RFC 5321 §6.3 loop limit
// and notes which fields are present. Holds at most one partial line start.

const FIELD_NAME_PREFIX_BYTES = 32;

export class HeaderScanner {
  private inHeaders = true;
  private atLineStart = true;
  private lineStart = '';
  private receivedFields = 0;
  private readonly seen = new Set<string>();

  get receivedCount(): number {
    return this.receivedFields;
  }

  get headerEnded(): boolean {
    return !this.inHeaders;
  }

  /** True when a field with this (lowercase) name was seen in the header section. */
  has(fieldName: string): boolean {
    return this.seen.has(fieldName);
  }

  /** Feeds canonical content (CRLF line ends). Cheap once the header section has ended. */
  push(chunk: Buffer): void {
    let position = 0;
    while (this.inHeaders && position < chunk.length) {
      const lf = chunk.indexOf(0x0a, position);
      const end = lf === -1 ? chunk.length : lf + 1;
      if (this.atLineStart || this.lineStart.length < FIELD_NAME_PREFIX_BYTES) {
        const room = FIELD_NAME_PREFIX_BYTES - this.lineStart.length;
        this.lineStart += chunk.toString('latin1', position, Math.min(end, position + room));
      }
      this.atLineStart = false;
      if (lf === -1) return;
      this.finishLine();
      position = end;
    }
  }

  private finishLine(): void {
    const line = this.lineStart;
    this.lineStart = '';
    this.atLineStart = true;
    if (line === '\r\n' || line === '\n') {
      this.inHeaders = false;
      return;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || line.startsWith(' ') || line.startsWith('\t')) return;
    const name = line.slice(0, colon).trim().toLowerCase();
    this.seen.add(name);
    if (name === 'received') this.receivedFields += 1;
  }
}
