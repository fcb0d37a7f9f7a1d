// The doctor's SPF rows (RFC 7208): exactly one parseable v=spf1 record, then
// check_host() for every public address, with the record to publish when it fails.

import { isIP } from 'node:net';
import type { Resolver } from '../dns/resolver.js';
import { lookupTexts } from './dns-text.js';
import { rowMaker, txtZoneLine, type DoctorCheck, type RowMaker } from './report.js';
import { checkHost, MAX_DNS_LOOKUPS, MAX_VOID_LOOKUPS, type SpfOutcome } from './spf-eval.js';
import { isSpfRecord, parseSpfRecord } from './spf-record.js';

export interface SpfCheckInput {
  readonly resolver: Resolver;
  /** The domain whose record is checked: a local domain, or the hostname (HELO identity). */
  readonly domain: string;
  readonly hostname: string;
  readonly publicAddresses: readonly string[];
  /** A missing record fails for a mail domain and warns for the HELO name. */
  readonly role: 'mail-from' | 'helo';
}

export const PUBLIC_ADDRESSES_FIX = 'set publicAddresses in the config to the addresses outpost sends from, e.g. publicAddresses: [203.0.113.5, "2001:db8::5"]';

/** `ip4:203.0.113.5` / `ip6:2001:db8::5`. */
export function addressTerm(address: string): string {
  return `${isIP(address) === 6 ? 'ip6' : 'ip4'}:${address}`;
}

/** A record that authorizes the public addresses (or the hostname's addresses when none are configured). */
export function suggestedSpfRecord(publicAddresses: readonly string[], hostname: string): string {
  const terms = publicAddresses.length > 0 ? publicAddresses.map(addressTerm) : [`a:${hostname}`];
  return `v=spf1 ${terms.join(' ')} -all`;
}

/** The record with `term` put first, so it matches before anything else. */
function withTerm(record: string, term: string): string {
  return `v=spf1 ${term}${record.slice('v=spf1'.length).replace(/^ */, ' ').trimEnd()}`;
}

/** One record from several: every term once, the first record's `all` (or -all) last. */
function mergedRecord(records: readonly string[]): string {
  const isAll = (term: string): boolean => /^[+\-~?]?all$/i.test(term) || /^redirect=/i.test(term);
  const terms = records.flatMap((record) => record.split(' ').slice(1)).filter((term) => term !== '');
  const kept = [...new Set(terms.filter((term) => !isAll(term)))];
  const all = (records[0] ?? '').split(' ').find(isAll) ?? '-all';
  return ['v=spf1', ...kept, all].join(' ');
}

function permerrorFix(outcome: SpfOutcome): string {
  if (outcome.lookups > MAX_DNS_LOOKUPS) return `cut the DNS lookups to ${MAX_DNS_LOOKUPS} or fewer: replace include: chains by the ip4:/ip6: ranges they list, drop ptr and unneeded a/mx`;
  if (outcome.voidLookups > MAX_VOID_LOOKUPS) return 'remove the mechanisms that name domains without records (each one is a void lookup)';
  return 'correct the record (or the record it includes or redirects to) so that it parses and every include/redirect target publishes SPF';
}

function addressRow(rows: RowMaker, input: SpfCheckInput, record: string, address: string, outcome: SpfOutcome): DoctorCheck {
  const counts = `${outcome.lookups}/${MAX_DNS_LOOKUPS} DNS lookups`;
  if (outcome.result === 'pass') return rows.ok(address, `pass: ${outcome.detail} (${counts})`);
  const detail = `${outcome.result}: ${outcome.detail} (${counts})`;
  switch (outcome.result) {
    case 'temperror':
      return rows.fail(address, `${detail}; receivers defer or reject the mail`, null);
    case 'permerror':
      return rows.fail(address, `${detail}; receivers treat the record as broken`, permerrorFix(outcome));
    default: {
      const term = addressTerm(address);
      return rows.fail(address, `${detail}: the address is not authorized; add ${term}`, txtZoneLine(input.domain, withTerm(record, term)));
    }
  }
}

export async function checkSpf(input: SpfCheckInput): Promise<DoctorCheck[]> {
  const rows = rowMaker(input.domain, 'spf');
  const subject = input.role === 'helo' ? `HELO ${input.domain}` : null;
  const found = await lookupTexts(input.resolver, input.domain);
  if (found.kind === 'error') return [rows.fail(subject, `${found.reason}; receivers answer temperror`)];
  const records = found.kind === 'records' ? found.texts.filter(isSpfRecord) : [];
  const suggestion = txtZoneLine(input.domain, suggestedSpfRecord(input.publicAddresses, input.hostname));
  if (records.length === 0) {
    if (input.role === 'helo') return [rows.warn(subject, 'no SPF record for the HELO name; receivers check it for bounces (MAIL FROM <>)', suggestion)];
    return [rows.fail(subject, 'no SPF record: receivers get "none" and may treat the mail as spam', suggestion)];
  }
  if (records.length > 1) {
    const quoted = records.map((record) => JSON.stringify(record)).join(' and ');
    return [rows.fail(subject, `${records.length} SPF records (${quoted}): receivers answer permerror`, `publish exactly one: ${txtZoneLine(input.domain, mergedRecord(records))}`)];
  }
  const record = records[0] ?? '';
  const parsed = parseSpfRecord(record);
  if (!parsed.ok) return [rows.fail(subject, `permerror in ${JSON.stringify(record)}: ${parsed.problem}`, `correct the record, e.g. ${suggestion}`)];
  const checks = [rows.ok(subject, JSON.stringify(record))];
  if (input.publicAddresses.length === 0) {
    checks.push(rows.warn(subject, 'publicAddresses is not set, so the record cannot be checked against the sending addresses', PUBLIC_ADDRESSES_FIX));
    return checks;
  }
  for (const address of input.publicAddresses) {
    const outcome = await checkHost(input.resolver, { ip: address, sender: `postmaster@${input.domain}`, helo: input.hostname, domain: input.domain });
    checks.push(addressRow(rows, input, record, address, outcome));
  }
  return checks;
}
