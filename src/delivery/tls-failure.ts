// Why TLS with an MX host failed, in the result types of SMTP TLS reporting
// (RFC 8460 §4.3: negotiation failures, DANE and MTA-STS policy failures), so the
// per-host failures delivery meets can be counted, logged and reported alike.

/** RFC 8460 §4.3 result types. */
export type TlsResultType =
  | 'starttls-not-supported'
  | 'certificate-host-mismatch'
  | 'certificate-expired'
  | 'certificate-not-trusted'
  | 'validation-failure'
  | 'tlsa-invalid'
  | 'dnssec-invalid'
  | 'dane-required'
  | 'sts-policy-fetch-error'
  | 'sts-policy-invalid'
  | 'sts-webpki-invalid';

/** The policy whose requirement failed, as metrics and logs name it. */
export type TlsPolicyName = 'dane' | 'mta-sts' | 'tlsPolicy';

/** One MX host's TLS failure under a policy (the host was skipped or the session closed). */
export interface HostTlsFailure {
  readonly resultType: TlsResultType;
  readonly policy: TlsPolicyName;
  /** The destination domain (the policy domain of a TLS report). */
  readonly domain: string;
  readonly mx: string;
  /** The address connected to; undefined when the host was skipped before connecting. */
  readonly address: string | undefined;
  /** What happened, for logs and deferral texts. */
  readonly reason: string;
}

/** The RFC 8460 result type of a failed WebPKI check, from Node's verification error code. */
export function pkixResultType(verifyError: string | undefined): TlsResultType {
  if (verifyError === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'certificate-host-mismatch';
  if (verifyError === 'CERT_HAS_EXPIRED' || verifyError === 'CERT_NOT_YET_VALID') return 'certificate-expired';
  return 'certificate-not-trusted';
}
