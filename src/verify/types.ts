// The seam of recipient verification (Postfix BACKSCATTER_README: refuse unknown
// users at RCPT instead of bouncing later): what the SMTP server asks, what it
// gets back, and the probe the verifier asks the next hop with.

/** A recipient in a local domain, as the RCPT parser gave it. */
export interface RecipientToVerify {
  /** As the client wrote it (what a probe sends in RCPT TO, as delivery would). */
  readonly address: string;
  /** As the RCPT parser normalized it; case kept (RFC 5321 §2.4). */
  readonly localPart: string;
  /** Canonical (lowercase A-label) domain. */
  readonly domain: string;
}

/**
 * valid: the next hop (or the allow-list) takes it; invalid: unknown user;
 * unavailable: the next hop cannot be asked now; unverifiable: no check applies
 * (probing off, the next hop is this host, or it refuses probes).
 */
export type VerificationResult = 'valid' | 'invalid' | 'unavailable' | 'unverifiable';

/** Where the result came from. */
export type VerificationSource = 'list' | 'cache' | 'probe' | 'none';

export type VerificationDecision = 'accept' | 'reject' | 'defer';

export interface Verification {
  readonly decision: VerificationDecision;
  readonly result: VerificationResult;
  readonly source: VerificationSource;
  /** For logs: what the next hop said, or why it could not be asked. */
  readonly detail: string | undefined;
}

export interface RecipientVerifier {
  /** Never rejects: failures come back as `unavailable`. */
  verify(recipient: RecipientToVerify): Promise<Verification>;
}

/** What one probe of the next hop found. */
export interface ProbeAnswer {
  readonly result: VerificationResult;
  /** One line for logs, e.g. "550 5.1.1 no such user (mx.example.net[192.0.2.1])". */
  readonly detail: string;
}

/** Asks the next hop of `recipient.domain` about `recipient.address`; never rejects for remote or network failures. */
export type Prober = (recipient: RecipientToVerify, signal: AbortSignal) => Promise<ProbeAnswer>;
