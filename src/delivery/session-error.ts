// Why an outbound SMTP session ended before its work was done: timeouts
// (RFC 5321 §4.5.3.2), lost connections, protocol errors, TLS failures.

import { OutpostError } from '../core/errors.js';

export type SessionFailure =
  /** No reply (or no progress writing) within the stage's timeout. */
  | 'timeout'
  /** The server closed or reset the connection. */
  | 'closed'
  /** Malformed, oversized or out-of-sync replies: nothing more can be trusted. */
  | 'protocol'
  /** The TLS handshake failed (with opportunistic TLS the host is retried once in plaintext; never when a route requires TLS). */
  | 'tls'
  /** A local problem, e.g. the body could not be read from the spool. */
  | 'local'
  /** The delivery was aborted (shutdown). */
  | 'aborted';

export class SessionError extends OutpostError {
  readonly failure: SessionFailure;
  /** What we were doing: "greeting", "EHLO", "RCPT", "message body"... */
  readonly stage: string;

  constructor(failure: SessionFailure, stage: string, message: string, options?: { cause?: unknown }) {
    super(`ESMTP${failure.toUpperCase()}`, message, options);
    this.name = 'SessionError';
    this.failure = failure;
    this.stage = stage;
  }
}
