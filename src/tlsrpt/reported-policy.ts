// The "policy" object of a report (RFC 8460 §4.4) for what outpost applies: an
// MTA-STS policy (its lines as "policy-string", its mx patterns as "mx-host"),
// DANE's TLSA records ("tlsa", the records in presentation form), or
// "no-policy-found" for a destination that publishes none.

import type { TlsaRecord } from '../dns/types.js';
import type { StsPolicy } from '../mtasts/policy.js';
import type { ReportedPolicy } from './types.js';

/**
 * An MTA-STS policy of `domain`. The cache keeps the parsed policy, not the
 * fetched text, so the lines are rebuilt in the RFC 8461 §3.2 order (the
 * domain sees its own policy, normalized: lowercase mx, max_age capped).
 */
export function stsReportedPolicy(domain: string, policy: StsPolicy): ReportedPolicy {
  const strings = ['version: STSv1', `mode: ${policy.mode}`, ...policy.mx.map((pattern) => `mx: ${pattern}`), `max_age: ${policy.maxAgeSeconds}`];
  return { type: 'sts', domain, strings, mxHosts: [...policy.mx] };
}

/** An MTA-STS policy that could not be had (fetch failed, invalid): the policy kept from the cache, or nothing. */
export function stsFailedPolicy(domain: string, kept: StsPolicy | undefined): ReportedPolicy {
  return kept === undefined ? { type: 'sts', domain, strings: [], mxHosts: [] } : stsReportedPolicy(domain, kept);
}

/** The destination publishes no policy outpost applies (§4.4 "no-policy-found"). */
export function noPolicyFound(domain: string): ReportedPolicy {
  return { type: 'no-policy-found', domain, strings: [], mxHosts: [] };
}

/** One TLSA record in presentation form: usage, selector, matching type and the data in hex (RFC 6698 §2.2). */
export function tlsaPresentation(record: TlsaRecord): string {
  return `${record.usage} ${record.selector} ${record.matchingType} ${Buffer.from(record.certificateData).toString('hex')}`;
}

/** DANE TLSA records of an MX host of `domain` (the recipient domain); none when the lookup failed or found none DANE required. */
export function tlsaReportedPolicy(domain: string, records: readonly TlsaRecord[]): ReportedPolicy {
  return { type: 'tlsa', domain, strings: records.map(tlsaPresentation), mxHosts: [] };
}
