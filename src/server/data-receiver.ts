// The DATA phase of one transaction (RFC 5321 §4.1.1.4), or its BDAT chunks
// (RFC 3030): decodes the client's bytes with the decoder it is given,
// streams the canonical content into the spool with backpressure,
// enforces the size, line-length and loop limits, and commits durably. When the
// message is to be DKIM-signed, its body hash is computed as it streams by.
// Lines over 998 octets are refused, or fixed by a rewrite before signing.
// A "TLS-Required: No" header field tags the message (RFC 8689 §4.1) unless it came with REQUIRETLS.

import { SpoolError, errnoCode, errorMessage } from '../core/errors.js';
import type { ContentDecoder } from '../smtp/content-decoder.js';
import type { DecodeStep } from '../smtp/data-decoder.js';
import { withText, type Reply } from '../smtp/reply.js';
import { Replies } from '../smtp/replies.js';
import type { EnvelopeRecord, MessageWriter, NewEnvelope } from '../spool/types.js';
import { HeaderScanner } from './header-scanner.js';
import { MessageSplitter } from '../dkim/message-splitter.js';
import type { MessageSigner, SignOutcome, UnsignedOutcome } from '../dkim/message-signer.js';
import { repairLongLines, type LongLineSummary } from './long-line-repair.js';
import { drained } from '../core/drained.js';

/** RFC 5321 §6.3: a message with this many Received fields is looping. */
export const MAX_RECEIVED_HEADERS = 100;

/** A header section longer than this is not held back for submission fixes (memory stays bounded). */
const MAX_HELD_HEADER_BYTES = 256 * 1024;

/** RFC 6409 §8.2-8.3: on submission, add Date and Message-ID when the message has none. */
export interface SubmissionFixes {
  readonly date: string;
  readonly messageId: string;
}

/** Lines over 998 octets (RFC 5322 §2.1.1): refused, or re-encoded (authorized clients, RFC 6409 §8). */
export type LongLinePolicy = 'refuse' | 'repair';

export type DataResult =
  | {
      readonly kind: 'queued';
      readonly reply: Reply;
      readonly record: EnvelopeRecord;
      readonly dkim: SignOutcome | undefined;
      /** Set when lines over 998 octets were fixed. */
      readonly longLines?: LongLineSummary;
    }
  | { readonly kind: 'rejected'; readonly reply: Reply; readonly reason: string; readonly error?: unknown };

export class DataReceiver {
  private readonly headers = new HeaderScanner();
  private writeError: unknown = undefined;
  private receivedBytes = 0;
  /** The header section held back until we know which fields are missing (submission only). */
  private held: Buffer[] | undefined;
  private heldBytes = 0;
  /** Sees every stored byte when the message may be signed (authorized clients only). */
  private readonly splitter: MessageSplitter | undefined;
  /** Set at the end of the header section when the message cannot be signed: its body is then not hashed. */
  private unsigned: UnsignedOutcome | undefined;

  constructor(
    private readonly writer: MessageWriter,
    /** DATA's DataDecoder or BDAT's ChunkDecoder, with the size and line limits. */
    private readonly decoder: ContentDecoder,
    private readonly fixes: ((id: string) => SubmissionFixes) | undefined = undefined,
    private readonly signer: MessageSigner | undefined = undefined,
    private readonly longLines: LongLinePolicy = 'refuse',
  ) {
    this.held = fixes === undefined ? undefined : [];
    this.splitter = signer === undefined ? undefined : this.newSplitter();
    writer.body.on('error', (error: unknown) => {
      this.writeError ??= error;
    });
  }

  get id(): string {
    return this.writer.id;
  }

  /** Raw bytes received from the client so far (for the minimum data rate). */
  get bytesReceived(): number {
    return this.receivedBytes;
  }

  get has8bit(): boolean {
    return this.decoder.has8bit;
  }

  /** Writes a header of our own (the Received field) ahead of the client's content. */
  async prepend(text: string): Promise<void> {
    await this.write(Buffer.from(text, 'utf8'));
  }

  /** Feeds client bytes; when the end-of-data marker is seen, returns the bytes after it. */
  async push(chunk: Buffer): Promise<{ done: false } | { done: true; rest: Buffer }> {
    this.receivedBytes += chunk.length;
    return this.store(this.decoder.push(chunk));
  }

  /** BDAT LAST: the client says the content is complete; what the decoder held is stored. */
  async end(): Promise<void> {
    await this.store(this.decoder.end());
  }

  private async store(step: DecodeStep): Promise<{ done: false } | { done: true; rest: Buffer }> {
    for (const piece of step.output) {
      this.headers.push(piece);
      if (this.held === undefined) {
        await this.write(piece);
        continue;
      }
      this.held.push(piece);
      this.heldBytes += piece.length;
      if (this.headers.headerEnded) await this.releaseHeld(true);
      else if (this.heldBytes > MAX_HELD_HEADER_BYTES) await this.releaseHeld(false);
    }
    if (step.done && this.held !== undefined) await this.releaseHeld(true);
    return step.done ? { done: true, rest: step.rest ?? Buffer.alloc(0) } : { done: false };
  }

  /**
   * After the end-of-data marker: checks the limits, then commits or discards. The envelope's
   * `tlsRequirement` is "requiretls" when MAIL carried REQUIRETLS; otherwise a "TLS-Required: No"
   * header field sets it (RFC 8689 §4.1: with REQUIRETLS the field is ignored).
   */
  async finish(envelope: Omit<NewEnvelope, 'body'>): Promise<DataResult> {
    const refusal = this.refusal();
    if (refusal !== undefined) {
      await this.writer.abort();
      return { kind: 'rejected', reply: refusal.reply, reason: refusal.reason };
    }
    try {
      if (this.writeError !== undefined) throw spoolErrorFrom(this.writeError);
      const dkimSplitter = this.splitter === undefined ? undefined : () => this.newSplitter();
      const repaired = this.decoder.lineTooLong ? await repairLongLines(this.writer, { dkimSplitter }) : undefined;
      if (repaired?.kind === 'refused') {
        await this.writer.abort();
        return { kind: 'rejected', reply: repaired.reply, reason: repaired.reason };
      }
      const dkim = await this.signature(repaired === undefined ? this.splitter : repaired.splitter);
      const has8bit = repaired === undefined ? this.decoder.has8bit : repaired.has8bit;
      const tlsOptional = envelope.tlsRequirement === undefined && this.headers.tlsRequired === 'no';
      const record = await this.writer.commit({
        ...envelope,
        ...(tlsOptional ? { tlsRequirement: 'tls-required-no' as const } : {}),
        body: has8bit ? '8BITMIME' : '7BIT',
        ...(dkim?.kind === 'signed' ? { dkimSignature: dkim.fields } : {}),
      });
      const reply = withText(Replies.ok, `Ok: queued as ${record.id}`);
      return { kind: 'queued', reply, record, dkim, ...(repaired === undefined ? {} : { longLines: repaired.summary }) };
    } catch (error: unknown) {
      await this.writer.abort();
      const noSpace = error instanceof SpoolError && error.noSpace;
      return { kind: 'rejected', reply: noSpace ? Replies.spoolFull : Replies.localError, reason: 'spool-error', error };
    }
  }

  /** Discards the message (client vanished, timeout, shutdown). */
  async abandon(): Promise<void> {
    await this.writer.abort();
  }

  /**
   * Writes the held header section, with the missing Date / Message-ID fields
   * inserted before the blank line that ends it (or at its end).
   */
  private async releaseHeld(insert: boolean): Promise<void> {
    const held = Buffer.concat(this.held ?? []);
    this.held = undefined;
    const fields = insert && this.fixes !== undefined ? this.missingFields(this.fixes(this.writer.id)) : '';
    if (fields === '') {
      await this.write(held);
      return;
    }
    const end = held.subarray(0, 2).toString('latin1') === '\r\n' ? 0 : held.indexOf('\r\n\r\n');
    const at = end === -1 ? held.length : end === 0 ? 0 : end + 2;
    await this.write(held.subarray(0, at));
    await this.write(Buffer.from(fields, 'utf8'));
    await this.write(held.subarray(at));
  }

  private missingFields(fixes: SubmissionFixes): string {
    let fields = '';
    if (!this.headers.has('date')) fields += `Date: ${fixes.date}\r\n`;
    if (!this.headers.has('message-id')) fields += `Message-ID: ${fixes.messageId}\r\n`;
    return fields;
  }

  /**
   * A splitter for the stored message (the original, or the one a long-line repair rewrites) that
   * asks the signer at the end of the header section whether the body is worth hashing.
   */
  private newSplitter(): MessageSplitter {
    this.unsigned = undefined;
    return new MessageSplitter({
      wantsBody: (headers) => {
        this.unsigned = this.signer?.unsignedOutcome?.(headers);
        return this.unsigned === undefined;
      },
    });
  }

  /** RFC 6376 §5: signed once, at acceptance; the fields are stored with the message. */
  private async signature(splitter: MessageSplitter | undefined): Promise<SignOutcome | undefined> {
    if (this.signer === undefined || splitter === undefined) return undefined;
    if (splitter.bodyHashSkipped && this.unsigned !== undefined) return this.unsigned;
    try {
      return await this.signer.sign(splitter.headers, splitter.bodyHash());
    } catch (error: unknown) {
      // A signing failure (a bug, a broken key object) never costs the message: it goes unsigned.
      return { kind: 'unsigned', reason: `signing failed: ${errorMessage(error)}`, notable: true };
    }
  }

  private refusal(): { reply: Reply; reason: string } | undefined {
    if (this.decoder.oversized) return { reply: Replies.messageTooBig, reason: 'too-big' };
    if (this.decoder.lineTooLong && this.longLines === 'refuse') return { reply: Replies.messageLineTooLong, reason: 'line-too-long' };
    if (this.headers.receivedCount >= MAX_RECEIVED_HEADERS) return { reply: Replies.mailLoop, reason: 'loop' };
    return undefined;
  }

  private async write(piece: Buffer): Promise<void> {
    if (this.writeError !== undefined) return;
    this.splitter?.push(piece);
    const body = this.writer.body;
    if (!body.write(piece)) await drained(body);
  }
}

function spoolErrorFrom(error: unknown): SpoolError {
  if (error instanceof SpoolError) return error;
  const code = errnoCode(error);
  return new SpoolError('writing the message body failed', { cause: error, noSpace: code === 'ENOSPC' || code === 'EDQUOT' });
}
