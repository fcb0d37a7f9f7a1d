// Cross-key checks of DNSSEC and DANE (RFC 7672 §2.1, RFC 4033 §4.9.3): the AD bit is trusted only
// from servers the operator names (a local validating resolver), and delivery.tlsPolicy `dane`
// needs that trust; without it no answer is ever secure and such a domain could never be delivered.

import type { Config } from './types.js';
import type { Issue } from './validate.js';

export function dnssecIssues(config: Pick<Config, 'dns' | 'delivery'>): Issue[] {
  const issues: Issue[] = [];
  if (config.dns.dnssec && config.dns.servers.length === 0) {
    issues.push({
      path: 'dns.dnssec',
      problem:
        'needs dns.servers: the AD bit is trusted only from servers named here, which must validate DNSSEC ' +
        '(a local validating resolver such as unbound on 127.0.0.1), not whatever /etc/resolv.conf lists',
    });
  }
  for (const [domain, level] of config.delivery.tlsPolicy) {
    if (level === 'dane' && !config.dns.dnssec) {
      issues.push({ path: `delivery.tlsPolicy.${domain}`, problem: 'dane needs dns.dnssec: true (and dns.servers that validate DNSSEC): without it no TLSA record is ever secure' });
    }
  }
  return issues;
}
