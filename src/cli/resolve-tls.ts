// The TLS part of `outpost resolve`: for an MX plan, the delivery.tlsPolicy
// level or the MTA-STS policy (RFC 8461: mode, mx patterns, cached or fetched),
// each MX host's TLSA records with their DNSSEC status (RFC 7672 §2.2), and what
// it all means for each MX host; routes keep their own TLS. For any plan, what a
// REQUIRETLS message (RFC 8689 §4.2.1) would do: which hosts and how their
// certificates are checked (DANE or WebPKI), or the bounce.

import type { DaneHostStatus } from '../dane/host-status.js';
import { isUsableTlsa, tlsaText } from '../dane/tlsa.js';
import { basisText, type RequireTlsHosts } from '../delivery/requiretls.js';
import { levelOf, type DestinationTls, type HostTls, type PlanTls } from '../delivery/tls-policy.js';
import type { TlsPolicyLevel } from '../config/types.js';
import { mxMatches } from '../mtasts/policy.js';

function destinationLevel(decided: DestinationTls): TlsPolicyLevel {
  return decided.source === 'tlsPolicy' ? decided.level : levelOf(decided.tls);
}

/** DANE on, off (dns.dnssec), or not consulted (a delivery.tlsPolicy level other than dane). */
function daneState(planTls: PlanTls): { readonly on: boolean; readonly reason?: string } {
  if (!planTls.daneOn) return { on: false, reason: 'dns.dnssec is false: no DNSSEC validation, no TLSA lookups' };
  const decided = planTls.destination;
  if (decided.source === 'tlsPolicy' && decided.level !== 'dane') return { on: false, reason: `delivery.tlsPolicy ${decided.level} applies instead` };
  return { on: true };
}

function dnssecOf(status: DaneHostStatus): 'secure' | 'insecure' | 'failed' {
  if (status.status === 'failed') return 'failed';
  return status.status === 'insecure' ? 'insecure' : 'secure';
}

function daneToJson(status: DaneHostStatus): Record<string, unknown> {
  const records =
    status.status === 'usable' || status.status === 'unusable'
      ? {
          records: status.records.map((record) => ({
            usage: record.usage,
            selector: record.selector,
            matchingType: record.matchingType,
            data: Buffer.from(record.certificateData).toString('hex'),
            usable: isUsableTlsa(record),
          })),
        }
      : { reason: status.reason };
  return { status: status.status, name: status.name, dnssec: dnssecOf(status), ...records };
}

function hostToJson(host: HostTls, decided: DestinationTls): Record<string, unknown> {
  return {
    host: host.host,
    tls: host.verdict === 'skip' ? 'skip' : levelOf(host.tls),
    ...(decided.source === 'mta-sts' ? { inPolicy: mxMatches(decided.sts.policy, host.host) } : {}),
    ...(host.dane === undefined ? {} : { dane: daneToJson(host.dane) }),
    ...(host.skipped === undefined || host.skipped.policy === 'mta-sts' ? {} : { skipped: { resultType: host.skipped.resultType, reason: host.skipped.reason } }),
  };
}

/** The `tls` field of `resolve --json` (an extra field, INTERFACE.md). */
export function tlsToJson(planTls: PlanTls): Record<string, unknown> {
  const decided = planTls.destination;
  const sts = decided.source === 'tlsPolicy' ? undefined : decided.sts;
  const mtaSts =
    sts === undefined
      ? undefined
      : sts.kind === 'none'
        ? { found: false, reason: sts.reason }
        : {
            found: true,
            mode: sts.policy.mode,
            id: sts.id,
            mx: sts.policy.mx,
            maxAge: sts.policy.maxAgeSeconds,
            source: sts.source,
            fetchedAt: new Date(sts.fetchedAtMs).toISOString(),
            expires: new Date(sts.expiresAtMs).toISOString(),
          };
  const hosts = planTls.hosts.map((host) => hostToJson(host, decided));
  return { policy: decided.source, level: destinationLevel(decided), ...(mtaSts === undefined ? {} : { mtaSts }), dane: daneState(planTls), hosts };
}

const LEVEL_TEXT = {
  dane: 'DANE: TLS required, the certificate must match a TLSA record',
  verify: 'TLS required, certificate verified for the MX name',
  encrypt: 'TLS required, certificate not checked',
  may: 'STARTTLS when offered (opportunistic)',
  none: 'never STARTTLS',
} as const;

function headline(decided: DestinationTls): string {
  if (decided.source === 'tlsPolicy') return `delivery.tlsPolicy ${decided.level} (MTA-STS not consulted)`;
  const sts = decided.sts;
  if (sts === undefined) return 'opportunistic (delivery.mtaSts is off)';
  if (sts.kind === 'none') return `opportunistic (no MTA-STS policy: ${sts.reason})`;
  const { mode, mx, maxAgeSeconds } = sts.policy;
  const age = `max_age ${maxAgeSeconds}s, ${sts.source}, valid until ${new Date(sts.expiresAtMs).toISOString()}`;
  return `MTA-STS ${mode} (id ${sts.id}, ${age})${mx.length === 0 ? '' : `; mx: ${mx.join(', ')}`}`;
}

function skippedText(host: HostTls): string {
  const skipped = host.skipped;
  if (skipped === undefined || skipped.policy === 'mta-sts') return 'skipped (not in the MTA-STS policy)';
  return `skipped (${skipped.resultType}: ${skipped.reason})`;
}

/** What DANE found for a host, after its requirement; records on lines of their own. */
function daneText(status: DaneHostStatus): { readonly note: string; readonly records: string[] } {
  switch (status.status) {
    case 'usable':
    case 'unusable':
      return {
        note: ` [TLSA at ${status.name}, DNSSEC-secure${status.status === 'unusable' ? ', none usable' : ''}]`,
        records: status.records.map((record) => `      TLSA ${tlsaText(record)}${isUsableTlsa(record) ? '' : ' (unusable for SMTP)'}`),
      };
    case 'absent':
      return { note: ` [no DANE: ${status.reason} (DNSSEC-secure)]`, records: [] };
    case 'insecure':
      return { note: ` [no DANE: ${status.reason}]`, records: [] };
    case 'failed':
      return { note: '', records: [] };
  }
}

/** Lines added after the hosts of `resolve`'s text output. */
export function tlsToText(planTls: PlanTls): string[] {
  const decided = planTls.destination;
  const dane = daneState(planTls);
  const lines = [`  DANE: ${dane.on ? 'on (TLSA records of DNSSEC-secure MX hosts)' : `off (${dane.reason ?? ''})`}`, `  TLS: ${headline(decided)}`];
  for (const host of planTls.hosts) {
    const found = host.dane === undefined ? { note: '', records: [] } : daneText(host.dane);
    if (host.verdict === 'skip') lines.push(`    ${host.host}: ${skippedText(host)}`);
    else lines.push(`    ${host.host}: ${LEVEL_TEXT[levelOf(host.tls)]}${host.verdict === 'mismatch' ? ' (not in the testing policy: enforce would skip it)' : ''}${found.note}`);
    lines.push(...found.records);
  }
  return lines;
}

/** How a REQUIRETLS message would check each host's certificate: DANE (usable TLSA records), WebPKI, or the host skipped. */
export type RequireTlsCheck = { readonly host: string; readonly check: 'dane' | 'webpki' } | { readonly host: string; readonly skipped: { readonly resultType: string; readonly reason: string } };

/** The checks of `hosts` (requireTlsHostTls), for resolve's output. */
export function requireTlsChecks(hosts: readonly HostTls[]): RequireTlsCheck[] {
  return hosts.map((host) => {
    if (host.skipped !== undefined) return { host: host.host, skipped: { resultType: host.skipped.resultType, reason: host.skipped.reason } };
    return { host: host.host, check: host.tls.dane !== undefined ? 'dane' : 'webpki' };
  });
}

/** The `requiretls` field of `resolve --json` (an extra field, INTERFACE.md); `checks` when DANE was consulted. */
export function requireTlsToJson(judged: RequireTlsHosts, checks?: readonly RequireTlsCheck[]): Record<string, unknown> {
  if (!judged.ok) return { deliverable: false, status: '5.7.10', result: judged.result, reason: judged.reason };
  return { deliverable: true, basis: judged.basis, hosts: judged.hosts, ...(checks === undefined ? {} : { checks }) };
}

function checkText(check: RequireTlsCheck): string {
  if ('skipped' in check) return `${check.host} skipped (${check.skipped.resultType}: ${check.skipped.reason})`;
  return `${check.host} by ${check.check === 'dane' ? 'its TLSA records (DANE)' : 'the trusted CAs (WebPKI)'}`;
}

/** The REQUIRETLS lines of `resolve`'s text output. */
export function requireTlsToText(judged: RequireTlsHosts, checks?: readonly RequireTlsCheck[]): string[] {
  if (!judged.ok) return [`  REQUIRETLS: would bounce 5.7.10: ${judged.reason}`];
  const certificate = checks === undefined ? 'with a certificate valid for its name' : 'with a certificate checked as below';
  const line = `  REQUIRETLS: deliverable via ${judged.hosts.join(', ')} (${basisText(judged.basis)}) if ${judged.hosts.length === 1 ? 'it offers' : 'one offers'} REQUIRETLS after STARTTLS ${certificate}; else bounced 5.7.10 / 5.7.30`;
  return checks === undefined ? [line] : [line, ...checks.map((check) => `    ${checkText(check)}`)];
}
