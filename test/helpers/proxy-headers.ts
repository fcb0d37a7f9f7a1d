// Test helper (not a test): PROXY protocol headers as a load balancer writes them
// (haproxy doc/proxy-protocol.txt), built byte by byte from the spec's layout.

import { isIPv4 } from 'node:net';

const SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** v1: "PROXY TCP4|TCP6 source destination sport dport\r\n". */
export function proxyV1(source: string, destination = '127.0.0.1', sourcePort = 40000, destinationPort = 25): Buffer {
  const family = isIPv4(source) ? 'TCP4' : 'TCP6';
  return Buffer.from(`PROXY ${family} ${source} ${destination} ${sourcePort} ${destinationPort}\r\n`, 'latin1');
}

/** "2001:db8::7" -> its 16 bytes (no embedded IPv4 form). */
function ipv6Bytes(address: string): Buffer {
  const [head = '', tail] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, index) => bytes.writeUInt16BE(Number.parseInt(group, 16), index * 2));
  return bytes;
}

function addressBytes(address: string): Buffer {
  return isIPv4(address) ? Buffer.from(address.split('.').map(Number)) : ipv6Bytes(address);
}

/** v2 PROXY over TCP for `source` (IPv4 or IPv6; the destination of the same family), optional TLV bytes after. */
export function proxyV2(source: string, destination = isIPv4(source) ? '127.0.0.1' : '::1', tlvs: Buffer = Buffer.alloc(0)): Buffer {
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(40000, 0);
  ports.writeUInt16BE(25, 2);
  const block = Buffer.concat([addressBytes(source), addressBytes(destination), ports, tlvs]);
  return Buffer.concat([SIGNATURE, fixedPart(0x21, isIPv4(source) ? 0x11 : 0x21, block.length), block]);
}

/** v2 LOCAL: the balancer's own connection (a health check). */
export function proxyV2Local(): Buffer {
  return Buffer.concat([SIGNATURE, fixedPart(0x20, 0x00, 0)]);
}

function fixedPart(versionCommand: number, familyProtocol: number, length: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt8(versionCommand, 0);
  bytes.writeUInt8(familyProtocol, 1);
  bytes.writeUInt16BE(length, 2);
  return bytes;
}
