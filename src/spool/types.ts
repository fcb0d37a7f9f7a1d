// The spool's data model: the versioned envelope/state record kept beside
// each message body, and the interfaces the server and delivery side use.

import type { Readable, Writable } from 'node:stream';

export type RecipientState = 'pending' | 'delivered' | 'failed';

export interface RecipientAttempt {
  /** ISO 8601 time of the attempt. */
  readonly at: string;
  /** The remote (or local) reply, "451 4.4.3 ..." style, control characters stripped. */
  readonly reply: string;
  readonly mx?: string;
  /** The address connected to for this attempt (e.g. "192.0.2.25"); absent on older records and when no connection was made. */
  readonly address?: string;
  /** TLS of the session, e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384 (verified)", or null for plaintext; absent on older records and without a session. */
  readonly tls?: string | null;
  /** Enhanced status code (RFC 3463) of this outcome, e.g. "4.4.1", "5.1.10", "4.4.7"; absent on older records. */
  readonly status?: string;
}

export interface RecipientRecord {
  readonly address: string;
  readonly state: RecipientState;
  readonly attempts: number;
  readonly lastReply: string | null;
  readonly history: readonly RecipientAttempt[];
  /**
   * The last SMTP commands and replies of the most recent attempt that ran a transaction and did not
   * deliver ("C: ..." / "S: ...", at most 10 lines of 200 chars, no body, AUTH redacted); absent otherwise.
   */
  readonly lastExchange?: readonly string[];
  /** Set once the DSN reporting this recipient's failure is in the spool, so a restart neither loses nor repeats it. */
  readonly dsnSent?: boolean;
}

/**
 * How the message asks to be relayed (RFC 8689): `requiretls` (the REQUIRETLS MAIL option: only
 * over TLS verified for an authenticated MX name, to servers that offer REQUIRETLS themselves) or
 * `tls-required-no` (a "TLS-Required: No" header field: the recipient's TLS policies are ignored).
 */
export type TlsRequirement = 'requiretls' | 'tls-required-no';

export interface ClientRecord {
  readonly address: string;
  readonly helo: string;
  readonly listener: string;
  /** e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384", or null for plaintext. */
  readonly tls: string | null;
  /** Authenticated user, or null. */
  readonly auth: string | null;
}

export interface EnvelopeRecord {
  readonly version: 1;
  readonly id: string;
  /** Envelope sender; "" for the null reverse-path <>. */
  readonly from: string;
  /** ISO 8601 arrival time. */
  readonly arrival: string;
  /** Body size in octets as stored (CRLF line ends, unstuffed). */
  readonly size: number;
  readonly smtputf8: boolean;
  readonly body: '7BIT' | '8BITMIME';
  readonly client: ClientRecord;
  /** ISO 8601 time of the next delivery attempt. */
  readonly nextAttempt: string;
  readonly attempts: number;
  readonly delayWarningSent: boolean;
  readonly recipients: readonly RecipientRecord[];
  /** DKIM-Signature fields (CRLF-terminated) sent in front of the stored body at every attempt (RFC 6376). */
  readonly dkimSignature?: string;
  /** RFC 8689 handling asked for at acceptance; absent on ordinary messages and on records written before it existed. */
  readonly tlsRequirement?: TlsRequirement;
}

/** What the server knows when a message is complete. */
export interface NewEnvelope {
  readonly from: string;
  readonly recipients: readonly string[];
  readonly smtputf8: boolean;
  readonly body: '7BIT' | '8BITMIME';
  readonly client: ClientRecord;
  readonly dkimSignature?: string;
  readonly tlsRequirement?: TlsRequirement;
}

/** A replacement body for a message not yet committed (see MessageWriter.rewriteBody). */
export interface BodyRewrite {
  /** A new read of the body as first written (complete); may be called more than once. */
  openOriginal(): Readable;
  /** Receives the replacement; honour its backpressure. commit() stores it instead of the original. */
  readonly body: Writable;
}

/** An open message being received: stream the body in, then commit or abort. */
export interface MessageWriter {
  readonly id: string;
  /** The body file stream; honour its backpressure (write() false -> wait for 'drain'). */
  readonly body: Writable;
  /**
   * Ends `body` and opens a replacement body file beside it, for a second pass
   * that rewrites the message before it is queued. Once only, before commit;
   * commit then makes the replacement durable in the original's place (same
   * fsync-before-return guarantee), abort removes both. Rejects with SpoolError.
   */
  rewriteBody(): Promise<BodyRewrite>;
  /**
   * Ends the body, makes body and envelope durable (fsync'd, renamed, folder
   * fsync'd, shared with concurrent commits) and resolves with the record.
   * Rejects with SpoolError; then nothing of the message remains.
   */
  commit(envelope: NewEnvelope): Promise<EnvelopeRecord>;
  /** Discards the message; never rejects. */
  abort(): Promise<void>;
}

/** The spool as the SMTP server sees it. */
export interface MessageSink {
  begin(): Promise<MessageWriter>;
}
