// runDoctor end to end through a real resolver and the test DNS server: a
// healthy domain has no failures, a broken one fails in every check; the JSON
// shape and the text table with its publish:/fix: lines.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { reportToJson } from '../../src/doctor/json.js';
import { runDoctor } from '../../src/doctor/run.js';
import { fixLabel, reportToText } from '../../src/doctor/text-table.js';
import type { Zones } from '../helpers/dns-server.js';
import { closeServersAfter, doctorConfig, NO_KEYS, zoneFixture, type ZoneFixture } from './fixtures.js';

closeServersAfter();

const HEALTHY: Zones = {
  'mail.example.org': { A: ['203.0.113.5'], TXT: ['v=spf1 a -all'] },
  '5.113.0.203.in-addr.arpa': { PTR: ['mail.example.org'] },
  'example.org': { MX: [{ preference: 10, exchange: 'mail.example.org' }], TXT: ['v=spf1 ip4:203.0.113.5 -all'] },
  '_dmarc.example.org': { TXT: ['v=DMARC1; p=reject; rua=mailto:dmarc@example.org'] },
  '_submission._tcp.example.org': { SRV: [{ priority: 0, weight: 1, port: 587, target: 'mail.example.org' }] },
  '_mta-sts.example.org': { TXT: ['v=STSv1; id=1'] },
  '_smtp._tls.example.org': { TXT: ['v=TLSRPTv1; rua=mailto:tls@example.org'] },
  'broken.example': { TXT: ['v=spf1 -all', 'v=spf1 +all'] },
  '_dmarc.broken.example': { TXT: ['v=DMARC1; pct=5'] },
};

describe('runDoctor', () => {
  let fixture: ZoneFixture;
  before(async () => {
    fixture = await zoneFixture(HEALTHY);
  });

  it('finds nothing failing for a healthy domain; only DKIM (no keys) warns', async () => {
    const report = await runDoctor({ config: doctorConfig(), resolver: fixture.resolver(), dkim: NO_KEYS });
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.checks.map((row) => `${row.domain} ${row.check} ${row.status}`),
      [
        'mail.example.org hostname ok',
        'mail.example.org ptr ok',
        'mail.example.org spf ok',
        'mail.example.org spf ok',
        'example.org spf ok',
        'example.org spf ok',
        'example.org dkim warn',
        'example.org dmarc ok',
        'example.org mx ok',
        'example.org srv ok',
        'example.org srv ok',
        'example.org mta-sts ok',
        'example.org tls-rpt ok',
      ],
    );
  });

  it('fails a broken domain and keeps the report of other domains, in domain order', async () => {
    const config = doctorConfig({ domains: new Set(['example.org', 'broken.example']) });
    const report = await runDoctor({ config, resolver: fixture.resolver(), dkim: NO_KEYS });
    assert.equal(report.ok, false);
    const broken = report.checks.filter((row) => row.domain === 'broken.example');
    assert.deepEqual(broken.map((row) => `${row.check} ${row.status}`), ['spf fail', 'dkim warn', 'dmarc fail', 'mx warn', 'srv warn', 'srv ok', 'mta-sts warn', 'tls-rpt warn']);
    assert.ok(report.checks.findIndex((row) => row.domain === 'broken.example') < report.checks.findIndex((row) => row.domain === 'example.org'));
  });

  it('checks only the domains asked for, plus the host-wide rows', async () => {
    const config = doctorConfig({ domains: new Set(['example.org', 'broken.example']) });
    const report = await runDoctor({ config, resolver: fixture.resolver(), dkim: NO_KEYS, domains: ['example.org'] });
    assert.deepEqual([...new Set(report.checks.map((row) => row.domain))], ['mail.example.org', 'example.org']);
  });

  it('gives every JSON row exactly the documented fields', async () => {
    const config = doctorConfig({ domains: new Set(['broken.example']) });
    const json = reportToJson(await runDoctor({ config, resolver: fixture.resolver(), dkim: NO_KEYS }));
    assert.deepEqual(Object.keys(json), ['ok', 'checks']);
    assert.equal(json.ok, false);
    for (const row of json.checks) {
      assert.deepEqual(Object.keys(row), ['domain', 'check', 'status', 'subject', 'detail', 'fix']);
      assert.ok(['spf', 'dkim', 'dmarc', 'ptr', 'hostname', 'mx', 'srv', 'mta-sts', 'tls-rpt'].includes(row.check));
      assert.ok(['ok', 'warn', 'fail'].includes(row.status));
      assert.ok(row.subject === null || typeof row.subject === 'string');
      assert.equal(typeof row.detail, 'string');
      assert.ok(row.fix === null || typeof row.fix === 'string');
      if (row.status === 'ok') assert.equal(row.fix, null);
    }
    assert.deepEqual(JSON.parse(JSON.stringify(json)), json);
  });

  it('prints a table with a publish: or fix: line under each problem', async () => {
    const config = doctorConfig({ domains: new Set(['broken.example']) });
    const text = reportToText(await runDoctor({ config, resolver: fixture.resolver(), dkim: NO_KEYS }));
    const lines = text.split('\n');
    assert.match(lines[0] ?? '', /^DOMAIN\s+CHECK\s+STATUS\s+DETAIL$/);
    const dmarc = lines.findIndex((line) => /^broken\.example\s+dmarc\s+fail\s+_dmarc.broken.example: malformed/.test(line));
    assert.ok(dmarc > 0, text);
    assert.match(lines[dmarc + 1] ?? '', /^\s+publish: _dmarc.broken.example. IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@broken.example"/);
    const spf = lines.findIndex((line) => /^broken\.example\s+spf\s+fail/.test(line));
    assert.match(lines[spf + 1] ?? '', /^\s+fix: publish exactly one: broken.example. IN TXT/);
    assert.match(lines[lines.length - 1] ?? '', /^\d+ checks: \d+ ok, \d+ warn, \d+ fail \(\d+ failing\)$/);
  });

  it('labels record fixes publish: and instructions fix:', () => {
    assert.equal(fixLabel('example.org. IN TXT "v=spf1 -all"'), 'publish:');
    assert.equal(fixLabel('_submission._tcp.example.org. IN SRV 0 1 587 mail.example.org.'), 'publish:');
    assert.equal(fixLabel('outpost dkim keygen example.org'), 'fix:');
  });
});
