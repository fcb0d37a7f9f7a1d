// IP address helpers: CIDR parsing and membership (via node:net BlockList),
// and the unmapping of IPv4-mapped IPv6 addresses from dual-stack sockets.

import { BlockList, isIP } from 'node:net';

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** Parses "a.b.c.d/n", "x::y/n" or a bare address (a host route). */
export function parseCidr(text: string): Cidr | undefined {
  const [address = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return undefined;
  const version = isIP(address);
  if (version === 0) return undefined;
  const maxPrefix = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? maxPrefix : Number(prefixText);
  if (prefix > maxPrefix) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** "::ffff:127.0.0.1" -> "127.0.0.1"; other addresses unchanged. */
export function unmapIpv4(address: string): string {
  const match = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return match?.[1] ?? address;
}

/** A set of networks that answers whether an address belongs to any of them. */
export class NetworkSet {
  private readonly blockList = new BlockList();

  constructor(cidrs: readonly Cidr[]) {
    for (const cidr of cidrs) this.blockList.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }

  contains(address: string): boolean {
    const plain = unmapIpv4(address);
    const version = isIP(plain);
    if (version === 0) return false;
    return this.blockList.check(plain, version === 4 ? 'ipv4' : 'ipv6');
  }
}
