// The doctor's optional transport-security rows: the MTA-STS policy indicator
// `_mta-sts` (RFC 8461 §3.1) and the TLS reporting record `_smtp._tls` (RFC 8460 §3).

import type { Resolver } from '../dns/resolver.js';
import { parseTlsRptRecord as parseReportingRecord } from '../tlsrpt/record.js';
import { lookupTaggedTexts } from './dns-text.js';
import { rowMaker, txtZoneLine, type DoctorCheck, type RowMaker } from './report.js';

export interface StsCheckInput {
  readonly resolver: Resolver;
  readonly domain: string;
}

type Fields = { readonly fields: ReadonlyMap<string, string> } | { readonly problem: string };

/** `v=...; key=value; ...` with v first (both RFCs use this shape); extension fields are kept, unchecked. */
function fieldList(text: string, version: string): Fields {
  const fields = new Map<string, string>();
  const parts = text.split(';').map((part) => part.trim()).filter((part) => part !== '');
  for (const [index, part] of parts.entries()) {
    const match = /^([A-Za-z0-9_.-]+)=(.*)$/.exec(part);
    if (match === null) return { problem: `${JSON.stringify(part)} is not field=value` };
    const [, name = '', value = ''] = match;
    if (index === 0 && (name !== 'v' || value !== version)) return { problem: `the record must start with v=${version}` };
    if (fields.has(name)) return { problem: `field ${name}= appears twice` };
    fields.set(name, value);
  }
  return { fields };
}

/** RFC 8461 §3.1: id is 1 to 32 letters and digits. */
export function parseMtaStsRecord(text: string): { readonly id: string } | { readonly problem: string } {
  const list = fieldList(text, 'STSv1');
  if ('problem' in list) return list;
  const id = list.fields.get('id');
  if (id === undefined) return { problem: 'id= is missing' };
  if (!/^[A-Za-z0-9]{1,32}$/.test(id)) return { problem: `id=${id} is not 1-32 letters and digits` };
  return { id };
}

/** RFC 8460 §3 (the syntax senders apply, tlsrpt/record.ts), and rua= URIs that senders can use: mailto: or https:. */
export function parseTlsRptRecord(text: string): { readonly rua: readonly string[] } | { readonly problem: string } {
  const parsed = parseReportingRecord(text);
  if ('problem' in parsed) return parsed;
  const bad = parsed.rua.find((uri) => !/^(?:mailto:[^@\s]+@[^@\s]+|https:\/\/\S+)$/i.test(uri));
  if (bad !== undefined) return { problem: `rua=: ${JSON.stringify(bad)} is not a mailto: or https: URI` };
  return parsed;
}

async function optionalRecordRow(
  resolver: Resolver,
  rows: RowMaker,
  spec: { name: string; version: string; absent: string; fix: string; describe: (text: string) => { ok: string } | { problem: string } },
): Promise<DoctorCheck> {
  const isTagged = (text: string): boolean => text.startsWith(`v=${spec.version}`);
  const found = await lookupTaggedTexts(resolver, spec.name, isTagged);
  if (found.kind === 'error') return rows.warn(spec.name, found.reason);
  if (found.kind === 'absent') return rows.warn(spec.name, `optional, not published: ${spec.absent}`, spec.fix);
  if (found.texts.length > 1) return rows.warn(spec.name, `${found.texts.length} v=${spec.version} records: senders ignore them all`, spec.fix);
  const described = spec.describe(found.texts[0] ?? '');
  if ('problem' in described) return rows.warn(spec.name, `malformed record ${JSON.stringify(found.texts[0])}: ${described.problem}; senders ignore it`, spec.fix);
  return rows.ok(spec.name, described.ok);
}

/** The domain's MX host names (null MX and failures give none). */
async function mxHosts(resolver: Resolver, domain: string): Promise<string[]> {
  const found = await resolver.lookup(domain, 'MX');
  if (found.kind !== 'ok') return [];
  return [...found.records].sort((a, b) => a.preference - b.preference).map((record) => record.exchange).filter((host) => host !== '.');
}

/** What to serve as the policy (RFC 8461 §3.2): testing first (TLS reports show what enforce would refuse), the MX hosts as they are. */
export function policySuggestion(domain: string, mx: readonly string[]): string {
  const lines = ['version: STSv1', 'mode: testing', ...(mx.length === 0 ? ['mx: <your MX host>'] : mx.map((host) => `mx: ${host}`)), 'max_age: 604800'];
  return `serve https://mta-sts.${domain}/.well-known/mta-sts.txt (text/plain, a certificate valid for mta-sts.${domain}) with the lines ${lines.map((line) => JSON.stringify(line)).join(', ')}; change mode to enforce once the TLS reports show no failures`;
}

export async function checkMtaSts(input: StsCheckInput): Promise<DoctorCheck[]> {
  const name = `_mta-sts.${input.domain}`;
  const mx = await mxHosts(input.resolver, input.domain);
  const row = await optionalRecordRow(input.resolver, rowMaker(input.domain, 'mta-sts'), {
    name,
    version: 'STSv1',
    absent: `senders cannot insist on verified TLS to this domain's MX hosts (RFC 8461); publishing also needs the policy at https://mta-sts.${input.domain}/.well-known/mta-sts.txt`,
    fix: `${txtZoneLine(name, 'v=STSv1; id=1')}  (change id whenever the policy file changes); and ${policySuggestion(input.domain, mx)}`,
    describe: (text) => {
      const parsed = parseMtaStsRecord(text);
      return 'problem' in parsed ? parsed : { ok: `policy id ${parsed.id} (policy at https://mta-sts.${input.domain}/.well-known/mta-sts.txt)` };
    },
  });
  return [row];
}

export async function checkTlsRpt(input: StsCheckInput): Promise<DoctorCheck[]> {
  const name = `_smtp._tls.${input.domain}`;
  const row = await optionalRecordRow(input.resolver, rowMaker(input.domain, 'tls-rpt'), {
    name,
    version: 'TLSRPTv1',
    absent: 'senders cannot report TLS failures delivering to this domain (RFC 8460)',
    fix: txtZoneLine(name, `v=TLSRPTv1; rua=mailto:tls-reports@${input.domain}`),
    describe: (text) => {
      const parsed = parseTlsRptRecord(text);
      return 'problem' in parsed ? parsed : { ok: `reports to ${parsed.rua.join(', ')}` };
    },
  });
  return [row];
}
