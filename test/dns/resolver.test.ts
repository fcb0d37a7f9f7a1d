// The caching stub resolver against the in-process test DNS server over real
// UDP/TCP sockets: record types, result kinds, CNAME chains, AD flag.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { resolverFor } from '../helpers/dns-resolver-setup.js';

const zones = {
  'example.net': { MX: [{ preference: 10, exchange: 'mx1.example.net' }], A: ['127.0.0.10'], ttl: 600 },
  'mx1.example.net': { A: ['127.0.0.2'], AAAA: ['::1'], ttl: 120 },
  'txt.example.net': { TXT: ['v=spf1 -all', ['part one ', 'part two']] },
  '_25._tcp.mx1.example.net': { TLSA: [{ usage: 3, selector: 1, matchingType: 1, certificate: Buffer.from('abcd', 'hex') }] },
  'zone.example': { SOA: { mname: 'ns.zone.example', rname: 'admin.zone.example', serial: 7, refresh: 1, retry: 2, expire: 3, minimum: 30 }, ttl: 900 },
  'www.zone.example': { A: ['127.0.0.20'] },
  'alias.example.net': { CNAME: 'mid.example.net', ttl: 50 },
  'mid.example.net': { CNAME: 'mx1.example.net', ttl: 70 },
  'outside.example.net': { CNAME: 'elsewhere.example.org' },
  'sub.deep.example.net': { A: ['127.0.0.30'] },
  'poison.example.net': { TXT: ['x'] },
  ...Object.fromEntries(Array.from({ length: 10 }, (_, index) => [`hop${index}.example.net`, { CNAME: `hop${index + 1}.example.net` }])),
  'hop10.example.net': { A: ['127.0.0.40'] },
};

describe('caching resolver', () => {
  let server: TestDnsServer;
  let other: TestDnsServer;

  before(async () => {
    server = await startDnsServer({
      zones,
      faults: {
        'fail.example.net': { kind: 'servfail' },
        'refuse.example.net': { kind: 'refused' },
        'gone.example.net': { kind: 'nxdomain' },
        'loop.example.net': { kind: 'cname-loop' },
        'elsewhere.example.org': { kind: 'refused' },
        'poison.example.net': { kind: 'extra-answer', record: { type: 'A', name: 'mx1.example.net', ttl: 9999, data: '127.0.0.66' } },
      },
    });
    other = await startDnsServer({ zones: { 'elsewhere.example.org': { A: ['127.0.0.50'] } }, authenticated: true });
  });
  after(async () => {
    await server.close();
    await other.close();
  });

  it('returns A records with their TTL and the canonical name', async () => {
    const { resolver } = resolverFor([server]);
    assert.deepEqual(await resolver.lookup('MX1.Example.NET.', 'A'), { kind: 'ok', records: ['127.0.0.2'], ttlSeconds: 120, canonicalName: 'mx1.example.net', authenticated: false, secure: false });
  });

  it('decodes AAAA, MX, TXT, TLSA and SOA records', async () => {
    const { resolver } = resolverFor([server]);
    const aaaa = await resolver.lookup('mx1.example.net', 'AAAA');
    assert.deepEqual(aaaa.kind === 'ok' && aaaa.records, ['::1']);
    const mx = await resolver.lookup('example.net', 'MX');
    assert.deepEqual(mx.kind === 'ok' && mx.records, [{ preference: 10, exchange: 'mx1.example.net' }]);
    const txt = await resolver.lookup('txt.example.net', 'TXT');
    assert.deepEqual(txt.kind === 'ok' && txt.records, [['v=spf1 -all'], ['part one ', 'part two']]);
    const tlsa = await resolver.lookup('_25._tcp.mx1.example.net', 'TLSA');
    assert.deepEqual(tlsa.kind === 'ok' && tlsa.records, [{ usage: 3, selector: 1, matchingType: 1, certificateData: Uint8Array.from([0xab, 0xcd]) }]);
    const soa = await resolver.lookup('zone.example', 'SOA');
    assert.equal(soa.kind === 'ok' && soa.records[0]?.minimum, 30);
  });

  it('sends RD, AD and an EDNS0 OPT record, over UDP', async () => {
    const { resolver } = resolverFor([server]);
    const before_ = server.queries.length;
    await resolver.lookup('sub.deep.example.net', 'A');
    const query = server.queries[before_];
    assert.equal(query?.transport, 'udp');
    assert.equal(query?.edns, true);
    assert.equal((query?.flags ?? 0) & 0x0100, 0x0100);
    assert.equal((query?.flags ?? 0) & 0x0020, 0x0020);
  });

  it('tells NXDOMAIN from NODATA, with the negative TTL min(SOA TTL, MINIMUM)', async () => {
    const { resolver } = resolverFor([server]);
    assert.deepEqual(await resolver.lookup('nothere.zone.example', 'A'), { kind: 'nxdomain', ttlSeconds: 30, canonicalName: 'nothere.zone.example', authenticated: false, secure: false });
    assert.deepEqual(await resolver.lookup('www.zone.example', 'MX'), { kind: 'nodata', ttlSeconds: 30, canonicalName: 'www.zone.example', authenticated: false, secure: false });
    assert.equal((await resolver.lookup('deep.example.net', 'A')).kind, 'nodata', 'an empty non-terminal has no data but exists');
    assert.equal((await resolver.lookup('gone.example.net', 'MX')).kind, 'nxdomain');
  });

  it('reports SERVFAIL and REFUSED as values', async () => {
    const { resolver } = resolverFor([server]);
    assert.equal((await resolver.lookup('fail.example.net', 'MX')).kind, 'servfail');
    assert.equal((await resolver.lookup('refuse.example.net', 'MX')).kind, 'refused');
  });

  it('follows a CNAME chain inside one answer; the TTL is the smallest on the chain', async () => {
    const { resolver } = resolverFor([server]);
    assert.deepEqual(await resolver.lookup('alias.example.net', 'A'), { kind: 'ok', records: ['127.0.0.2'], ttlSeconds: 50, canonicalName: 'mx1.example.net', authenticated: false, secure: false });
    const cname = await resolver.lookup('alias.example.net', 'CNAME');
    assert.deepEqual(cname.kind === 'ok' && cname.records, ['mid.example.net']);
  });

  it('asks again for a CNAME target the server did not chase, and ANDs the AD flags', async () => {
    const both = resolverFor([server, other]);
    // The first server refuses elsewhere.example.org, so the client moves on to the second.
    const result = await both.resolver.lookup('outside.example.net', 'A');
    assert.equal(result.kind, 'ok');
    assert.deepEqual(result.kind === 'ok' && [result.records, result.canonicalName, result.authenticated], [['127.0.0.50'], 'elsewhere.example.org', false]);
    const authenticated = await resolverFor([other]).resolver.lookup('elsewhere.example.org', 'A');
    assert.equal(authenticated.kind === 'ok' && authenticated.authenticated, true);
  });

  it('detects CNAME loops and over-long chains', async () => {
    const { resolver } = resolverFor([server]);
    const loop = await resolver.lookup('loop.example.net', 'A');
    assert.equal(loop.kind, 'servfail');
    assert.match(loop.kind === 'servfail' ? loop.reason : '', /CNAME loop/);
    const long = await resolver.lookup('hop0.example.net', 'A');
    assert.equal(long.kind, 'servfail');
    assert.match(long.kind === 'servfail' ? long.reason : '', /longer than 8/);
    assert.equal((await resolver.lookup('hop3.example.net', 'A')).kind, 'ok', 'seven hops are fine');
  });

  it('drops answer records off the CNAME chain and does not cache them', async () => {
    const { resolver } = resolverFor([server]);
    const poisoned = await resolver.lookup('poison.example.net', 'MX');
    assert.equal(poisoned.kind, 'nodata');
    const victim = await resolver.lookup('mx1.example.net', 'A');
    assert.deepEqual(victim.kind === 'ok' && victim.records, ['127.0.0.2']);
  });

  it('rejects names that cannot be asked without sending anything', async () => {
    const { resolver } = resolverFor([server]);
    const count = server.queries.length;
    assert.equal((await resolver.lookup('bad name.example', 'A')).kind, 'servfail');
    assert.equal((await resolver.lookup(`${'a'.repeat(64)}.example`, 'A')).kind, 'servfail');
    assert.equal(server.queries.length, count);
  });
});
