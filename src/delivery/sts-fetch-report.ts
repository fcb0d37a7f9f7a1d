// MTA-STS policy fetch failures as TLS report failures (RFC 8460 §4.3.2):
// sts-policy-invalid for a malformed policy, sts-webpki-invalid when the policy
// host's certificate fails PKIX validation, sts-policy-fetch-error otherwise.

import type { StsFetchFailure } from '../mtasts/policies.js';
import { stsFailedPolicy } from '../tlsrpt/reported-policy.js';
import type { FailureDetails, TlsReportRecorder } from '../tlsrpt/types.js';
import { isCertificateError } from './tls-failure.js';
import { reasonCode } from './tls-report-hook.js';

export function stsFetchFailureDetails(failure: StsFetchFailure): FailureDetails {
  if (failure.kind === 'invalid') return { resultType: 'sts-policy-invalid', failureReasonCode: reasonCode(failure.reason) };
  if (isCertificateError(failure.code)) return { resultType: 'sts-webpki-invalid', failureReasonCode: failure.code ?? '' };
  return { resultType: 'sts-policy-fetch-error', failureReasonCode: reasonCode(failure.code ?? failure.reason) };
}

/** One failed fetch of `domain`'s policy, under the policy kept from the cache if there is one. */
export function recordStsFetchFailure(recorder: TlsReportRecorder, domain: string, failure: StsFetchFailure): void {
  recorder.failed(stsFailedPolicy(domain, failure.kept), stsFetchFailureDetails(failure));
}
