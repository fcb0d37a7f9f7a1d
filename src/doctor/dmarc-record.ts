// DMARC policy records (RFC 7489 §6.3 tags, §6.4 ABNF, §6.6.3 selection): v=DMARC1
// first, p required, sp, adkim/aspf r|s, pct 0-100, rua/ruf DMARC URIs, fo, rf, ri.

export type DmarcPolicyName = 'none' | 'quarantine' | 'reject';
export type DmarcAlignment = 'r' | 's';

export interface DmarcPolicy {
  readonly policy: DmarcPolicyName;
  /** sp=, or p= when absent. */
  readonly subdomainPolicy: DmarcPolicyName;
  readonly dkimAlignment: DmarcAlignment;
  readonly spfAlignment: DmarcAlignment;
  readonly percent: number;
  /** Aggregate and failure report URIs, without their "!size" suffixes. */
  readonly aggregateReportUris: readonly string[];
  readonly failureReportUris: readonly string[];
}

export type DmarcParse = { readonly ok: true; readonly policy: DmarcPolicy } | { readonly ok: false; readonly problem: string };

/** §6.6.3: only TXT records that start with the v=DMARC1 tag are DMARC records. */
export function isDmarcRecord(text: string): boolean {
  return /^v\s*=\s*DMARC1\s*(?:;|$)/i.test(text);
}

const POLICIES: readonly string[] = ['none', 'quarantine', 'reject'];
const DMARC_URI = /^([a-z][a-z0-9+.-]*):([^!]+)(?:!\d+[kmgt]?)?$/i;

function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The URIs of rua=/ruf=, or the problem with the first bad one. */
function reportUris(tag: string, value: string): { uris: string[] } | { problem: string } {
  const uris: string[] = [];
  for (const item of value.split(',').map((part) => part.trim())) {
    const match = DMARC_URI.exec(item);
    if (match === null) return { problem: `${tag}=: ${JSON.stringify(item)} is not a URI` };
    const scheme = (match[1] ?? '').toLowerCase();
    if (scheme === 'mailto' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(percentDecoded(match[2] ?? ''))) return { problem: `${tag}=: ${JSON.stringify(item)} is not a mailto: address` };
    uris.push(`${scheme}:${match[2] ?? ''}`);
  }
  return { uris };
}

function tagList(text: string): { tags: Map<string, string> } | { problem: string } {
  const tags = new Map<string, string>();
  const specs = text.split(';').map((spec) => spec.trim());
  for (const spec of specs) {
    // isDmarcRecord saw v=DMARC1 first; a trailing ";" leaves an empty spec.
    if (spec === '') continue;
    const match = /^([a-z][a-z0-9_]*)\s*=\s*(.*)$/i.exec(spec);
    if (match === null) return { problem: `${JSON.stringify(spec)} is not tag=value` };
    const name = (match[1] ?? '').toLowerCase();
    if (tags.has(name)) return { problem: `tag ${name}= appears twice` };
    tags.set(name, match[2] ?? '');
  }
  return { tags };
}

function policyValue(tag: string, value: string | undefined): DmarcPolicyName | string | undefined {
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  return POLICIES.includes(lower) ? (lower as DmarcPolicyName) : `${tag}=${value} is not none, quarantine or reject`;
}

function alignment(tag: string, value: string | undefined): DmarcAlignment | { problem: string } {
  const lower = (value ?? 'r').toLowerCase();
  return lower === 'r' || lower === 's' ? lower : { problem: `${tag}=${value ?? ''} is not r (relaxed) or s (strict)` };
}

function otherTagProblem(tags: ReadonlyMap<string, string>): string | undefined {
  const pct = tags.get('pct');
  if (pct !== undefined && (!/^\d{1,3}$/.test(pct) || Number(pct) > 100)) return `pct=${pct} is not a whole number from 0 to 100`;
  const ri = tags.get('ri');
  if (ri !== undefined && !/^\d{1,10}$/.test(ri)) return `ri=${ri} is not a number of seconds`;
  const fo = tags.get('fo');
  if (fo !== undefined && !fo.split(':').every((option) => ['0', '1', 'd', 's'].includes(option.trim().toLowerCase()))) return `fo=${fo} is not a colon-separated list of 0, 1, d, s`;
  const rf = tags.get('rf');
  if (rf !== undefined && !rf.split(':').every((format) => format.trim().toLowerCase() === 'afrf')) return `rf=${rf} names a format other than afrf`;
  return undefined;
}

/** Parses one record; any malformed tag is a problem (unknown tags are ignored, §6.3). */
export function parseDmarcRecord(text: string): DmarcParse {
  if (!isDmarcRecord(text)) return { ok: false, problem: 'the record does not start with v=DMARC1' };
  const list = tagList(text);
  if ('problem' in list) return { ok: false, problem: list.problem };
  const { tags } = list;
  const policy = policyValue('p', tags.get('p'));
  if (policy === undefined) return { ok: false, problem: 'p= is missing (it is required: none, quarantine or reject)' };
  if (!POLICIES.includes(policy)) return { ok: false, problem: policy };
  const subdomainPolicy = policyValue('sp', tags.get('sp')) ?? policy;
  if (!POLICIES.includes(subdomainPolicy)) return { ok: false, problem: subdomainPolicy };
  const dkimAlignment = alignment('adkim', tags.get('adkim'));
  if (typeof dkimAlignment !== 'string') return { ok: false, ...dkimAlignment };
  const spfAlignment = alignment('aspf', tags.get('aspf'));
  if (typeof spfAlignment !== 'string') return { ok: false, ...spfAlignment };
  const other = otherTagProblem(tags);
  if (other !== undefined) return { ok: false, problem: other };
  const rua = tags.has('rua') ? reportUris('rua', tags.get('rua') ?? '') : { uris: [] };
  if ('problem' in rua) return { ok: false, problem: rua.problem };
  const ruf = tags.has('ruf') ? reportUris('ruf', tags.get('ruf') ?? '') : { uris: [] };
  if ('problem' in ruf) return { ok: false, problem: ruf.problem };
  return {
    ok: true,
    policy: {
      policy: policy as DmarcPolicyName,
      subdomainPolicy: subdomainPolicy as DmarcPolicyName,
      dkimAlignment,
      spfAlignment,
      percent: tags.has('pct') ? Number(tags.get('pct')) : 100,
      aggregateReportUris: rua.uris,
      failureReportUris: ruf.uris,
    },
  };
}
