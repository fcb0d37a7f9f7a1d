// What delivery tells TLS reporting (RFC 8460 §4): under which policy each MX host's
// sessions count (DANE's TLSA records when DANE governs the host, else the
// destination's MTA-STS policy, or no-policy-found when the lookup found none), and
// each session's result: success or a §4.3 result type, as tls-failure.ts classifies it.

import type { TlsaRecord } from '../dns/types.js';
import { mxMatches } from '../mtasts/policy.js';
import { noPolicyFound, stsReportedPolicy, tlsaReportedPolicy } from '../tlsrpt/reported-policy.js';
import type { FailureDetails, ReportedPolicy, ResultType, TlsReportRecorder } from '../tlsrpt/types.js';
import type { Peer } from './outcomes.js';
import type { OpenResult } from './session-setup.js';
import { certificateFailure, type TlsFailure, type TlsFailureResult } from './tls-failure.js';
import type { DestinationTls, HostTls } from './tls-policy.js';

/** The failure-reason-code of an MX host outside the MTA-STS policy (RFC 8460 has no result type of its own for it). */
export const MX_MISMATCH_REASON = 'mtasts-policy-mx-mismatch';

/** What the sessions with one MX host are reported under. */
export interface TlsReportScope {
  readonly policy: ReportedPolicy;
  /** MTA-STS: the patterns an MX host must match (a testing policy lets others be used; they are reported). */
  readonly mxPatterns: readonly string[] | undefined;
  /** A session succeeds only with a certificate verified (MTA-STS: for the MX name; DANE: by a TLSA record); otherwise any TLS does. */
  readonly verify: boolean;
  /** DANE with TLSA records none usable (RFC 7672 §2.2): TLS is used unauthenticated, and each session is reported as this failure. */
  readonly failsAs?: 'tlsa-invalid';
}

/** DANE governs the host: its TLSA records make (or, failing, forbid) its TLS. */
function daneScope(destination: string, host: HostTls): TlsReportScope {
  const dane = host.dane;
  const records: readonly TlsaRecord[] = dane?.status === 'usable' || dane?.status === 'unusable' ? dane.records : [];
  const policy = tlsaReportedPolicy(destination, records);
  if (dane?.status === 'unusable') return { policy, mxPatterns: undefined, verify: false, failsAs: 'tlsa-invalid' };
  return { policy, mxPatterns: undefined, verify: true };
}

/**
 * The scope of one host's sessions: `tlsa` when DANE governs it (usable or unusable TLSA
 * records, a failed TLSA lookup, DANE required by delivery.tlsPolicy), else the
 * destination's MTA-STS policy (enforce or testing), or no-policy-found when MTA-STS was
 * looked up and found none (or mode none). Hosts under a delivery.tlsPolicy entry, or with
 * MTA-STS off and no DANE, report nothing. `destination` is the policy domain (the recipient domain).
 */
export function hostReportScope(decided: DestinationTls, destination: string, host: HostTls): TlsReportScope | undefined {
  if (host.enforcedBy === 'dane' || host.skipped?.policy === 'dane') return daneScope(destination, host);
  if (decided.source === 'mta-sts') {
    const { policy } = decided.sts;
    return { policy: stsReportedPolicy(destination, policy), mxPatterns: policy.mx, verify: true };
  }
  if (decided.source === 'default' && decided.sts !== undefined) return { policy: noPolicyFound(destination), mxPatterns: undefined, verify: false };
  return undefined;
}

/** tls-failure.ts's result as a report's result type: outpost's own names become validation-failure with a reason code. */
function reportedResult(result: TlsFailureResult, code: string | undefined): Pick<FailureDetails, 'resultType' | 'failureReasonCode'> {
  switch (result) {
    case 'mx-mismatch':
      return { resultType: 'validation-failure', failureReasonCode: MX_MISMATCH_REASON };
    case 'mx-not-authenticated':
    case 'requiretls-not-supported':
      return { resultType: 'validation-failure', failureReasonCode: result };
    default:
      return { resultType: result satisfies ResultType, ...(code === undefined ? {} : { failureReasonCode: code }) };
  }
}

/** failure-reason-code from free text: one line, bounded. */
const MAX_REASON_CHARS = 200;

export function reasonCode(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]+/g, ' ').slice(0, MAX_REASON_CHARS);
}

/** A policy left the host out before any connection (not in an enforce MTA-STS policy, a DANE failure): one failure. */
export function reportSkippedHost(recorder: TlsReportRecorder, scope: TlsReportScope, host: string, skipped: NonNullable<HostTls['skipped']>): void {
  const result = skipped.policy === 'mta-sts' ? 'mx-mismatch' : skipped.resultType;
  recorder.failed(scope.policy, { receivingMxHostname: host, ...reportedResult(result, reasonCode(skipped.reason)) });
}

/** What a session that opened came to, for the report: undefined = success. */
function openedFailure(opened: Extract<OpenResult, { ok: true }>, scope: TlsReportScope): Pick<TlsFailure, 'result' | 'code'> | undefined {
  const { tls, tlsSkipped, extensions } = opened.session;
  if (tls === undefined) return { result: 'starttls-not-supported', code: tlsSkipped || extensions.startTls ? 'starttls-refused' : 'starttls-not-offered' };
  if (scope.failsAs !== undefined) return { result: scope.failsAs, code: 'no-usable-tlsa-record' };
  if (scope.verify && !tls.verified) return { result: certificateFailure(tls.verifyError), code: tls.verifyError ?? 'unverified' };
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
  const failure = opened.ok ? openedFailure(opened, scope) : opened.tlsFailure;
  if (opened.ok && failure === undefined) recorder.succeeded(scope.policy);
  else if (failure !== undefined) recorder.failed(scope.policy, { ...where, ...reportedResult(failure.result, failure.code) });
}
