// The PROXY protocol header parser (haproxy doc/proxy-protocol.txt) on byte vectors: the spec's
// examples, headers captured from HAProxy 2.6 (send-proxy / send-proxy-v2), and broken ones.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseProxyHeader, PROXY_V2_MAX_LENGTH, PROXY_V2_SIGNATURE, type ProxyHeaderParse } from '../../src/server/proxy-header.js';

const ascii = (text: string): Buffer => Buffer.from(text, 'latin1');

/** A v2 header: signature, version/command byte, family/protocol byte, then the address block and TLVs. */
function v2(versionCommand: number, familyProtocol: number, ...blocks: (Buffer | number[])[]): Buffer {
  const body = Buffer.concat(blocks.map((block) => Buffer.from(block)));
  const fixed = Buffer.alloc(4);
  fixed.writeUInt8(versionCommand, 0);
  fixed.writeUInt8(familyProtocol, 1);
  fixed.writeUInt16BE(body.length, 2);
  return Buffer.concat([PROXY_V2_SIGNATURE, fixed, body]);
}

function ports(source: number, destination: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt16BE(source, 0);
  bytes.writeUInt16BE(destination, 2);
  return bytes;
}

function tlv(type: number, value: Buffer): Buffer {
  const head = Buffer.alloc(3);
  head.writeUInt8(type, 0);
  head.writeUInt16BE(value.length, 1);
  return Buffer.concat([head, value]);
}

const IPV4_BLOCK = Buffer.concat([Buffer.from([192, 168, 0, 1, 192, 168, 0, 11]), ports(56324, 443)]);
const IPV6_BLOCK = Buffer.concat([
  Buffer.from('20010db8000000000000000000000007', 'hex'),
  Buffer.from('20010db8000000000000000000000019', 'hex'),
  ports(40000, 25),
]);

function complete(parse: ProxyHeaderParse): Extract<ProxyHeaderParse, { kind: 'complete' }> {
  assert.equal(parse.kind, 'complete', JSON.stringify(parse));
  return parse as Extract<ProxyHeaderParse, { kind: 'complete' }>;
}

function problemOf(parse: ProxyHeaderParse): string {
  assert.equal(parse.kind, 'invalid', JSON.stringify(parse));
  return (parse as Extract<ProxyHeaderParse, { kind: 'invalid' }>).problem;
}

describe('PROXY v1', () => {
  it('reads the spec example (TCP4) and leaves what follows the CRLF alone', () => {
    const line = 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n';
    const parse = complete(parseProxyHeader(ascii(`${line}GET / HTTP/1.1\r\n`)));
    assert.equal(parse.headerBytes, line.length);
    assert.deepEqual(parse.header, {
      kind: 'proxied',
      version: 1,
      source: { address: '192.168.0.1', port: 56324 },
      destination: { address: '192.168.0.11', port: 443 },
    });
  });

  it('reads TCP6 as HAProxy 2.6 sends it (an IPv4-mapped destination)', () => {
    const parse = complete(parseProxyHeader(ascii('PROXY TCP6 2001:db8::7 ::ffff:127.0.0.1 33132 24002\r\nhi\r\n')));
    assert.deepEqual(parse.header, {
      kind: 'proxied',
      version: 1,
      source: { address: '2001:db8::7', port: 33132 },
      destination: { address: '::ffff:127.0.0.1', port: 24002 },
    });
  });

  it('takes UNKNOWN, short or with ignored fields up to the 107-byte worst case, as "no client address"', () => {
    const long = `PROXY UNKNOWN ${'ffff:'.repeat(7)}ffff ${'ffff:'.repeat(7)}ffff 65535 65535\r\n`;
    assert.equal(long.length, 107);
    for (const line of ['PROXY UNKNOWN\r\n', long, 'PROXY UNKNOWN whatever the sender wrote\r\n']) {
      const parse = complete(parseProxyHeader(ascii(`${line}EHLO x\r\n`)));
      assert.deepEqual(parse.header, { kind: 'local', version: 1, why: 'unknown-protocol' });
      assert.equal(parse.headerBytes, line.length);
    }
  });

  it('takes the longest TCP6 line (104 bytes)', () => {
    const full = `${'ffff:'.repeat(7)}ffff`;
    const line = `PROXY TCP6 ${full} ${full} 65535 65535\r\n`;
    assert.equal(line.length, 104);
    assert.equal(complete(parseProxyHeader(ascii(line))).headerBytes, 104);
  });

  it('waits for more bytes on every proper prefix of a header', () => {
    const line = 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n';
    for (let length = 1; length < line.length; length += 1) {
      assert.deepEqual(parseProxyHeader(ascii(line.slice(0, length))), { kind: 'incomplete' }, `prefix of ${length}`);
    }
  });

  const malformed: [string, string, RegExp][] = [
    ['no CRLF within 107 bytes', `PROXY UNKNOWN ${'x'.repeat(100)}`, /no CRLF within 107 bytes/],
    ['a CRLF at bytes 107-108', `PROXY UNKNOWN ${'x'.repeat(92)}\r\n`, /no CRLF within 107 bytes/],
    ['a bare LF', 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\n', /bare LF/],
    ['a bare CR', 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\rX', /bare CR/],
    ['two spaces', 'PROXY TCP4  192.168.0.1 192.168.0.11 56324 443\r\n', /not an IPv4 address|6 fields/],
    ['a missing port', 'PROXY TCP4 192.168.0.1 192.168.0.11 56324\r\n', /6 fields/],
    ['an extra field', 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443 1\r\n', /6 fields/],
    ['a trailing space', 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443 \r\n', /6 fields/],
    ['an unknown protocol', 'PROXY TCP5 192.168.0.1 192.168.0.11 56324 443\r\n', /unknown protocol "TCP5"/],
    ['a lowercase keyword', 'proxy TCP4 192.168.0.1 192.168.0.11 56324 443\r\n', /not a PROXY protocol header/],
    ['leading zeros in an address', 'PROXY TCP4 192.168.0.01 192.168.0.11 56324 443\r\n', /"192\.168\.0\.01", not an IPv4 address/],
    ['an IPv6 address under TCP4', 'PROXY TCP4 2001:db8::1 192.168.0.11 56324 443\r\n', /not an IPv4 address/],
    ['an IPv4 address under TCP6', 'PROXY TCP6 192.168.0.1 2001:db8::1 56324 443\r\n', /not an IPv6 address/],
    ['an IPv6 zone', 'PROXY TCP6 fe80::1%eth0 2001:db8::1 56324 443\r\n', /not an IPv6 address/],
    ['a port with a leading zero', 'PROXY TCP4 192.168.0.1 192.168.0.11 056324 443\r\n', /port/],
    ['a port over 65535', 'PROXY TCP4 192.168.0.1 192.168.0.11 65536 443\r\n', /port/],
    ['a signed port', 'PROXY TCP4 192.168.0.1 192.168.0.11 +1 443\r\n', /port/],
  ];
  for (const [what, text, problem] of malformed) {
    it(`refuses ${what}`, () => assert.match(problemOf(parseProxyHeader(ascii(text))), problem));
  }
});

describe('PROXY v2', () => {
  it('reads TCP over IPv4 and leaves what follows the header alone', () => {
    const header = v2(0x21, 0x11, IPV4_BLOCK);
    const parse = complete(parseProxyHeader(Buffer.concat([header, ascii('EHLO client.example\r\n')])));
    assert.equal(parse.headerBytes, 16 + 12);
    assert.deepEqual(parse.header, {
      kind: 'proxied',
      version: 2,
      source: { address: '192.168.0.1', port: 56324 },
      destination: { address: '192.168.0.11', port: 443 },
    });
  });

  it('reads the header HAProxy 2.6 sent with send-proxy-v2 for client 203.0.113.9', () => {
    const captured = Buffer.from('0d0a0d0a000d0a515549540a2111000ccb00710 97f0000018d0a5dc1'.replace(/\s/g, ''), 'hex');
    const parse = complete(parseProxyHeader(Buffer.concat([captured, ascii('hi\r\n')])));
    assert.equal(parse.headerBytes, 28);
    assert.deepEqual(parse.header, {
      kind: 'proxied',
      version: 2,
      source: { address: '203.0.113.9', port: 36106 },
      destination: { address: '127.0.0.1', port: 24001 },
    });
  });

  it('reads TCP over IPv6 (RFC 5952 text, IPv4-mapped as ::ffff:a.b.c.d)', () => {
    assert.deepEqual(complete(parseProxyHeader(v2(0x21, 0x21, IPV6_BLOCK))).header, {
      kind: 'proxied',
      version: 2,
      source: { address: '2001:db8::7', port: 40000 },
      destination: { address: '2001:db8::19', port: 25 },
    });
    const mapped = Buffer.concat([Buffer.from('00000000000000000000ffffcb007109', 'hex'), Buffer.from('20010db8000100000000000000000000', 'hex'), ports(1, 2)]);
    const header = complete(parseProxyHeader(v2(0x21, 0x21, mapped))).header;
    assert.equal(header.kind === 'proxied' ? `${header.source.address} ${header.destination.address}` : '', '::ffff:203.0.113.9 2001:db8:1::');
  });

  it('skips TLVs (NOOP, AUTHORITY, a vendor type) inside the announced length', () => {
    const header = v2(0x21, 0x11, IPV4_BLOCK, tlv(0x04, Buffer.alloc(5)), tlv(0x02, ascii('mail.example.org')), tlv(0xea, Buffer.from([1, 2, 3])));
    const parse = complete(parseProxyHeader(Buffer.concat([header, ascii('EHLO x\r\n')])));
    assert.equal(parse.headerBytes, header.length);
    assert.equal(parse.header.kind, 'proxied');
  });

  it('takes LOCAL (a health check) with or without an address block, whatever the family byte says', () => {
    for (const header of [v2(0x20, 0x00), v2(0x20, 0x11, IPV4_BLOCK), v2(0x20, 0xff, [1, 2, 3])]) {
      const parse = complete(parseProxyHeader(Buffer.concat([header, ascii('QUIT\r\n')])));
      assert.deepEqual(parse.header, { kind: 'local', version: 2, why: 'local-command' });
      assert.equal(parse.headerBytes, header.length);
    }
  });

  it('takes PROXY with AF_UNSPEC as "no client address", like v1 UNKNOWN', () => {
    assert.deepEqual(complete(parseProxyHeader(v2(0x21, 0x00, [9, 9, 9]))).header, { kind: 'local', version: 2, why: 'unknown-protocol' });
  });

  it('waits for more bytes on every proper prefix, TLVs included', () => {
    const header = v2(0x21, 0x21, IPV6_BLOCK, tlv(0x05, Buffer.alloc(20, 7)));
    for (let length = 1; length < header.length; length += 1) {
      assert.deepEqual(parseProxyHeader(header.subarray(0, length)), { kind: 'incomplete' }, `prefix of ${length}`);
    }
  });

  it('refuses an oversized length as soon as the 16 fixed bytes are in', () => {
    const fixed = v2(0x21, 0x11).subarray(0, 16);
    fixed.writeUInt16BE(PROXY_V2_MAX_LENGTH + 1, 14);
    assert.match(problemOf(parseProxyHeader(fixed)), /too long \(2049 bytes/);
    fixed.writeUInt16BE(0xffff, 14);
    assert.match(problemOf(parseProxyHeader(fixed)), /too long/);
    fixed.writeUInt16BE(PROXY_V2_MAX_LENGTH, 14);
    assert.deepEqual(parseProxyHeader(fixed), { kind: 'incomplete' });
  });

  const malformed: [string, Buffer, RegExp][] = [
    ['a wrong signature byte', Buffer.concat([Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0b]), Buffer.alloc(4)]), /bad v2 signature/],
    ['a CRLF that is not the signature', ascii('\r\nQUIT\r\n'), /bad v2 signature/],
    ['version 1 in the binary form', v2(0x11, 0x11, IPV4_BLOCK), /version 1 \(2 expected\)/],
    ['version 3', v2(0x31, 0x11, IPV4_BLOCK), /version 3/],
    ['command 2', v2(0x22, 0x11, IPV4_BLOCK), /unknown command 2/],
    ['family 4', v2(0x21, 0x41, IPV4_BLOCK), /unknown family\/protocol 0x41/],
    ['protocol 3', v2(0x21, 0x13, IPV4_BLOCK), /unknown family\/protocol 0x13/],
    ['UDP over IPv4', v2(0x21, 0x12, IPV4_BLOCK), /0x12 \(only TCP/],
    ['UDP over IPv6', v2(0x21, 0x22, IPV6_BLOCK), /0x22 \(only TCP/],
    ['a UNIX stream', v2(0x21, 0x31, Buffer.alloc(216)), /0x31 \(only TCP/],
    ['an IPv4 block of 11 bytes', v2(0x21, 0x11, IPV4_BLOCK.subarray(0, 11)), /too short for IPv4 addresses \(11 < 12/],
    ['an IPv6 block of 35 bytes', v2(0x21, 0x21, IPV6_BLOCK.subarray(0, 35)), /too short for IPv6 addresses/],
    ['a truncated TLV head', v2(0x21, 0x11, IPV4_BLOCK, [0x04, 0x00]), /truncated TLV/],
    ['a TLV longer than the header', v2(0x21, 0x11, IPV4_BLOCK, [0x04, 0x00, 0x09, 1, 2]), /TLV longer than the header/],
  ];
  for (const [what, bytes, problem] of malformed) {
    it(`refuses ${what}`, () => assert.match(problemOf(parseProxyHeader(bytes)), problem));
  }
});

describe('no PROXY header at all', () => {
  const direct: [string, Buffer][] = [
    ['an SMTP client talking first', ascii('EHLO client.example\r\n')],
    ['a TLS ClientHello', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])],
    ['an HTTP request', ascii('GET / HTTP/1.1\r\n')],
    ['one wrong byte', ascii('Q')],
    ['PROXY without its space', ascii('PROXY\r\n')],
  ];
  for (const [what, bytes] of direct) {
    it(`refuses ${what} at once, without waiting for more`, () => assert.match(problemOf(parseProxyHeader(bytes)), /not a PROXY protocol header/));
  }

  it('waits on nothing', () => assert.deepEqual(parseProxyHeader(Buffer.alloc(0)), { kind: 'incomplete' }));
});
