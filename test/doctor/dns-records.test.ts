// The DNS additions the doctor needs: reverse-mapping names (RFC 1035 §3.5,
// RFC 3596 §2.5), address comparison, and PTR / SRV records through the resolver.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressBytes, reverseName, sameAddress } from '../../src/dns/reverse-name.js';
import { closeServersAfter, zoneFixture } from './fixtures.js';

closeServersAfter();

describe('reverse names', () => {
  const cases: [string, string | undefined][] = [
    ['192.0.2.1', '1.2.0.192.in-addr.arpa'],
    ['203.0.113.5', '5.113.0.203.in-addr.arpa'],
    ['2001:db8::1', '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa'],
    ['2001:DB8:0:0:0:0:CB01:0', '0.0.0.0.1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa'],
    ['::ffff:192.0.2.1', '1.0.2.0.0.0.0.c.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa'],
    ['::', `${'0.'.repeat(32)}ip6.arpa`],
    ['mail.example.org', undefined],
    ['192.0.2', undefined],
    ['1::2::3', undefined],
  ];
  for (const [address, expected] of cases) {
    it(`maps ${address} to ${expected ?? 'nothing'}`, () => assert.equal(reverseName(address), expected));
  }

  it('compares addresses by value, not by spelling', () => {
    assert.equal(sameAddress('2001:db8::1', '2001:DB8:0:0::0:1'), true);
    assert.equal(sameAddress('192.0.2.1', '192.0.2.1'), true);
    assert.equal(sameAddress('192.0.2.1', '::ffff:192.0.2.1'), false, 'different families stay different');
    assert.equal(sameAddress('192.0.2.1', 'nonsense'), false);
    assert.deepEqual(addressBytes('::ffff:1.2.3.4'), Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]));
  });
});

describe('PTR and SRV records', () => {
  it('decodes PTR names lowercase without the trailing dot', async () => {
    const zones = await zoneFixture({ '5.113.0.203.in-addr.arpa': { PTR: ['Mail.Example.ORG.', 'other.example.org'] } });
    const result = await zones.resolver().lookup('5.113.0.203.in-addr.arpa', 'PTR');
    assert.deepEqual(result.kind === 'ok' && result.records, ['mail.example.org', 'other.example.org']);
  });

  it('decodes SRV priority, weight, port and target, and the "." target', async () => {
    const zones = await zoneFixture({
      '_submission._tcp.example.org': { SRV: [{ priority: 10, weight: 5, port: 587, target: 'Mail.Example.org.' }] },
      '_submissions._tcp.example.org': { SRV: [{ priority: 0, weight: 0, port: 0, target: '.' }] },
    });
    const resolver = zones.resolver();
    const srv = await resolver.lookup('_submission._tcp.example.org', 'SRV');
    assert.deepEqual(srv.kind === 'ok' && srv.records, [{ priority: 10, weight: 5, port: 587, target: 'mail.example.org' }]);
    const none = await resolver.lookup('_submissions._tcp.example.org', 'SRV');
    assert.deepEqual(none.kind === 'ok' && none.records, [{ priority: 0, weight: 0, port: 0, target: '.' }]);
  });

  it('answers NODATA for a PTR name that holds only other types, and caches PTR answers', async () => {
    const zones = await zoneFixture({ '1.2.0.192.in-addr.arpa': { TXT: ['x'] }, '2.2.0.192.in-addr.arpa': { PTR: ['a.example.org'] } });
    const resolver = zones.resolver();
    assert.equal((await resolver.lookup('1.2.0.192.in-addr.arpa', 'PTR')).kind, 'nodata');
    await resolver.lookup('2.2.0.192.in-addr.arpa', 'PTR');
    const asked = zones.server.queries.length;
    await resolver.lookup('2.2.0.192.in-addr.arpa', 'PTR');
    assert.equal(zones.server.queries.length, asked);
  });
});
