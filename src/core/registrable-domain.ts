// The registrable domain of a host name: one label under its public suffix
// (aspmx.l.google.com -> google.com, mx.example.co.uk -> example.co.uk).
// No copy of the Public Suffix List: a small built-in list of common
// multi-label suffixes, extended by configuration; any other suffix is one label.

/**
 * Multi-label public suffixes known without configuration: the second-level
 * registries of common country domains. Names under a suffix missing here
 * group one level too high (mx.example.ac.xx -> ac.xx): add it to
 * `delivery.publicSuffixes`, or name the provider's MX hosts in `delivery.providers`.
 */
export const BUILT_IN_PUBLIC_SUFFIXES: readonly string[] = [
  'co.uk', 'org.uk', 'ac.uk', 'gov.uk', 'ltd.uk', 'plc.uk', 'me.uk', 'net.uk', 'nhs.uk', 'sch.uk',
  'com.au', 'net.au', 'org.au', 'edu.au', 'gov.au', 'id.au', 'asn.au',
  'co.nz', 'net.nz', 'org.nz', 'ac.nz', 'govt.nz',
  'co.jp', 'ne.jp', 'or.jp', 'ac.jp', 'go.jp', 'ad.jp', 'gr.jp',
  'co.kr', 'or.kr', 'ne.kr', 'ac.kr', 'go.kr',
  'co.za', 'org.za', 'net.za', 'ac.za', 'gov.za',
  'co.in', 'net.in', 'org.in', 'firm.in', 'gen.in', 'ind.in', 'ac.in', 'gov.in',
  'co.il', 'org.il', 'net.il', 'ac.il',
  'co.id', 'or.id', 'ac.id', 'go.id',
  'co.th', 'in.th', 'ac.th', 'go.th',
  'com.br', 'net.br', 'org.br', 'gov.br',
  'com.ar', 'com.mx', 'com.co', 'com.pe', 'com.ve', 'com.uy', 'com.ec',
  'com.cn', 'net.cn', 'org.cn', 'gov.cn', 'edu.cn',
  'com.hk', 'org.hk', 'net.hk', 'com.tw', 'org.tw', 'net.tw', 'com.sg', 'org.sg', 'net.sg', 'edu.sg',
  'com.my', 'net.my', 'org.my', 'com.ph', 'com.vn', 'com.pk', 'com.bd', 'com.np',
  'com.tr', 'net.tr', 'org.tr', 'com.ua', 'org.ua', 'com.pl', 'net.pl', 'org.pl', 'com.ru', 'org.ru',
  'com.eg', 'com.sa', 'com.ng', 'co.ke', 'com.gh',
  'co.at', 'or.at', 'ac.at', 'gv.at',
];

/** The suffix set used when none is given: the built-in list. */
export const DEFAULT_PUBLIC_SUFFIXES: ReadonlySet<string> = new Set(BUILT_IN_PUBLIC_SUFFIXES);

/**
 * The registrable domain of `host` (lowercase, no trailing dot): the longest
 * suffix of `suffixes` that `host` ends with (else its last label), plus one
 * label. A host that is a suffix itself, or a single label, is returned as is.
 */
export function registrableDomain(host: string, suffixes: ReadonlySet<string> = DEFAULT_PUBLIC_SUFFIXES): string {
  const name = (host.endsWith('.') ? host.slice(0, -1) : host).toLowerCase();
  const labels = name.split('.');
  if (labels.length <= 2) return name;
  let suffixLabels = 1;
  for (let count = labels.length - 1; count >= 2; count -= 1) {
    if (suffixes.has(labels.slice(-count).join('.'))) {
      suffixLabels = count;
      break;
    }
  }
  return labels.length <= suffixLabels ? name : labels.slice(-(suffixLabels + 1)).join('.');
}
