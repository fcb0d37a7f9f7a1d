// The names outbound TLS failures are counted, logged and reported under: the policy
// that required the TLS (MTA-STS, DANE, delivery.tlsPolicy, REQUIRETLS) and the result,
// in the RFC 8460 §4.3 result types where one fits (negotiation failures, DANE's
// tlsa-invalid, dnssec-invalid, dane-required, MTA-STS's sts-*) and outpost's own otherwise.

import type { ResultType } from '../tlsrpt/types.js';

/** Which policy made TLS required or checked, as metrics and logs name it. */
export type TlsPolicyName = 'mta-sts' | 'dane' | 'tlsPolicy' | 'requiretls';

export type TlsFailureResult =
  // RFC 8460 §4.3: negotiation failures, DANE's and MTA-STS's policy failures (one list, in tlsrpt/types.ts)
  | ResultType
  // outpost's: the MX host is not in the MTA-STS policy (TLS-RPT reports it as validation-failure)
  | 'mx-mismatch'
  // REQUIRETLS (RFC 8689 §4.2.1): no MX name authenticated by DNSSEC or MTA-STS; the host does not offer REQUIRETLS
  | 'mx-not-authenticated'
  | 'requiretls-not-supported';

/** Why TLS could not be had as required with one host: the result to count and the text for the outcome. */
export interface TlsFailure {
  readonly result: TlsFailureResult;
  /** "TLS is required by ... with mx[192.0.2.1], but it does not offer STARTTLS". */
  readonly text: string;
  /** A short machine code for TLS reports' failure-reason-code (RFC 8460 §4.4): Node's error code, starttls-not-offered, starttls-reply-454... */
  readonly code?: string;
}

/** One MX host's TLS failure under a policy (the host was skipped or its session closed), for TLS reporting (RFC 8460). */
export interface HostTlsFailure {
  /** The RFC 8460 result-type (or outpost's own, above). */
  readonly resultType: TlsFailureResult;
  readonly policy: TlsPolicyName;
  /** The destination domain (the policy domain of a TLS report). */
  readonly domain: string;
  readonly mx: string;
  /** The address connected to; undefined when the host was skipped before connecting. */
  readonly address: string | undefined;
  /** What happened, for logs and deferral texts. */
  readonly reason: string;
}

/** Node's (OpenSSL's) verification error codes that say the chain does not lead to a trusted CA. */
const NOT_TRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REVOKED',
  'CERT_CHAIN_TOO_LONG',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
]);

/** The RFC 8460 result type of a certificate that did not verify (WebPKI), from Node's `authorizationError` code. */
export function certificateFailure(verifyError: string | undefined): TlsFailureResult {
  if (verifyError === 'ERR_TLS_CERT_ALTNAME_INVALID' || verifyError === 'HOSTNAME_MISMATCH') return 'certificate-host-mismatch';
  if (verifyError === 'CERT_HAS_EXPIRED' || verifyError === 'CERT_NOT_YET_VALID') return 'certificate-expired';
  if (verifyError !== undefined && NOT_TRUSTED.has(verifyError)) return 'certificate-not-trusted';
  return 'validation-failure';
}

/** True when `code` says a certificate failed verification (an MTA-STS policy host's: sts-webpki-invalid, RFC 8460 §4.3.2.3). */
export function isCertificateError(code: string | undefined): boolean {
  return code !== undefined && certificateFailure(code) !== 'validation-failure';
}
