// The TLS part of `outpost resolve`: for an MX plan, the delivery.tlsPolicy
// level or the MTA-STS policy (RFC 8461: mode, mx patterns, cached or fetched)
// and what it means for each MX host; routes keep their own TLS. For any plan,
// what a REQUIRETLS message (RFC 8689 §4.2.1) would do: which hosts, or the bounce.

import type { PlanSuccess } from '../dns/next-hop.js';
import { basisText, type RequireTlsHosts } from '../delivery/requiretls.js';
import { judgeHosts, levelOf, type DestinationTls } from '../delivery/tls-policy.js';

/** The `tls` field of `resolve --json` (an extra field, INTERFACE.md). */
export function tlsToJson(decided: DestinationTls, plan: PlanSuccess): Record<string, unknown> {
  const level = levelOf(decided.tls);
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
  const hosts = judgeHosts(decided, plan).map(({ host, verdict }) => ({
    host,
    tls: verdict === 'skip' ? 'skip' : level,
    ...(decided.source === 'mta-sts' ? { inPolicy: verdict === 'use' } : {}),
  }));
  return { policy: decided.source, level, ...(mtaSts === undefined ? {} : { mtaSts }), hosts };
}

const LEVEL_TEXT = {
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

/** Lines added after the hosts of `resolve`'s text output. */
export function tlsToText(decided: DestinationTls, plan: PlanSuccess): string[] {
  const lines = [`  TLS: ${headline(decided)}`];
  const level = levelOf(decided.tls);
  for (const { host, verdict } of judgeHosts(decided, plan)) {
    if (verdict === 'skip') lines.push(`    ${host}: skipped (not in the MTA-STS policy)`);
    else lines.push(`    ${host}: ${LEVEL_TEXT[level]}${verdict === 'mismatch' ? ' (not in the testing policy: enforce would skip it)' : ''}`);
  }
  return lines;
}

/** The `requiretls` field of `resolve --json` (an extra field, INTERFACE.md). */
export function requireTlsToJson(judged: RequireTlsHosts): Record<string, unknown> {
  if (!judged.ok) return { deliverable: false, status: '5.7.10', result: judged.result, reason: judged.reason };
  return { deliverable: true, basis: judged.basis, hosts: judged.hosts };
}

/** The REQUIRETLS line of `resolve`'s text output. */
export function requireTlsToText(judged: RequireTlsHosts): string {
  if (!judged.ok) return `  REQUIRETLS: would bounce 5.7.10: ${judged.reason}`;
  return `  REQUIRETLS: deliverable via ${judged.hosts.join(', ')} (${basisText(judged.basis)}) if ${judged.hosts.length === 1 ? 'it offers' : 'one offers'} REQUIRETLS after STARTTLS with a certificate valid for its name; else bounced 5.7.10 / 5.7.30`;
}
