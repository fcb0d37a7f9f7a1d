// IP address helpers: CIDR parsing and membership (via node:net BlockList),
// the unmapping of IPv4-mapped IPv6 addresses from dual-stack sockets, and
// IPv6 addresses from their 16 bytes as text (RFC 5952).

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

/** Answers remembered per address by a NetworkSet (its networks never change); forgotten all at once when full. */
const MAX_REMEMBERED_ADDRESSES = 4096;

/** A set of networks that answers whether an address belongs to any of them. */
export class NetworkSet {
  private readonly blockList = new BlockList();
  /** A client address is asked about at every connection: BlockList.check is not free. */
  private readonly answers = new Map<string, boolean>();

  constructor(cidrs: readonly Cidr[]) {
    for (const cidr of cidrs) this.blockList.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }

  contains(address: string): boolean {
    const known = this.answers.get(address);
    if (known !== undefined) return known;
    const answer = this.check(address);
    if (this.answers.size >= MAX_REMEMBERED_ADDRESSES) this.answers.clear();
    this.answers.set(address, answer);
    return answer;
  }

  private check(address: string): boolean {
    const plain = unmapIpv4(address);
    const version = isIP(plain);
    if (version === 0) return false;
    return this.blockList.check(plain, version === 4 ? 'ipv4' : 'ipv6');
  }
}

/** 16 bytes (network order) -> RFC 5952 text: lowercase, the longest run of two or more zero groups as "::", IPv4-mapped as ::ffff:a.b.c.d. */
export function formatIpv6Bytes(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError(`an IPv6 address has 16 bytes, not ${bytes.length}`);
  if (bytes.subarray(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${[...bytes.subarray(12)].join('.')}`;
  const groups = Array.from({ length: 8 }, (_, index) => ((bytes[index * 2] ?? 0) << 8) | (bytes[index * 2 + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; ) {
    let end = start;
    while (end < 8 && groups[end] === 0) end += 1;
    if (end - start > bestLength) [bestStart, bestLength] = [start, end - start];
    start = end === start ? start + 1 : end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
