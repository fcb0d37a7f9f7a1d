// The doctor's informational discovery rows: the domain's MX hosts (RFC 5321
// §5.1, null MX RFC 7505) and the RFC 6186 / RFC 8314 §5.1 submission SRV records.

import type { ListenerConfig, ListenerMode } from '../config/types.js';
import type { Resolver } from '../dns/resolver.js';
import type { MxRecord } from '../dns/types.js';
import { dnsProblem } from './dns-text.js';
import { rowMaker, type DoctorCheck, type RowMaker } from './report.js';

export interface DiscoveryCheckInput {
  readonly resolver: Resolver;
  readonly domain: string;
  readonly hostname: string;
  readonly listen: readonly ListenerConfig[];
}

function mxFix(input: DiscoveryCheckInput): string {
  const receives = input.listen.some((listener) => listener.mode === 'mta');
  return `${input.domain}. IN MX 10 ${receives ? `${input.hostname}.` : '<the host that receives mail for the domain>.'}`;
}

async function unresolvedHosts(input: DiscoveryCheckInput, rows: RowMaker, hosts: readonly MxRecord[]): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  for (const host of hosts) {
    const [v4, v6] = await Promise.all([input.resolver.lookup(host.exchange, 'A'), input.resolver.lookup(host.exchange, 'AAAA')]);
    if (v4.kind !== 'ok' && v6.kind !== 'ok') checks.push(rows.warn(host.exchange, `MX host ${host.exchange} has no A or AAAA record (${v4.kind}/${v6.kind}): mail cannot reach it`));
  }
  return checks;
}

export async function checkMx(input: DiscoveryCheckInput): Promise<DoctorCheck[]> {
  const rows = rowMaker(input.domain, 'mx');
  const found = await input.resolver.lookup(input.domain, 'MX');
  if (found.kind === 'nxdomain' || found.kind === 'nodata') {
    const why = found.kind === 'nxdomain' ? 'the domain does not exist in DNS' : 'no MX record: mail to the domain goes to its A/AAAA address, if any';
    return [rows.warn(null, `${why}; replies and bounces to its addresses may not arrive`, mxFix(input))];
  }
  if (found.kind !== 'ok') return [rows.warn(null, `MX lookup failed: ${dnsProblem(found)}`)];
  const hosts = [...found.records].sort((a, b) => a.preference - b.preference);
  if (hosts.length === 1 && hosts[0]?.exchange === '.') return [rows.warn(null, 'null MX (RFC 7505): the domain accepts no mail, so replies and bounces to its addresses cannot arrive', mxFix(input))];
  const listed = hosts.map((host) => `${host.preference} ${host.exchange}`).join(', ');
  return [rows.ok(null, `MX ${listed}`), ...(await unresolvedHosts(input, rows, hosts))];
}

interface SubmissionService {
  readonly label: string;
  readonly mode: ListenerMode;
  readonly what: string;
}

const SERVICES: readonly SubmissionService[] = [
  { label: '_submission._tcp', mode: 'submission', what: 'submission with STARTTLS' },
  { label: '_submissions._tcp', mode: 'smtps', what: 'submission over implicit TLS' },
];

async function serviceRow(input: DiscoveryCheckInput, rows: RowMaker, service: SubmissionService): Promise<DoctorCheck> {
  const name = `${service.label}.${input.domain}`;
  const found = await input.resolver.lookup(name, 'SRV');
  if (found.kind === 'ok') {
    const records = [...found.records].sort((a, b) => a.priority - b.priority || b.weight - a.weight);
    if (records.length === 1 && records[0]?.target === '.') return rows.ok(name, `${service.what} explicitly not offered (target ".")`);
    return rows.ok(name, records.map((record) => `${record.target}:${record.port} (priority ${record.priority}, weight ${record.weight})`).join(', '));
  }
  if (found.kind !== 'nxdomain' && found.kind !== 'nodata') return rows.warn(name, `SRV lookup failed: ${dnsProblem(found)}`);
  const listener = input.listen.find((candidate) => candidate.mode === service.mode);
  if (listener === undefined) return rows.ok(name, `not published (outpost has no ${service.mode} listener)`);
  return rows.warn(name, `not published: mail clients cannot discover ${service.what} (RFC 6186)`, `${name}. IN SRV 0 1 ${listener.port} ${input.hostname}.`);
}

export async function checkSubmissionSrv(input: DiscoveryCheckInput): Promise<DoctorCheck[]> {
  const rows = rowMaker(input.domain, 'srv');
  return Promise.all(SERVICES.map((service) => serviceRow(input, rows, service)));
}
