// The machine's default gateways, read from the Linux route tables (/proc/net/route,
// /proc/net/ipv6_route). In a Docker container that is the bridge's address (e.g. 172.17.0.1),
// which published ports can make every outside client appear to come from.

import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { formatIpv6Bytes } from './network.js';

/** The default gateway addresses (IPv4 and IPv6); empty without a default route or on other systems. */
export type GatewayReader = () => Promise<readonly string[]>;

/** route(8) flags: RTF_UP, RTF_GATEWAY; RTF_REJECT marks an unreachable route. */
const RTF_UP = 0x0001;
const RTF_GATEWAY = 0x0002;
const RTF_REJECT = 0x0200;

function isUsableGatewayRoute(flags: number): boolean {
  return (flags & RTF_UP) !== 0 && (flags & RTF_GATEWAY) !== 0 && (flags & RTF_REJECT) === 0;
}

/**
 * /proc/net/route: a header line, then "Iface Destination Gateway Flags RefCnt Use Metric Mask ...",
 * addresses as 8 hex digits of the kernel's 32-bit value (host byte order: reversed on little-endian).
 */
export function ipv4DefaultGateways(text: string, littleEndian = endianness() === 'LE'): string[] {
  const gateways: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    const [, destination, gateway, flags, , , , mask] = line.trim().split(/\s+/);
    if (destination !== '00000000' || mask !== '00000000' || gateway === undefined || !/^[0-9A-Fa-f]{8}$/.test(gateway)) continue;
    if (!isUsableGatewayRoute(Number.parseInt(flags ?? '0', 16))) continue;
    const bytes = Buffer.from(gateway, 'hex');
    const address = [...(littleEndian ? bytes.reverse() : bytes)].join('.');
    if (address !== '0.0.0.0' && !gateways.includes(address)) gateways.push(address);
  }
  return gateways;
}

/**
 * /proc/net/ipv6_route: "destination prefix source prefix next-hop metric refcnt use flags iface",
 * addresses as 32 hex digits in network order. A default route is ::/0 with a next hop.
 */
export function ipv6DefaultGateways(text: string): string[] {
  const gateways: string[] = [];
  for (const line of text.split('\n')) {
    const [destination, prefix, , , nextHop, , , , flags, iface] = line.trim().split(/\s+/);
    if (destination !== '0'.repeat(32) || prefix !== '00' || iface === 'lo' || nextHop === undefined || !/^[0-9a-fA-F]{32}$/.test(nextHop)) continue;
    if (nextHop === '0'.repeat(32) || !isUsableGatewayRoute(Number.parseInt(flags ?? '0', 16))) continue;
    const address = formatIpv6Bytes(Buffer.from(nextHop, 'hex'));
    if (!gateways.includes(address)) gateways.push(address);
  }
  return gateways;
}

/** Reads both route tables with `readText` (a missing or unreadable table means no gateway of that family). */
export function systemGatewayReader(readText: (path: string) => Promise<string> = (path) => readFile(path, 'utf8')): GatewayReader {
  const read = (path: string): Promise<string> => readText(path).catch(() => '');
  return async () => [...ipv4DefaultGateways(await read('/proc/net/route')), ...ipv6DefaultGateways(await read('/proc/net/ipv6_route'))];
}
