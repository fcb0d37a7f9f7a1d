// The doctor's host-wide rows: reverse DNS of each public address (missing PTR,
// PTR that does not confirm, PTR other than the hostname, IPv6 and Gmail) and
// the hostname's own A/AAAA records.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { checkHostname, checkReverseDns, type HostCheckInput } from '../../src/doctor/reverse-check.js';
import { closeServersAfter, zoneFixture, type ZoneFixture } from './fixtures.js';

closeServersAfter();

const V6_REVERSE = '5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa';

describe('reverse DNS and hostname rows', () => {
  let fixture: ZoneFixture;
  before(async () => {
    fixture = await zoneFixture(
      {
        'mail.example.org': { A: ['203.0.113.5', '203.0.113.6', '203.0.113.7'], AAAA: ['2001:db8::5'] },
        'other.example.org': { A: ['203.0.113.8'] },
        'elsewhere.example.org': { A: ['198.51.100.1'] },
        '5.113.0.203.in-addr.arpa': { PTR: ['mail.example.org'] },
        '6.113.0.203.in-addr.arpa': { PTR: ['elsewhere.example.org'] },
        '8.113.0.203.in-addr.arpa': { PTR: ['other.example.org'] },
        [V6_REVERSE]: { PTR: ['mail.example.org'] },
        'v4only.example.org': { A: ['203.0.113.5'] },
      },
      { 'broken.example.org': { kind: 'servfail' } },
    );
  });
  const input = (publicAddresses: string[], overrides: Partial<HostCheckInput> = {}): HostCheckInput => ({
    resolver: fixture.resolver(),
    hostname: 'mail.example.org',
    publicAddresses,
    ipv6Enabled: true,
    ...overrides,
  });

  it('is ok when the PTR is the hostname and resolves back (IPv4 and IPv6)', async () => {
    const rows = await checkReverseDns(input(['203.0.113.5', '2001:db8::5']));
    assert.deepEqual(rows.map((row) => [row.domain, row.check, row.status, row.subject]), [
      ['mail.example.org', 'ptr', 'ok', '203.0.113.5'],
      ['mail.example.org', 'ptr', 'ok', '2001:db8::5'],
    ]);
  });

  it('fails a missing PTR with the PTR record to publish', async () => {
    const [row] = await checkReverseDns(input(['203.0.113.7']));
    assert.equal(row?.status, 'fail');
    assert.match(row?.detail ?? '', /^no PTR record at 7.113.0.203.in-addr.arpa/);
    assert.match(row?.fix ?? '', /^7.113.0.203.in-addr.arpa. IN PTR mail.example.org. /);
  });

  it('fails a PTR whose name resolves elsewhere (no forward confirmation)', async () => {
    const [row] = await checkReverseDns(input(['203.0.113.6']));
    assert.equal(row?.status, 'fail');
    assert.match(row?.detail ?? '', /PTR elsewhere.example.org does not resolve back to 203.0.113.6 \(elsewhere.example.org -> 198.51.100.1\)/);
    assert.equal(row?.fix, 'elsewhere.example.org. IN A 203.0.113.6');
  });

  it('warns when a confirmed PTR is not the configured hostname', async () => {
    const [row] = await checkReverseDns(input(['203.0.113.8']));
    assert.equal(row?.status, 'warn');
    assert.match(row?.fix ?? '', /^8.113.0.203.in-addr.arpa. IN PTR mail.example.org. .*or set hostname: other.example.org/);
  });

  it('tells about Gmail and IPv4-only delivery when an IPv6 address has no PTR', async () => {
    const [row] = await checkReverseDns(input(['2001:db8::6']));
    assert.equal(row?.status, 'fail');
    assert.match(row?.detail ?? '', /550-5.7.25/);
    assert.match(row?.fix ?? '', /dns.ipv6: false/);
    const [quiet] = await checkReverseDns(input(['2001:db8::6'], { ipv6Enabled: false }));
    assert.equal(quiet?.status, 'warn', 'outpost does not send over IPv6 then');
  });

  it('warns that publicAddresses is not set', async () => {
    const [row] = await checkReverseDns(input([]));
    assert.deepEqual([row?.status, row?.subject], ['warn', null]);
    assert.match(row?.detail ?? '', /publicAddresses is not set/);
  });

  it('is ok when the hostname resolves, and warns for a public address it does not resolve to', async () => {
    const rows = await checkHostname(input(['203.0.113.5', '2001:db8::9']));
    assert.deepEqual(rows.map((row) => [row.check, row.status, row.subject]), [['hostname', 'ok', 'mail.example.org'], ['hostname', 'warn', '2001:db8::9']]);
    assert.equal(rows[1]?.fix, 'mail.example.org. IN AAAA 2001:db8::9');
  });

  it('fails a hostname that does not resolve, with the A record to publish', async () => {
    const [row] = await checkHostname(input(['203.0.113.5'], { hostname: 'nothing.example.org' }));
    assert.equal(row?.status, 'fail');
    assert.match(row?.detail ?? '', /does not resolve: no A or AAAA record/);
    assert.equal(row?.fix, 'nothing.example.org. IN A 203.0.113.5');
    const [failed] = await checkHostname(input([], { hostname: 'broken.example.org' }));
    assert.match(failed?.detail ?? '', /lookup failed: servfail/);
  });
});
