// The vocabulary of SMTP TLS Reporting (RFC 8460): policy types (§4.4), result
// types (§4.3), the policy and failure details of one TLS session attempt, and
// the recorder seam delivery reports each attempt to.

/** §4.4 "policy-type": an MTA-STS policy, a DANE TLSA policy, or none found. */
export type PolicyType = 'sts' | 'tlsa' | 'no-policy-found';

/** §4.3 result types (IANA "STARTTLS Validation Result Types"). */
export type ResultType =
  // §4.3.1 negotiation failures
  | 'starttls-not-supported'
  | 'certificate-host-mismatch'
  | 'certificate-expired'
  | 'certificate-not-trusted'
  | 'validation-failure'
  // §4.3.2 policy failures: DANE
  | 'tlsa-invalid'
  | 'dnssec-invalid'
  | 'dane-required'
  // §4.3.2 policy failures: MTA-STS
  | 'sts-policy-fetch-error'
  | 'sts-policy-invalid'
  | 'sts-webpki-invalid';

export const RESULT_TYPES: readonly ResultType[] = [
  'starttls-not-supported',
  'certificate-host-mismatch',
  'certificate-expired',
  'certificate-not-trusted',
  'validation-failure',
  'tlsa-invalid',
  'dnssec-invalid',
  'dane-required',
  'sts-policy-fetch-error',
  'sts-policy-invalid',
  'sts-webpki-invalid',
];

/** The policy a session was judged under (§4.4 "policy"). */
export interface ReportedPolicy {
  readonly type: PolicyType;
  /** A-label policy domain (RFC 8460 §3): the recipient domain, for every policy type. Reports go to its `_smtp._tls` record. */
  readonly domain: string;
  /** "policy-string": the MTA-STS policy lines, or the TLSA records in presentation form; empty for no-policy-found. */
  readonly strings: readonly string[];
  /** "mx-host": the MTA-STS policy's mx patterns; empty otherwise. */
  readonly mxHosts: readonly string[];
}

/** What went wrong in one session (§4.4 "failure-details", without the count). */
export interface FailureDetails {
  readonly resultType: ResultType;
  readonly sendingMtaIp?: string;
  readonly receivingMxHostname?: string;
  readonly receivingMxHelo?: string;
  readonly receivingIp?: string;
  /** Free text, e.g. the TLS library's error code ("CERT_HAS_EXPIRED"). */
  readonly failureReasonCode?: string;
  readonly additionalInformation?: string;
}

/**
 * Where delivery reports each TLS session attempt made under a policy (and
 * policy fetch failures). Calls are cheap and never throw: the recorder
 * batches in memory and writes to disk on its own schedule.
 */
export interface TlsReportRecorder {
  /** A session that negotiated TLS as the policy asks. */
  succeeded(policy: ReportedPolicy): void;
  /** A session (or policy fetch) that failed; counted once. */
  failed(policy: ReportedPolicy, details: FailureDetails): void;
}
