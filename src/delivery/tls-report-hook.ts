// What delivery tells TLS reporting (RFC 8460 §4): under which policy a
// destination's sessions count (its MTA-STS policy, or no-policy-found when the
// lookup found none), and each session's result: success or a §4.3 result type.

import { mxMatches } from '../mtasts/policy.js';
import { noPolicyFound, stsReportedPolicy } from '../tlsrpt/reported-policy.js';
import { resultTypeOfTlsError } from '../tlsrpt/tls-errors.js';
import type { FailureDetails, ReportedPolicy, TlsReportRecorder } from '../tlsrpt/types.js';
import type { Peer } from './outcomes.js';
import type { OpenResult, TlsShortfall } from './session-setup.js';
import type { DestinationTls } from './tls-policy.js';

/** The failure-reason-code of an MX host outside the MTA-STS policy (RFC 8460 has no result type of its own for it). */
export const MX_MISMATCH_REASON = 'mtasts-policy-mx-mismatch';

/** What the sessions of one delivery attempt are reported under. */
export interface TlsReportScope {
  readonly policy: ReportedPolicy;
  /** MTA-STS: the patterns an MX host must match (a testing policy lets others be used; they are reported). */
  readonly mxPatterns: readonly string[] | undefined;
  /** MTA-STS: a session succeeds only with a certificate verified for the MX name; otherwise any TLS does. */
  readonly verify: boolean;
}

/**
 * The scope of a destination's sessions: its MTA-STS policy (enforce or testing),
 * or no-policy-found when MTA-STS was looked up and found none (or mode none).
 * Destinations under a delivery.tlsPolicy entry, or with MTA-STS off, report nothing.
 */
export function reportScope(decided: DestinationTls): TlsReportScope | undefined {
  if (decided.source === 'mta-sts') {
    const { domain, policy } = decided.sts;
    return { policy: stsReportedPolicy(domain, policy), mxPatterns: policy.mx, verify: true };
  }
  if (decided.source === 'default' && decided.sts !== undefined) return { policy: noPolicyFound(decided.sts.domain), mxPatterns: undefined, verify: false };
  return undefined;
}

/** An enforce policy left `host` out: no session, one failure (RFC 8461 §5.1 step 2). */
export function reportSkippedHost(recorder: TlsReportRecorder, scope: TlsReportScope, host: string): void {
  recorder.failed(scope.policy, { resultType: 'validation-failure', receivingMxHostname: host, failureReasonCode: MX_MISMATCH_REASON });
}

function shortfallDetails(shortfall: TlsShortfall): Pick<FailureDetails, 'resultType' | 'failureReasonCode'> {
  switch (shortfall.kind) {
    case 'starttls-not-offered':
      return { resultType: 'starttls-not-supported', failureReasonCode: 'starttls-not-offered' };
    case 'starttls-refused':
      return { resultType: 'starttls-not-supported', failureReasonCode: shortfall.replyCode === undefined ? 'starttls-refused' : `starttls-reply-${shortfall.replyCode}` };
    case 'handshake':
      return { resultType: 'validation-failure', failureReasonCode: shortfall.code ?? 'tls-handshake-failed' };
    case 'unverified':
      return { resultType: resultTypeOfTlsError(shortfall.code), failureReasonCode: shortfall.code };
  }
}

/** What a session that opened came to, for the report: undefined = success. */
function openedShortfall(opened: Extract<OpenResult, { ok: true }>, scope: TlsReportScope): TlsShortfall | undefined {
  const { tls, tlsSkipped, extensions } = opened.session;
  if (tls === undefined) return tlsSkipped || extensions.startTls ? { kind: 'starttls-refused', replyCode: undefined } : { kind: 'starttls-not-offered' };
  if (scope.verify && !tls.verified) return { kind: 'unverified', code: tls.verifyError ?? 'unverified' };
  return undefined;
}

/**
 * Reports one session to `peer` that tried TLS (not a plaintext retry). A session
 * that ended before TLS was in question (greeting refused, timeout) is not counted.
 */
export function reportSession(recorder: TlsReportRecorder, scope: TlsReportScope, peer: Peer, localAddress: string | undefined, opened: OpenResult): void {
  const where: Omit<FailureDetails, 'resultType'> = {
    ...(localAddress === undefined ? {} : { sendingMtaIp: localAddress }),
    receivingMxHostname: peer.host,
    receivingIp: peer.address,
  };
  if (scope.mxPatterns !== undefined && !mxMatches({ mx: scope.mxPatterns }, peer.host)) {
    recorder.failed(scope.policy, { ...where, resultType: 'validation-failure', failureReasonCode: MX_MISMATCH_REASON });
    return;
  }
  const shortfall = opened.ok ? openedShortfall(opened, scope) : opened.tlsShortfall;
  if (opened.ok && shortfall === undefined) recorder.succeeded(scope.policy);
  else if (shortfall !== undefined) recorder.failed(scope.policy, { ...where, ...shortfallDetails(shortfall) });
}
