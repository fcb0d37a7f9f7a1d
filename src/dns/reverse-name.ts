// IP addresses as bytes, and their reverse-mapping names: in-addr.arpa
// (RFC 1035 §3.5) and the nibble form under ip6.arpa (RFC 3596 §2.5).

import { isIP } from 'node:net';

function ipv4Bytes(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255)) return undefined;
  return parts.map(Number);
}

function groupBytes(groups: readonly string[]): number[] | undefined {
  const bytes: number[] = [];
  for (const group of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return undefined;
    const value = parseInt(group, 16);
    bytes.push(value >> 8, value & 0xff);
  }
  return bytes;
}

function ipv6Bytes(text: string): number[] | undefined {
  const zoneless = text.split('%')[0] ?? '';
  let head = zoneless;
  let tail: number[] = [];
  const lastColon = zoneless.lastIndexOf(':');
  if (zoneless.slice(lastColon + 1).includes('.')) {
    const v4 = ipv4Bytes(zoneless.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = v4;
    head = `${zoneless.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const split = (part: string | undefined): string[] => (part === undefined || part === '' ? [] : part.split(':'));
  const left = groupBytes(split(halves[0]));
  const right = groupBytes(split(halves[1]));
  if (left === undefined || right === undefined) return undefined;
  const missing = 16 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 2) return undefined;
  const bytes = [...left, ...new Array<number>(missing).fill(0), ...right];
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** The 4 or 16 bytes of an IPv4 or IPv6 address; undefined when `address` is not one. */
export function addressBytes(address: string): Uint8Array | undefined {
  const version = isIP(address);
  const bytes = version === 4 ? ipv4Bytes(address) : version === 6 ? ipv6Bytes(address) : undefined;
  return bytes === undefined ? undefined : Uint8Array.from(bytes);
}

/** Whether two address texts name the same address ("2001:db8::1" = "2001:DB8:0::1"). */
export function sameAddress(a: string, b: string): boolean {
  const left = addressBytes(a);
  const right = addressBytes(b);
  return left !== undefined && right !== undefined && left.length === right.length && left.every((byte, index) => byte === right[index]);
}

/** `192.0.2.1` -> `1.2.0.192.in-addr.arpa`; IPv6 as 32 reversed nibbles under `ip6.arpa`; undefined for non-addresses. */
export function reverseName(address: string): string | undefined {
  const bytes = addressBytes(address);
  if (bytes === undefined) return undefined;
  if (bytes.length === 4) return `${[...bytes].reverse().join('.')}.in-addr.arpa`;
  const nibbles = [...bytes].flatMap((byte) => [(byte >> 4).toString(16), (byte & 0xf).toString(16)]);
  return `${nibbles.reverse().join('.')}.ip6.arpa`;
}
