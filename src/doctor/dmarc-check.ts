// The doctor's DMARC rows (RFC 7489): one parseable record at _dmarc.<domain>
// (§6.6.3, falling back to the parent as an approximate organizational domain),
// its policy and alignment, and authorization of external report addresses (§7.1).

import type { Resolver } from '../dns/resolver.js';
import { lookupTaggedTexts } from './dns-text.js';
import { isDmarcRecord, parseDmarcRecord, type DmarcPolicy } from './dmarc-record.js';
import { rowMaker, txtZoneLine, type DoctorCheck, type RowMaker } from './report.js';

export interface DmarcCheckInput {
  readonly resolver: Resolver;
  readonly domain: string;
}

export function suggestedDmarcRecord(domain: string): string {
  return `v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@${domain}`;
}

const SUGGESTION_NOTE = 'p=quarantine sends failing mail to spam (start with p=none to only watch, move to reject when reports are clean); rua receives daily aggregate reports, so create that mailbox';

/** The last two labels: a stand-in for the organizational domain (no public suffix list here). */
function parentOrganization(domain: string): string | undefined {
  const labels = domain.split('.');
  return labels.length > 2 ? labels.slice(-2).join('.') : undefined;
}

function alignmentName(value: 'r' | 's'): string {
  return value === 'r' ? 'relaxed' : 'strict';
}

function describe(policy: DmarcPolicy): string {
  const reports = policy.aggregateReportUris.length > 0 ? `reports to ${policy.aggregateReportUris.join(', ')}` : 'no rua= (no aggregate reports)';
  return `policy ${policy.policy}, subdomains ${policy.subdomainPolicy}, pct ${policy.percent}, DKIM alignment ${alignmentName(policy.dkimAlignment)}, SPF alignment ${alignmentName(policy.spfAlignment)}, ${reports}`;
}

function reportDomain(uri: string): string | undefined {
  const match = /^mailto:[^@]+@([^?!]+)/i.exec(uri);
  return match?.[1]?.toLowerCase();
}

/** §7.1: a report address outside the domain must be authorized by <domain>._report._dmarc.<its domain>. */
async function externalReportRows(input: DmarcCheckInput, rows: RowMaker, policy: DmarcPolicy): Promise<DoctorCheck[]> {
  const checked: DoctorCheck[] = [];
  const organization = parentOrganization(input.domain) ?? input.domain;
  for (const uri of [...policy.aggregateReportUris, ...policy.failureReportUris]) {
    const target = reportDomain(uri);
    if (target === undefined || target === organization || target.endsWith(`.${organization}`)) continue;
    const name = `${input.domain}._report._dmarc.${target}`;
    const found = await lookupTaggedTexts(input.resolver, name, isDmarcRecord);
    if (found.kind === 'absent') checked.push(rows.warn(uri, `${target} has not agreed to receive reports for ${input.domain}, so receivers send none`, txtZoneLine(name, 'v=DMARC1')));
  }
  return checked;
}

/** The record with the policy that applies here (p, or sp when inherited and present) raised to quarantine. */
function strongerRecord(text: string, inherited: boolean): string {
  const tag = inherited && /(?:^|;)\s*sp\s*=/i.test(text) ? 'sp' : 'p';
  return text.replace(new RegExp(`(^|;)\\s*${tag}\\s*=\\s*none`, 'i'), `$1 ${tag}=quarantine`);
}

function policyRow(rows: RowMaker, subject: string, policy: DmarcPolicy, text: string, inherited: string): DoctorCheck {
  const applied = inherited === '' ? policy.policy : policy.subdomainPolicy;
  const detail = `${inherited}${describe(policy)}`;
  if (applied !== 'none') return rows.ok(subject, detail);
  return rows.warn(subject, `p=none: monitoring only, receivers act on no failing mail; ${detail}`, txtZoneLine(subject, strongerRecord(text, inherited !== '')));
}

export async function checkDmarc(input: DmarcCheckInput): Promise<DoctorCheck[]> {
  const rows = rowMaker(input.domain, 'dmarc');
  const name = `_dmarc.${input.domain}`;
  const fix = `${txtZoneLine(name, suggestedDmarcRecord(input.domain))}  (${SUGGESTION_NOTE})`;
  let found = await lookupTaggedTexts(input.resolver, name, isDmarcRecord);
  let subject = name;
  let inherited = '';
  const parent = parentOrganization(input.domain);
  if (found.kind === 'absent' && parent !== undefined) {
    const fromParent = await lookupTaggedTexts(input.resolver, `_dmarc.${parent}`, isDmarcRecord);
    if (fromParent.kind === 'records') {
      found = fromParent;
      subject = `_dmarc.${parent}`;
      inherited = `no record at ${name}; the organizational domain's record applies: `;
    }
  }
  if (found.kind === 'error') return [rows.fail(name, `${found.reason}; receivers cannot read the policy`)];
  if (found.kind === 'absent') return [rows.fail(name, 'no DMARC record: receivers apply no policy, and large mailbox providers expect one from bulk senders', fix)];
  if (found.texts.length > 1) return [rows.fail(subject, `${found.texts.length} DMARC records: receivers ignore them all`, `keep exactly one, e.g. ${fix}`)];
  const text = found.texts[0] ?? '';
  const parsed = parseDmarcRecord(text);
  if (!parsed.ok) return [rows.fail(subject, `malformed record ${JSON.stringify(text)}: ${parsed.problem}; receivers ignore it`, fix)];
  return [policyRow(rows, subject, parsed.policy, text, inherited), ...(await externalReportRows(input, rows, parsed.policy))];
}
