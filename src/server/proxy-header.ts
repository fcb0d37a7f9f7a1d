// The PROXY protocol header, versions 1 (text) and 2 (binary), as a load balancer prepends it to a
// connection to carry the client's address (haproxy doc/proxy-protocol.txt §2.1, §2.2). Pure: bytes in,
// verdict out; the caller reads the socket and calls again with more bytes while the answer is 'incomplete'.

import { isIPv4, isIPv6 } from 'node:net';
import { formatIpv6Bytes } from '../core/network.js';

/** §2.1: the longest v1 line, CRLF included ("PROXY UNKNOWN" + two IPv6 addresses and ports). */
export const PROXY_V1_MAX_BYTES = 107;
/** §2.2: the 12-byte v2 signature, then version/command, family/protocol and a 16-bit length. */
export const PROXY_V2_SIGNATURE: Readonly<Buffer> = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
export const PROXY_V2_FIXED_BYTES = 16;
/**
 * Largest v2 address block plus TLVs we take. The spec allows 65535; the addresses need at most 216
 * (AF_UNIX) and the TLVs balancers send (SSL, AWS/Azure/GCP ids, unique id) a few hundred bytes.
 */
export const PROXY_V2_MAX_LENGTH = 2048;

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const CR = 0x0d;
const LF = 0x0a;
const V2_COMMAND_LOCAL = 0x0;
const V2_COMMAND_PROXY = 0x1;
const V2_TCP_OVER_IPV4 = 0x11;
const V2_TCP_OVER_IPV6 = 0x21;
const V2_UNSPEC = 0x00;
const IPV4_BLOCK_BYTES = 12;
const IPV6_BLOCK_BYTES = 36;
const TLV_HEAD_BYTES = 3;

export interface ProxyEndpoint {
  readonly address: string;
  readonly port: number;
}

export type ProxyHeader =
  /** The connection was relayed for this client (v1 TCP4/TCP6, v2 PROXY over TCP). */
  | { readonly kind: 'proxied'; readonly version: 1 | 2; readonly source: ProxyEndpoint; readonly destination: ProxyEndpoint }
  /**
   * No client address: v2 LOCAL (the balancer's own health check), v1 UNKNOWN or v2 PROXY with
   * AF_UNSPEC (the balancer could not tell). The socket's own address stands (§2.1, §2.2).
   */
  | { readonly kind: 'local'; readonly version: 1 | 2; readonly why: 'local-command' | 'unknown-protocol' };

export type ProxyHeaderParse =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'invalid'; readonly problem: string }
  /** `headerBytes`: what the header took; the bytes after it belong to the proxied protocol. */
  | { readonly kind: 'complete'; readonly header: ProxyHeader; readonly headerBytes: number };

const INCOMPLETE: ProxyHeaderParse = Object.freeze({ kind: 'incomplete' });

function invalid(problem: string): ProxyHeaderParse {
  return { kind: 'invalid', problem };
}

/** True when `bytes` and `expected` agree on their common length. */
function agreesWith(bytes: Uint8Array, expected: Uint8Array): boolean {
  const length = Math.min(bytes.length, expected.length);
  for (let index = 0; index < length; index += 1) if (bytes[index] !== expected[index]) return false;
  return true;
}

/**
 * Judges the bytes received so far. Anything that cannot become a header is invalid at once (an SMTP
 * client talking directly, a TLS ClientHello): no guessing whether a header is there (§5).
 */
export function parseProxyHeader(bytes: Uint8Array): ProxyHeaderParse {
  if (bytes.length === 0) return INCOMPLETE;
  if (bytes[0] === PROXY_V2_SIGNATURE[0]) {
    if (!agreesWith(bytes, PROXY_V2_SIGNATURE)) return invalid('not a PROXY protocol header (bad v2 signature)');
    return bytes.length < PROXY_V2_FIXED_BYTES ? INCOMPLETE : parseV2(bytes);
  }
  if (!agreesWith(bytes, V1_PREFIX)) return invalid('not a PROXY protocol header');
  return bytes.length < V1_PREFIX.length ? INCOMPLETE : parseV1(bytes);
}

/** §2.1: one US-ASCII line of single-space separated fields, ended by CRLF within 107 bytes. */
function parseV1(bytes: Uint8Array): ProxyHeaderParse {
  const searched = Math.min(bytes.length, PROXY_V1_MAX_BYTES);
  let end = -1;
  for (let index = 0; index < searched; index += 1) {
    if (bytes[index] === LF) return invalid('v1 header ends with a bare LF (CRLF required)');
    if (bytes[index] === CR) {
      end = index;
      break;
    }
  }
  if (end < 0) return bytes.length >= PROXY_V1_MAX_BYTES ? invalid(`v1 header has no CRLF within ${PROXY_V1_MAX_BYTES} bytes`) : INCOMPLETE;
  if (end + 1 >= PROXY_V1_MAX_BYTES) return invalid(`v1 header has no CRLF within ${PROXY_V1_MAX_BYTES} bytes`);
  if (end + 1 === bytes.length) return INCOMPLETE;
  if (bytes[end + 1] !== LF) return invalid('v1 header has a bare CR (CRLF required)');
  const headerBytes = end + 2;
  const fields = Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('latin1').split(' ');
  const [, protocol, source, destination, sourcePort, destinationPort, ...extra] = fields;
  // "UNKNOWN": the receiver ignores the rest of the line.
  if (protocol === 'UNKNOWN') return { kind: 'complete', header: { kind: 'local', version: 1, why: 'unknown-protocol' }, headerBytes };
  if (protocol !== 'TCP4' && protocol !== 'TCP6') return invalid(`v1 header has an unknown protocol ${JSON.stringify(protocol ?? '')} (TCP4, TCP6 or UNKNOWN)`);
  if (destinationPort === undefined || extra.length > 0) return invalid('v1 header does not have exactly 6 fields separated by single spaces');
  const isFamily = protocol === 'TCP4' ? isIPv4 : (text: string) => isIPv6(text) && !text.includes('%');
  for (const address of [source, destination]) {
    if (address === undefined || !isFamily(address)) return invalid(`v1 header has ${JSON.stringify(address ?? '')}, not an ${protocol === 'TCP4' ? 'IPv4' : 'IPv6'} address`);
  }
  const ports = [sourcePort, destinationPort].map(v1Port);
  const [sourcePortNumber, destinationPortNumber] = ports;
  if (sourcePortNumber === undefined || destinationPortNumber === undefined) return invalid('v1 header has a port that is not a number 0-65535 without leading zeros');
  return {
    kind: 'complete',
    header: {
      kind: 'proxied',
      version: 1,
      source: { address: source ?? '', port: sourcePortNumber },
      destination: { address: destination ?? '', port: destinationPortNumber },
    },
    headerBytes,
  };
}

/** A decimal port 0-65535, no leading zeros (§2.1: no octal confusion). */
function v1Port(text: string | undefined): number | undefined {
  if (text === undefined || !/^(0|[1-9]\d{0,4})$/.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

/** §2.2: signature, version 2 + command, family + protocol, length, addresses, then TLVs (skipped). */
function parseV2(bytes: Uint8Array): ProxyHeaderParse {
  const versionCommand = bytes[12] ?? 0;
  const familyProtocol = bytes[13] ?? 0;
  const length = ((bytes[14] ?? 0) << 8) | (bytes[15] ?? 0);
  if (versionCommand >> 4 !== 2) return invalid(`v2 header has version ${versionCommand >> 4} (2 expected)`);
  const command = versionCommand & 0x0f;
  if (command !== V2_COMMAND_LOCAL && command !== V2_COMMAND_PROXY) return invalid(`v2 header has an unknown command ${command}`);
  if (length > PROXY_V2_MAX_LENGTH) return invalid(`v2 header is too long (${length} bytes of addresses and TLVs, at most ${PROXY_V2_MAX_LENGTH})`);
  const headerBytes = PROXY_V2_FIXED_BYTES + length;
  if (bytes.length < headerBytes) return INCOMPLETE;
  // LOCAL: the balancer's own connection; the address block, family included, is ignored.
  if (command === V2_COMMAND_LOCAL) return { kind: 'complete', header: { kind: 'local', version: 2, why: 'local-command' }, headerBytes };
  if (familyProtocol >> 4 > 3 || (familyProtocol & 0x0f) > 2) return invalid(`v2 header has an unknown family/protocol 0x${familyProtocol.toString(16).padStart(2, '0')}`);
  if (familyProtocol === V2_UNSPEC) return { kind: 'complete', header: { kind: 'local', version: 2, why: 'unknown-protocol' }, headerBytes };
  if (familyProtocol !== V2_TCP_OVER_IPV4 && familyProtocol !== V2_TCP_OVER_IPV6) {
    return invalid(`v2 header relays family/protocol 0x${familyProtocol.toString(16).padStart(2, '0')} (only TCP over IPv4 or IPv6 carries an SMTP client)`);
  }
  const ipv4 = familyProtocol === V2_TCP_OVER_IPV4;
  const blockBytes = ipv4 ? IPV4_BLOCK_BYTES : IPV6_BLOCK_BYTES;
  if (length < blockBytes) return invalid(`v2 header is too short for ${ipv4 ? 'IPv4' : 'IPv6'} addresses (${length} < ${blockBytes} bytes)`);
  const block = Buffer.from(bytes.buffer, bytes.byteOffset + PROXY_V2_FIXED_BYTES, length);
  const tlvProblem = checkTlvs(block.subarray(blockBytes));
  if (tlvProblem !== undefined) return invalid(tlvProblem);
  const addressBytes = ipv4 ? 4 : 16;
  const format = ipv4 ? (address: Buffer) => [...address].join('.') : formatIpv6Bytes;
  const ports = block.subarray(2 * addressBytes);
  return {
    kind: 'complete',
    header: {
      kind: 'proxied',
      version: 2,
      source: { address: format(block.subarray(0, addressBytes)), port: ports.readUInt16BE(0) },
      destination: { address: format(block.subarray(addressBytes, 2 * addressBytes)), port: ports.readUInt16BE(2) },
    },
    headerBytes,
  };
}

/** §2.2: TLVs are type, 16-bit length, value; skipped, but they must fill the rest of the header exactly. */
function checkTlvs(tlvs: Buffer): string | undefined {
  let offset = 0;
  while (offset < tlvs.length) {
    if (offset + TLV_HEAD_BYTES > tlvs.length) return 'v2 header has a truncated TLV';
    offset += TLV_HEAD_BYTES + tlvs.readUInt16BE(offset + 1);
    if (offset > tlvs.length) return 'v2 header has a TLV longer than the header';
  }
  return undefined;
}
