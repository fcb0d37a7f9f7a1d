// Watches the header section of a message as it streams into the spool
// (RFC 5322 §2.2): counts Received fields for the RFC 5321 §6.3 loop limit,
// notes which fields are present and reads the TLS-Required field (RFC 8689 §3).
// Holds at most one partial line start.

const FIELD_NAME_PREFIX_BYTES = 32;
const TLS_REQUIRED = 'tls-required';
/** tls-required-field = "TLS-Required:" [FWS] "No" CRLF (RFC 8689 §3; ABNF strings are case-insensitive). */
const TLS_REQUIRED_NO = /^[ \t]*no[ \t]*$/i;

/** What the header section says with TLS-Required fields: none, all "No", or something else (then ignored). */
export type TlsRequiredField = 'absent' | 'no' | 'invalid';

export class HeaderScanner {
  private inHeaders = true;
  private atLineStart = true;
  private lineStart = '';
  private receivedFields = 0;
  private readonly seen = new Set<string>();
  /** The unfolded value of the TLS-Required field being read, or undefined when the current field is another. */
  private tlsRequiredValue: string | undefined;
  private tlsRequiredState: TlsRequiredField = 'absent';

  get receivedCount(): number {
    return this.receivedFields;
  }

  get headerEnded(): boolean {
    return !this.inHeaders;
  }

  /**
   * "no" when the header section has TLS-Required fields and each says "No" (RFC 8689 §3: the
   * sender asks that recipient TLS policies be ignored); "invalid" when one says anything else or
   * is too long to read here, which leaves the policies in force. Final once the header has ended.
   */
  get tlsRequired(): TlsRequiredField {
    // A header section that is the whole message may end with the field itself.
    return this.tlsRequiredValue === undefined ? this.tlsRequiredState : combine(this.tlsRequiredState, this.tlsRequiredValue);
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
      this.endTlsRequired();
      this.inHeaders = false;
      return;
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (this.tlsRequiredValue !== undefined) this.tlsRequiredValue = line.endsWith('\n') ? `${this.tlsRequiredValue} ${line}` : '\0';
      return;
    }
    this.endTlsRequired();
    const colon = line.indexOf(':');
    if (colon <= 0) return;
    const name = line.slice(0, colon).trim().toLowerCase();
    this.seen.add(name);
    if (name === 'received') this.receivedFields += 1;
    // Only the line's first bytes are held: a value cut short cannot be read ("\0" marks it).
    if (name === TLS_REQUIRED) this.tlsRequiredValue = line.endsWith('\n') ? line.slice(colon + 1) : '\0';
  }

  private endTlsRequired(): void {
    const value = this.tlsRequiredValue;
    if (value === undefined) return;
    this.tlsRequiredValue = undefined;
    this.tlsRequiredState = combine(this.tlsRequiredState, value);
  }
}

/** The verdict so far with one more TLS-Required value (unfolded here): any value but "No" makes it invalid. */
function combine(state: TlsRequiredField, value: string): TlsRequiredField {
  if (state === 'invalid') return state;
  return TLS_REQUIRED_NO.test(value.replace(/\r?\n/g, '')) ? 'no' : 'invalid';
}
