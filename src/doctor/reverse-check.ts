// The doctor's host-wide rows: reverse DNS of each public address (PTR under
// in-addr.arpa / ip6.arpa, RFC 1035 §3.5, RFC 3596 §2.5) confirmed forward
// (FCrDNS) and equal to the hostname; the hostname's own A/AAAA (RFC 5321 §4.1.1.1).

import { isIP } from 'node:net';
import type { Resolver } from '../dns/resolver.js';
import { reverseName, sameAddress } from '../dns/reverse-name.js';
import { dnsProblem } from './dns-text.js';
import { rowMaker, type DoctorCheck, type RowMaker } from './report.js';
import { PUBLIC_ADDRESSES_FIX } from './spf-check.js';

export interface HostCheckInput {
  readonly resolver: Resolver;
  readonly hostname: string;
  readonly publicAddresses: readonly string[];
  /** dns.ipv6: whether outpost delivers over IPv6 at all. */
  readonly ipv6Enabled: boolean;
}

/** §4.6.4-style cap on the PTR names looked at. */
const MAX_PTR_NAMES = 10;

const GMAIL_IPV6_NOTE = 'Gmail refuses mail from IPv6 addresses without a PTR that resolves back (550-5.7.25)';

function addressType(address: string): 'A' | 'AAAA' {
  return isIP(address) === 6 ? 'AAAA' : 'A';
}

async function forwardAddresses(resolver: Resolver, name: string, type: 'A' | 'AAAA'): Promise<readonly string[]> {
  const found = await resolver.lookup(name, type);
  return found.kind === 'ok' ? found.records : [];
}

/** A failed IPv6 row: the Gmail note, a way out over IPv4, and only a warning when outpost does not send over IPv6. */
function problemRow(rows: RowMaker, input: HostCheckInput, address: string, detail: string, fix: string): DoctorCheck {
  if (isIP(address) !== 6) return rows.fail(address, detail, fix);
  if (!input.ipv6Enabled) return rows.warn(address, `${detail} (dns.ipv6 is false: outpost does not deliver over IPv6)`, fix);
  return rows.fail(address, `${detail}; ${GMAIL_IPV6_NOTE}`, `${fix}; or deliver over IPv4 only: set dns.ipv6: false in the config`);
}

async function addressRow(input: HostCheckInput, rows: RowMaker, address: string): Promise<DoctorCheck> {
  const reverse = reverseName(address);
  if (reverse === undefined) return rows.fail(address, 'publicAddresses holds something that is not an IP address', PUBLIC_ADDRESSES_FIX);
  const publishPtr = `${reverse}. IN PTR ${input.hostname}.  (set by whoever runs the address block, usually in the hosting provider's panel)`;
  const found = await input.resolver.lookup(reverse, 'PTR');
  if (found.kind === 'nxdomain' || found.kind === 'nodata') return problemRow(rows, input, address, `no PTR record at ${reverse}: many receivers reject or spam-file mail from addresses without reverse DNS`, publishPtr);
  if (found.kind !== 'ok') return problemRow(rows, input, address, `PTR lookup of ${reverse} failed: ${dnsProblem(found)}`, publishPtr);
  const type = addressType(address);
  const names = found.records.slice(0, MAX_PTR_NAMES);
  const resolved = await Promise.all(names.map(async (name) => ({ name, addresses: await forwardAddresses(input.resolver, name, type) })));
  const confirmed = resolved.filter((entry) => entry.addresses.some((other) => sameAddress(other, address)));
  const hostname = input.hostname.toLowerCase();
  if (confirmed.length === 0) {
    const seen = resolved.map((entry) => `${entry.name} -> ${entry.addresses.length > 0 ? entry.addresses.join(', ') : `no ${type} record`}`).join('; ');
    const name = names.includes(hostname) ? hostname : (names[0] ?? hostname);
    return problemRow(rows, input, address, `PTR ${names.join(', ')} does not resolve back to ${address} (${seen}): forward-confirmed reverse DNS fails`, `${name}. IN ${type} ${address}`);
  }
  if (!confirmed.some((entry) => entry.name === hostname)) {
    const name = confirmed[0]?.name ?? '';
    return rows.warn(address, `PTR ${name} resolves back, but is not the configured hostname ${hostname} (receivers compare it with the HELO name)`, `${reverse}. IN PTR ${hostname}.  (or set hostname: ${name} in the config)`);
  }
  return rows.ok(address, `${reverse} PTR ${hostname}, which resolves back to ${address}`);
}

export async function checkReverseDns(input: HostCheckInput): Promise<DoctorCheck[]> {
  const rows = rowMaker(input.hostname, 'ptr');
  if (input.publicAddresses.length === 0) return [rows.warn(null, 'publicAddresses is not set, so reverse DNS cannot be checked', PUBLIC_ADDRESSES_FIX)];
  return Promise.all(input.publicAddresses.map((address) => addressRow(input, rows, address)));
}

export async function checkHostname(input: HostCheckInput): Promise<DoctorCheck[]> {
  const rows = rowMaker(input.hostname, 'hostname');
  const hostname = input.hostname;
  const [v4, v6] = await Promise.all([input.resolver.lookup(hostname, 'A'), input.resolver.lookup(hostname, 'AAAA')]);
  const addresses = [...(v4.kind === 'ok' ? v4.records : []), ...(v6.kind === 'ok' ? v6.records : [])];
  const firstV4 = input.publicAddresses.find((address) => isIP(address) === 4);
  const publishA = `${hostname}. IN A ${firstV4 ?? '<the public IPv4 address outpost sends from>'}`;
  if (addresses.length === 0) {
    const failed = [v4, v6].filter((result) => result.kind !== 'ok' && result.kind !== 'nxdomain' && result.kind !== 'nodata');
    const why = failed.length > 0 ? `lookup failed: ${failed.map(dnsProblem).join('; ')}` : 'no A or AAAA record';
    return [rows.fail(hostname, `${hostname} (the HELO name) does not resolve: ${why}; receivers reject HELO names that do not resolve`, publishA)];
  }
  const checks = [rows.ok(hostname, `resolves to ${addresses.join(', ')}`)];
  for (const address of input.publicAddresses) {
    if (isIP(address) === 0 || addresses.some((other) => sameAddress(other, address))) continue;
    checks.push(rows.warn(address, `${hostname} does not resolve to the public address ${address}`, `${hostname}. IN ${addressType(address)} ${address}`));
  }
  return checks;
}
