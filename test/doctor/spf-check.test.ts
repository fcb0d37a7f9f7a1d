// The doctor's SPF rows: one record or a failure with the record to publish,
// per-address check_host results with the term to add, and the HELO name's record.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { checkSpf, type SpfCheckInput } from '../../src/doctor/spf-check.js';
import { closeServersAfter, zoneFixture, type ZoneFixture } from './fixtures.js';

closeServersAfter();

describe('SPF rows', () => {
  let fixture: ZoneFixture;
  before(async () => {
    fixture = await zoneFixture({
      'good.test': { TXT: ['v=spf1 ip4:203.0.113.0/24 ip6:2001:db8::/32 -all'] },
      'two.test': { TXT: ['v=spf1 ip4:203.0.113.5 -all', 'v=spf1 include:_spf.provider.test ~all'] },
      'uncovered.test': { TXT: ['v=spf1 mx ~all'], MX: [{ preference: 10, exchange: 'mx.uncovered.test' }] },
      'mx.uncovered.test': { A: ['198.51.100.1'] },
      'txt-only.test': { TXT: ['google-site-verification=x'] },
      'broken.test': { TXT: ['v=spf1 ip4:203.0.113.5 a:bad -all'] },
      'limits.test': { TXT: ['v=spf1 a:n1.limits.test a:n2.limits.test a:n3.limits.test -all'] },
      'mail.example.org': { A: ['203.0.113.5'], TXT: ['v=spf1 a -all'] },
    });
  });
  const input = (domain: string, publicAddresses = ['203.0.113.5'], role: SpfCheckInput['role'] = 'mail-from'): SpfCheckInput => ({
    resolver: fixture.resolver(),
    domain,
    hostname: 'mail.example.org',
    publicAddresses,
    role,
  });

  it('reports the record ok and each covered address as pass', async () => {
    const rows = await checkSpf(input('good.test', ['203.0.113.5', '2001:db8::5']));
    assert.deepEqual(rows.map((row) => [row.status, row.subject]), [['ok', null], ['ok', '203.0.113.5'], ['ok', '2001:db8::5']]);
    assert.match(rows[1]?.detail ?? '', /^pass: matched ip4:203.0.113.0\/24 at good.test \(0\/10 DNS lookups\)$/);
  });

  it('fails two SPF records as a permerror and suggests one merged record', async () => {
    const [row, ...rest] = await checkSpf(input('two.test'));
    assert.equal(rest.length, 0);
    assert.equal(row?.status, 'fail');
    assert.match(row?.detail ?? '', /2 SPF records .* permerror/);
    assert.equal(row?.fix, 'publish exactly one: two.test. IN TXT "v=spf1 ip4:203.0.113.5 include:_spf.provider.test -all"');
  });

  it('fails an address the record does not cover, with the record that adds it', async () => {
    const rows = await checkSpf(input('uncovered.test'));
    const row = rows[1];
    assert.equal(row?.status, 'fail');
    assert.match(row?.detail ?? '', /^softfail: matched ~all at uncovered.test .*add ip4:203.0.113.5$/);
    assert.equal(row?.fix, 'uncovered.test. IN TXT "v=spf1 ip4:203.0.113.5 mx ~all"');
  });

  it('fails a missing record with a suggested record from publicAddresses', async () => {
    const [row] = await checkSpf(input('txt-only.test', ['203.0.113.5', '2001:db8::5']));
    assert.equal(row?.status, 'fail');
    assert.equal(row?.fix, 'txt-only.test. IN TXT "v=spf1 ip4:203.0.113.5 ip6:2001:db8::5 -all"');
    const [absent] = await checkSpf(input('absent.test', []));
    assert.equal(absent?.fix, 'absent.test. IN TXT "v=spf1 a:mail.example.org -all"');
  });

  it('fails a record that does not parse, naming the problem', async () => {
    const [row] = await checkSpf(input('broken.test'));
    assert.equal(row?.status, 'fail');
    assert.match(row?.detail ?? '', /permerror .*a:bad: domain-spec "bad" does not end in a valid top label/);
  });

  it('explains a permerror from the void-lookup limit', async () => {
    const rows = await checkSpf(input('limits.test'));
    assert.equal(rows[1]?.status, 'fail');
    assert.match(rows[1]?.detail ?? '', /permerror: more than 2 void DNS lookups/);
    assert.match(rows[1]?.fix ?? '', /void lookup/);
  });

  it('warns that publicAddresses is not set, saying how to set it', async () => {
    const rows = await checkSpf(input('good.test', []));
    assert.deepEqual(rows.map((row) => row.status), ['ok', 'warn']);
    assert.match(rows[1]?.detail ?? '', /publicAddresses is not set/);
    assert.match(rows[1]?.fix ?? '', /^set publicAddresses in the config/);
  });

  it('only warns when the HELO name has no record, and checks it when it has one', async () => {
    const [missing] = await checkSpf(input('absent.test', ['203.0.113.5'], 'helo'));
    assert.deepEqual([missing?.status, missing?.subject], ['warn', 'HELO absent.test']);
    const rows = await checkSpf(input('mail.example.org', ['203.0.113.5'], 'helo'));
    assert.deepEqual(rows.map((row) => row.status), ['ok', 'ok']);
  });
});
