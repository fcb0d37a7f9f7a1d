// Cross-checks check_host() against an independent implementation, pyspf (Debian
// package python3-spf), both asking the same in-process DNS server. Skipped
// outside CI when python3-spf is not installed.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { checkHost } from '../../src/doctor/spf-eval.js';
import type { Zones } from '../helpers/dns-server.js';
import { closeServersAfter, zoneFixture, type ZoneFixture } from './fixtures.js';

closeServersAfter();

const PYTHON = '/usr/bin/python3';
const PYSPF = '/usr/lib/python3/dist-packages/spf.py';
const inCi = process.env['CI'] === 'true';
const skip = !existsSync(PYSPF) && !inCi ? 'python3-spf (pyspf) not installed' : false;

/** Reads [ip, sender, helo] triples as JSON on stdin; prints one result per line. */
const SCRIPT = `
import json, sys
import dns.resolver, spf
resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = ['127.0.0.1']
resolver.port = int(sys.argv[1])
dns.resolver.default_resolver = resolver
for ip, sender, helo in json.load(sys.stdin):
    print(spf.check2(i=ip, s=sender, h=helo, timeout=5)[0])
`;

function pyspf(port: number, cases: readonly (readonly [string, string, string])[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, ['-c', SCRIPT, String(port)], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`pyspf failed: ${stderr}`, { cause: error }));
      else resolve(stdout.trim().split('\n'));
    });
    child.stdin?.end(JSON.stringify(cases));
  });
}

const ZONES: Zones = {
  'plain.test': { TXT: ['v=spf1 ip4:203.0.113.0/28 ip6:2001:db8::/64 -all'] },
  'amx.test': { TXT: ['v=spf1 a mx/30 ~all'], A: ['203.0.113.20'], MX: [{ preference: 10, exchange: 'mx.amx.test' }] },
  'mx.amx.test': { A: ['198.51.100.9'], AAAA: ['2001:db8:5::9'] },
  'dual.test': { TXT: ['v=spf1 a/24//48 -all'], A: ['192.0.2.77'], AAAA: ['2001:db8:7::1'] },
  'inc.test': { TXT: ['v=spf1 include:plain.test include:amx.test ?all'] },
  'redir.test': { TXT: ['v=spf1 ip4:192.0.2.200 redirect=amx.test'] },
  'macro.test': { TXT: ['v=spf1 exists:%{i}.%{l}.allow.macro.test include:%{d2}.sub.macro.test -all'] },
  '203.0.113.99.postmaster.allow.macro.test': { A: ['127.0.0.2'] },
  'macro.test.sub.macro.test': { TXT: ['v=spf1 ip4:198.51.100.0/24 -all'] },
  'void.test': { TXT: ['v=spf1 a:n1.void.test a:n2.void.test a:n3.void.test +all'] },
  'noneinc.test': { TXT: ['v=spf1 include:nospf.test -all'] },
  'nospf.test': { TXT: ['something else'] },
  'twice.test': { TXT: ['v=spf1 -all', 'v=spf1 +all'] },
  'bad.test': { TXT: ['v=spf1 ip4:203.0.113.5/33 -all'] },
  'unknown.test': { TXT: ['v=spf1 frobnicate -all'] },
  'modifier.test': { TXT: ['v=spf1 ip4:203.0.113.5 x-custom=%{d} -all'] },
  'chain.test': { TXT: ['v=spf1 include:c1.chain.test -all'] },
  ...Object.fromEntries(Array.from({ length: 11 }, (_, index) => [`c${index + 1}.chain.test`, { TXT: [index === 10 ? '+all' : `v=spf1 include:c${index + 2}.chain.test -all`] }])),
  'ptr.test': { TXT: ['v=spf1 ptr -all'] },
  'host.ptr.test': { A: ['203.0.113.44'] },
  '44.113.0.203.in-addr.arpa': { PTR: ['host.ptr.test'] },
  '45.113.0.203.in-addr.arpa': { PTR: ['host.ptr.test'] },
  'neutral.test': { TXT: ['v=spf1 ip4:192.0.2.1'] },
  'tempinc.test': { TXT: ['v=spf1 ip4:192.0.2.1 include:fail.inc.test -all'] },
};

const ADDRESSES = ['203.0.113.5', '203.0.113.20', '203.0.113.44', '203.0.113.45', '203.0.113.99', '198.51.100.9', '198.51.100.11', '192.0.2.1', '192.0.2.200', '192.0.2.9', '2001:db8::5', '2001:db8:5::9', '2001:db8:7:ffff::1'];

describe('check_host agrees with pyspf', { skip }, () => {
  let fixture: ZoneFixture;
  before(async () => {
    fixture = await zoneFixture(ZONES, { 'fail.inc.test': { kind: 'servfail' } });
  });

  it('on every domain of the table for every address', async () => {
    const domains = [...Object.keys(ZONES).filter((name) => name.endsWith('.test') && ZONES[name]?.TXT !== undefined && name.split('.').length === 2), 'absent.test'];
    const cases = domains.flatMap((domain) => ADDRESSES.map((ip) => [ip, `postmaster@${domain}`, 'mail.example.org'] as const));
    const theirs = await pyspf(fixture.server.port, cases);
    const disagreements: string[] = [];
    for (const [index, [ip, sender, helo]] of cases.entries()) {
      const domain = sender.slice(sender.indexOf('@') + 1);
      const ours = await checkHost(fixture.resolver(), { ip, sender, helo, domain });
      if (ours.result !== theirs[index]) disagreements.push(`${domain} ${ip}: ours ${ours.result} (${ours.detail}), pyspf ${theirs[index]}`);
    }
    assert.deepEqual(disagreements, []);
    assert.equal(cases.length, theirs.length);
    assert.deepEqual([...new Set(theirs)].sort(), ['fail', 'neutral', 'none', 'pass', 'permerror', 'softfail', 'temperror'], 'the table exercises every result');
  });
});
