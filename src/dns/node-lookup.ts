// net's `lookup` hook backed by outpost's resolver, so node:https clients (MTA-STS
// policy fetches, TLS report POSTs) resolve names as delivery does: A, and AAAA
// when IPv6 is on; one address, or all when asked; a family when asked.

import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { hostAddresses } from './host-addresses.js';
import type { Resolver } from './resolver.js';

export type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

export type NodeLookup = (hostname: string, options: LookupOptions, callback: LookupCallback) => void;

export function resolverLookup(resolver: Resolver, ipv6: boolean): NodeLookup {
  return (hostname, options, callback) => {
    const wanted = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (options.family ?? 0);
    void hostAddresses(resolver, hostname, ipv6).then((found) => {
      const all = found.kind === 'addresses' ? found.addresses.map((address) => ({ address, family: isIP(address) })) : [];
      const addresses = all.filter(({ family }) => wanted === 0 || family === wanted);
      const first = addresses[0];
      if (first === undefined) {
        const reason = found.kind === 'none' ? found.reason : 'no address of the asked family';
        callback(Object.assign(new Error(`cannot resolve ${hostname}: ${reason}`), { code: 'ENOTFOUND' }), '', 0);
      } else if (options.all === true) callback(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}
