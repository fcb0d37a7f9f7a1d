// A mail host's addresses: A and (with IPv6 on) AAAA looked up together and
// interleaved IPv4-first (RFC 5321 §5.1 "resolve to address records"); an IP
// literal stands for itself. Secure when every answer was (RFC 7672 §2.2.2).

import { isIP } from 'node:net';
import type { Resolver } from './resolver.js';
import type { DnsResult } from './types.js';

export type HostAddresses =
  | {
      readonly kind: 'addresses';
      readonly addresses: readonly string[];
      readonly ttlSeconds: number;
      /**
       * DNSSEC-secure: every lookup that answered (records or a denial) was secure. A lookup that
       * failed does not count: a validating resolver answers SERVFAIL for bogus data, never "insecure".
       */
      readonly secure: boolean;
    }
  /** No address: `temporary` when a lookup failed rather than answered "none". */
  | { readonly kind: 'none'; readonly temporary: boolean; readonly reason: string };

function isTemporary(result: DnsResult<'A' | 'AAAA'>): boolean {
  return result.kind === 'servfail' || result.kind === 'timeout' || result.kind === 'refused';
}

function interleave(first: readonly string[], second: readonly string[]): string[] {
  const merged: string[] = [];
  for (let index = 0; index < Math.max(first.length, second.length); index += 1) {
    const a = first[index];
    const b = second[index];
    if (a !== undefined) merged.push(a);
    if (b !== undefined) merged.push(b);
  }
  return merged;
}

function describe(host: string, result: DnsResult<'A' | 'AAAA'>): string {
  return result.kind === 'ok' ? `${host}: ok` : `${host}: ${result.kind}${'reason' in result ? ` (${result.reason})` : ''}`;
}

export async function hostAddresses(resolver: Resolver, host: string, ipv6: boolean): Promise<HostAddresses> {
  if (isIP(host) !== 0) return { kind: 'addresses', addresses: [host], ttlSeconds: Number.POSITIVE_INFINITY, secure: false };
  const [v4, v6] = await Promise.all([resolver.lookup(host, 'A'), ipv6 ? resolver.lookup(host, 'AAAA') : undefined]);
  const results = v6 === undefined ? [v4] : [v4, v6];
  const v4Addresses = v4.kind === 'ok' ? v4.records : [];
  const v6Addresses = v6?.kind === 'ok' ? v6.records : [];
  const addresses = [...new Set(interleave(v4Addresses, v6Addresses))];
  if (addresses.length > 0) {
    const ttls = results.flatMap((result) => (result.kind === 'ok' ? [result.ttlSeconds] : []));
    const secure = results.every((result) => isTemporary(result) || ('secure' in result && result.secure));
    return { kind: 'addresses', addresses, ttlSeconds: Math.min(...ttls), secure };
  }
  return { kind: 'none', temporary: results.some(isTemporary), reason: results.map((result) => describe(host, result)).join('; ') };
}
