// Who "we" are for the next-hop loop guard (RFC 5321 §5.1: a host must not
// deliver to itself): the hostname, plus listen addresses with wildcard ones
// expanded to the machine's interface addresses.

import { networkInterfaces } from 'node:os';
import type { SelfIdentity } from './next-hop-rules.js';

export interface ListenEndpoint {
  readonly address: string;
  readonly port: number;
}

/** Addresses of this machine's interfaces (IPv4 and IPv6, loopback included). */
export function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address));
}

export function selfIdentity(hostname: string, listeners: readonly ListenEndpoint[], localAddresses: readonly string[]): SelfIdentity {
  const endpoints = listeners.flatMap((listener) => {
    if (listener.address === '0.0.0.0') return localAddresses.filter((address) => !address.includes(':')).map((address) => ({ address, port: listener.port }));
    if (listener.address === '::') return localAddresses.map((address) => ({ address, port: listener.port }));
    return [{ address: listener.address, port: listener.port }];
  });
  return { hostnames: [hostname], endpoints };
}
