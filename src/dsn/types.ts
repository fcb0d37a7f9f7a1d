// Input of a delivery status notification (RFC 3464): the original message's
// envelope and headers, and what happened to each reported recipient.

export interface DsnRecipient {
  /** The recipient as it was given (Final-Recipient: rfc822; or utf-8; when it is UTF-8). */
  readonly address: string;
  readonly action: 'failed' | 'delayed';
  /** Enhanced status code, e.g. "5.1.1", "4.4.7". */
  readonly status: string;
  /** The last reply: remote server's (Diagnostic-Code: smtp; ...) or our own description. */
  readonly diagnostic: string;
  readonly diagnosticIsRemote: boolean;
  readonly remoteMta: string | undefined;
  /** Milliseconds since the epoch of the last attempt, if any. */
  readonly lastAttemptMs: number | undefined;
}

export interface DsnRequest {
  /** This server's name: Reporting-MTA and the MAILER-DAEMON address. */
  readonly hostname: string;
  readonly originalId: string;
  /** Envelope sender of the original message (the DSN's recipient); never "" (no DSN for <>). */
  readonly originalSender: string;
  readonly arrivalMs: number;
  /** The original header section (CRLF lines, ends before the blank line). */
  readonly originalHeaders: string;
  readonly recipients: readonly DsnRecipient[];
  /** For `delayed`: until when we keep trying (Will-Retry-Until). */
  readonly willRetryUntilMs: number | undefined;
  readonly nowMs: number;
  /** A unique token for the Message-ID and MIME boundary. */
  readonly uniqueToken: string;
}

/** A built report, ready for the spool: envelope sender <>, one recipient, the body (CRLF lines, not dot-stuffed). */
export interface BuiltDsn {
  readonly from: '';
  /** The original envelope sender. */
  readonly to: string;
  readonly content: Buffer;
  /** The report (an address in it) needs SMTPUTF8 (RFC 6531); it then uses the RFC 6533 global types. */
  readonly smtputf8: boolean;
  /** The body has 8-bit octets (only when smtputf8): spool it as 8BITMIME. */
  readonly body: '7BIT' | '8BITMIME';
}
