// check_host() against the in-process DNS server: the RFC 7208 Appendix A
// examples, the lookup and void-lookup limits (§4.6.4), include / redirect
// outcomes (§5.2, §6.1), macros in exists (§7), IPv6 and DNS failures.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { checkHost, type SpfResult } from '../../src/doctor/spf-eval.js';
import type { Zones } from '../helpers/dns-server.js';
import { closeServersAfter, zoneFixture, type ZoneFixture } from './fixtures.js';

closeServersAfter();

/** RFC 7208 Appendix A. */
const APPENDIX_A: Zones = {
  'example.com': { MX: [{ preference: 10, exchange: 'mail-a.example.com' }, { preference: 20, exchange: 'mail-b.example.com' }], A: ['192.0.2.10', '192.0.2.11'] },
  'amy.example.com': { A: ['192.0.2.65'] },
  'bob.example.com': { A: ['192.0.2.66'] },
  'mail-a.example.com': { A: ['192.0.2.129'] },
  'mail-b.example.com': { A: ['192.0.2.130'] },
  'www.example.com': { CNAME: 'example.com' },
  'example.org': { MX: [{ preference: 10, exchange: 'mail-c.example.org' }] },
  'mail-c.example.org': { A: ['192.0.2.140'] },
  '10.2.0.192.in-addr.arpa': { PTR: ['example.com'] },
  '11.2.0.192.in-addr.arpa': { PTR: ['example.com'] },
  '65.2.0.192.in-addr.arpa': { PTR: ['amy.example.com'] },
  '66.2.0.192.in-addr.arpa': { PTR: ['bob.example.com'] },
  '129.2.0.192.in-addr.arpa': { PTR: ['mail-a.example.com'] },
  '130.2.0.192.in-addr.arpa': { PTR: ['mail-b.example.com'] },
  '140.2.0.192.in-addr.arpa': { PTR: ['mail-c.example.org'] },
  '4.0.0.10.in-addr.arpa': { PTR: ['bob.example.com'] },
};

/** RFC 7208 Appendix A.1: example.com's record, then the result per client address. */
const APPENDIX_A1: [string, Record<string, SpfResult>][] = [
  ['v=spf1 +all', { '192.0.2.10': 'pass', '10.0.0.4': 'pass' }],
  ['v=spf1 a -all', { '192.0.2.10': 'pass', '192.0.2.11': 'pass', '192.0.2.65': 'fail' }],
  ['v=spf1 a:example.org -all', { '192.0.2.10': 'fail', '192.0.2.140': 'fail' }],
  ['v=spf1 mx -all', { '192.0.2.129': 'pass', '192.0.2.130': 'pass', '192.0.2.10': 'fail' }],
  ['v=spf1 mx:example.org -all', { '192.0.2.140': 'pass', '192.0.2.129': 'fail' }],
  ['v=spf1 mx mx:example.org -all', { '192.0.2.129': 'pass', '192.0.2.130': 'pass', '192.0.2.140': 'pass', '192.0.2.65': 'fail' }],
  ['v=spf1 mx/30 mx:example.org/30 -all', { '192.0.2.131': 'pass', '192.0.2.141': 'pass', '192.0.2.132': 'fail' }],
  ['v=spf1 ptr -all', { '192.0.2.65': 'pass', '192.0.2.10': 'pass', '192.0.2.140': 'fail', '10.0.0.4': 'fail' }],
  ['v=spf1 ip4:192.0.2.128/28 -all', { '192.0.2.65': 'fail', '192.0.2.129': 'pass' }],
];

describe('check_host on the RFC 7208 Appendix A zone', () => {
  let fixture: ZoneFixture;
  before(async () => {
    fixture = await zoneFixture(APPENDIX_A);
  });

  for (const [record, expected] of APPENDIX_A1) {
    for (const [ip, result] of Object.entries(expected)) {
      it(`"${record}" gives ${result} for ${ip}`, async () => {
        fixture.server.zones = { ...APPENDIX_A, 'example.com': { ...APPENDIX_A['example.com'], TXT: [record] } };
        const outcome = await checkHost(fixture.resolver(), { ip, sender: 'sender@example.com', helo: 'mx.example.net', domain: 'example.com' });
        assert.equal(outcome.result, result, outcome.detail);
      });
    }
  }
});

const chain = (length: number, last: string): Zones =>
  Object.fromEntries(Array.from({ length }, (_, index) => [`l${index + 1}.chain.test`, { TXT: [index + 1 === length ? last : `v=spf1 include:l${index + 2}.chain.test -all`] }]));

const ZONES: Zones = {
  'ten.test': { TXT: ['v=spf1 include:l1.chain.test -all'] },
  ...chain(10, 'v=spf1 ip4:203.0.113.5 -all'),
  'eleven.test': { TXT: ['v=spf1 include:m1.chain.test -all'] },
  ...Object.fromEntries(Array.from({ length: 11 }, (_, index) => [`m${index + 1}.chain.test`, { TXT: [index === 10 ? 'v=spf1 ip4:203.0.113.5 -all' : `v=spf1 include:m${index + 2}.chain.test -all`] }])),
  'twovoid.test': { TXT: ['v=spf1 a:v1.void.test a:v2.void.test ip4:203.0.113.5 -all'] },
  'threevoid.test': { TXT: ['v=spf1 a:v1.void.test a:v2.void.test mx:v3.void.test ip4:203.0.113.5 -all'] },
  'redirect.test': { TXT: ['v=spf1 redirect=_spf.target.test'] },
  '_spf.target.test': { TXT: ['v=spf1 ip4:203.0.113.0/24 ~all'] },
  'redirect-nowhere.test': { TXT: ['v=spf1 redirect=nospf.test'] },
  'nospf.test': { TXT: ['google-site-verification=abc'], A: ['192.0.2.1'] },
  'include-nowhere.test': { TXT: ['v=spf1 include:nospf.test -all'] },
  'include-fail.test': { TXT: ['v=spf1 include:_spf.target.test -all'] },
  'two.test': { TXT: ['v=spf1 -all', 'v=spf1 ip4:203.0.113.5 -all'] },
  'split.test': { TXT: [['v=spf1 ip4:203.0.113.5', ' -all'], 'unrelated text'] },
  'all-wins.test': { TXT: ['v=spf1 ~all redirect=_spf.target.test'] },
  'exists.test': { TXT: ['v=spf1 exists:%{ir}.%{l1r-}.lp._spf.%{d} -all'] },
  '5.113.0.203.postmaster.lp._spf.exists.test': { A: ['127.0.0.2'] },
  'many-mx.test': { TXT: ['v=spf1 mx -all'], MX: Array.from({ length: 11 }, (_, index) => ({ preference: index, exchange: `mx${index}.many-mx.test` })) },
  'v6.test': { TXT: ['v=spf1 a//64 ip6:2001:db8:1::/48 -all'], AAAA: ['2001:db8:2::1'] },
  'broken.test': { TXT: ['v=spf1 include:fails.test -all'] },
  'syntax.test': { TXT: ['v=spf1 ip4:203.0.113.5 bogus -all'] },
};

describe('check_host limits and outcomes', () => {
  let fixture: ZoneFixture;
  before(async () => {
    fixture = await zoneFixture(ZONES, { 'fails.test': { kind: 'servfail' } });
  });
  const check = (domain: string, ip = '203.0.113.5') => checkHost(fixture.resolver(), { ip, sender: `postmaster@${domain}`, helo: 'mail.example.org', domain });

  it('passes an include chain of exactly 10 DNS lookups', async () => {
    const outcome = await check('ten.test');
    assert.deepEqual([outcome.result, outcome.lookups], ['pass', 10]);
  });

  it('answers permerror at the 11th DNS lookup', async () => {
    const outcome = await check('eleven.test');
    assert.equal(outcome.result, 'permerror');
    assert.match(outcome.detail, /more than 10 DNS lookups/);
  });

  it('allows two void lookups and answers permerror at the third', async () => {
    assert.deepEqual([(await check('twovoid.test')).result, (await check('twovoid.test')).voidLookups], ['pass', 2]);
    const outcome = await check('threevoid.test');
    assert.equal(outcome.result, 'permerror');
    assert.match(outcome.detail, /more than 2 void DNS lookups/);
  });

  it('follows redirect= and takes the target record result', async () => {
    assert.equal((await check('redirect.test')).result, 'pass');
    assert.equal((await check('redirect.test', '198.51.100.1')).result, 'softfail');
  });

  it('answers permerror when redirect= or include: names a domain without SPF', async () => {
    assert.equal((await check('redirect-nowhere.test')).result, 'permerror');
    const outcome = await check('include-nowhere.test');
    assert.equal(outcome.result, 'permerror');
    assert.match(outcome.detail, /include:nospf.test: no SPF record/);
  });

  it('treats a failing include as no match and moves on', async () => {
    const outcome = await check('include-fail.test', '198.51.100.1');
    assert.deepEqual([outcome.result, outcome.detail], ['fail', 'matched -all at include-fail.test']);
  });

  it('answers permerror for two SPF records, and none without one', async () => {
    assert.match((await check('two.test')).detail, /2 SPF records at two.test/);
    assert.equal((await check('two.test')).result, 'permerror');
    assert.equal((await check('nospf.test')).result, 'none');
    assert.equal((await check('absent.test')).result, 'none');
  });

  it('joins the strings of one TXT record and ignores other TXT records', async () => {
    assert.equal((await check('split.test')).result, 'pass');
  });

  it('ignores redirect= when a mechanism matched', async () => {
    assert.equal((await check('all-wins.test')).result, 'softfail');
  });

  it('expands macros in exists:', async () => {
    assert.equal((await check('exists.test')).result, 'pass');
    assert.equal((await check('exists.test', '203.0.113.6')).result, 'fail');
  });

  it('answers permerror for an mx with more than 10 MX names', async () => {
    assert.match((await check('many-mx.test')).detail, /11 MX records, over 10/);
  });

  it('matches IPv6 addresses with ip6 networks and a//64', async () => {
    assert.equal((await check('v6.test', '2001:db8:1:ff::9')).result, 'pass');
    assert.equal((await check('v6.test', '2001:db8:2::ffff')).result, 'pass');
    assert.equal((await check('v6.test', '2001:db8:3::1')).result, 'fail');
  });

  it('evaluates an IPv4-mapped IPv6 address as IPv4', async () => {
    assert.equal((await check('twovoid.test', '::ffff:203.0.113.5')).result, 'pass');
  });

  it('answers temperror when an included domain cannot be looked up', async () => {
    assert.equal((await check('broken.test')).result, 'temperror');
  });

  it('answers permerror for a syntax error, naming the term', async () => {
    const outcome = await check('syntax.test');
    assert.equal(outcome.result, 'permerror');
    assert.match(outcome.detail, /unknown mechanism 'bogus'/);
  });
});
