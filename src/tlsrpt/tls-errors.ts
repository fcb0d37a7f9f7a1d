// Node's TLS error codes as RFC 8460 §4.3 result types, in one table: certificate
// verification codes (OpenSSL's X509_V_ERR_* names as Node reports them,
// `authorizationError`), the host-name check, and anything else as validation-failure.

import type { ResultType } from './types.js';

/** Node code -> result type; codes not listed are "validation-failure" (§4.3.1: a failure not matching a category above). */
const CERTIFICATE_RESULTS: ReadonlyMap<string, ResultType> = new Map<string, ResultType>([
  // §4.3.1 certificate-expired
  ['CERT_HAS_EXPIRED', 'certificate-expired'],
  // §4.3.1 certificate-host-mismatch: the certificate does not name the MX host
  ['ERR_TLS_CERT_ALTNAME_INVALID', 'certificate-host-mismatch'],
  ['HOSTNAME_MISMATCH', 'certificate-host-mismatch'],
  // §4.3.1 certificate-not-trusted: untrusted or unknown CAs, chain and constraint errors
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'certificate-not-trusted'],
  ['UNABLE_TO_GET_ISSUER_CERT', 'certificate-not-trusted'],
  ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'certificate-not-trusted'],
  ['SELF_SIGNED_CERT_IN_CHAIN', 'certificate-not-trusted'],
  ['DEPTH_ZERO_SELF_SIGNED_CERT', 'certificate-not-trusted'],
  ['CERT_UNTRUSTED', 'certificate-not-trusted'],
  ['CERT_REJECTED', 'certificate-not-trusted'],
  ['CERT_NOT_YET_VALID', 'certificate-not-trusted'],
  ['CERT_REVOKED', 'certificate-not-trusted'],
  ['CERT_SIGNATURE_FAILURE', 'certificate-not-trusted'],
  ['CERT_CHAIN_TOO_LONG', 'certificate-not-trusted'],
  ['INVALID_CA', 'certificate-not-trusted'],
  ['INVALID_PURPOSE', 'certificate-not-trusted'],
  ['PATH_LENGTH_EXCEEDED', 'certificate-not-trusted'],
  ['UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'certificate-not-trusted'],
  ['UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'certificate-not-trusted'],
  ['ERROR_IN_CERT_NOT_BEFORE_FIELD', 'certificate-not-trusted'],
  ['ERROR_IN_CERT_NOT_AFTER_FIELD', 'certificate-not-trusted'],
]);

/** The result type of a TLS failure with Node error `code`; undefined code (no detail) is validation-failure. */
export function resultTypeOfTlsError(code: string | undefined): ResultType {
  return (code === undefined ? undefined : CERTIFICATE_RESULTS.get(code)) ?? 'validation-failure';
}

/** True when `code` is a certificate verification failure (an MTA-STS policy host that fails it: sts-webpki-invalid, §4.3.2). */
export function isCertificateError(code: string | undefined): boolean {
  return code !== undefined && CERTIFICATE_RESULTS.has(code);
}
