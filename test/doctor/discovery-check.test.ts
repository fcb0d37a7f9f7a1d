// The doctor's informational rows: MX hosts (none, null MX, unresolvable),
// RFC 6186 submission SRV records, MTA-STS and TLS-RPT records.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { ListenerConfig } from '../../src/config/types.js';
import { checkMx, checkSubmissionSrv } from '../../src/doctor/mx-srv-check.js';
import { checkMtaSts, checkTlsRpt } from '../../src/doctor/sts-check.js';
import { closeServersAfter, zoneFixture, type ZoneFixture } from './fixtures.js';

closeServersAfter();

const LISTEN: ListenerConfig[] = [
  { address: '0.0.0.0', port: 25, mode: 'mta' },
  { address: '0.0.0.0', port: 587, mode: 'submission' },
  { address: '0.0.0.0', port: 465, mode: 'smtps' },
];

describe('MX, SRV, MTA-STS and TLS-RPT rows', () => {
  let fixture: ZoneFixture;
  before(async () => {
    fixture = await zoneFixture({
      'good.test': { MX: [{ preference: 20, exchange: 'mx2.good.test' }, { preference: 10, exchange: 'mx1.good.test' }], A: ['192.0.2.1'] },
      'mx1.good.test': { A: ['192.0.2.10'] },
      'mx2.good.test': { AAAA: ['2001:db8::10'] },
      'null.test': { MX: [{ preference: 0, exchange: '.' }] },
      'nomx.test': { A: ['192.0.2.1'] },
      'dangling.test': { MX: [{ preference: 10, exchange: 'gone.dangling.test' }] },
      '_submission._tcp.good.test': { SRV: [{ priority: 0, weight: 1, port: 587, target: 'mail.good.test' }] },
      '_submissions._tcp.good.test': { SRV: [{ priority: 0, weight: 0, port: 0, target: '.' }] },
      '_mta-sts.good.test': { TXT: ['v=STSv1; id=20260101T000000'] },
      '_smtp._tls.good.test': { TXT: ['v=TLSRPTv1; rua=mailto:tls@good.test,https://reports.good.test/tls'] },
      '_mta-sts.bad.test': { TXT: ['v=STSv1; id=not-alnum!'] },
      '_smtp._tls.bad.test': { TXT: ['v=TLSRPTv1; rua=ftp://x'] },
    });
  });
  const discovery = (domain: string, listen = LISTEN) => ({ resolver: fixture.resolver(), domain, hostname: 'mail.example.org', listen });

  it('lists the MX hosts by preference', async () => {
    const rows = await checkMx(discovery('good.test'));
    assert.deepEqual(rows.map((row) => [row.check, row.status, row.detail]), [['mx', 'ok', 'MX 10 mx1.good.test, 20 mx2.good.test']]);
  });

  it('warns about a null MX, no MX and an MX host without addresses', async () => {
    const [nullMx] = await checkMx(discovery('null.test'));
    assert.deepEqual([nullMx?.status, /null MX/.test(nullMx?.detail ?? '')], ['warn', true]);
    assert.equal(nullMx?.fix, 'null.test. IN MX 10 mail.example.org.');
    const [none] = await checkMx(discovery('nomx.test'));
    assert.match(none?.detail ?? '', /^no MX record/);
    const dangling = await checkMx(discovery('dangling.test'));
    assert.deepEqual(dangling.map((row) => [row.status, row.subject]), [['ok', null], ['warn', 'gone.dangling.test']]);
  });

  it('reports published SRV records, including "not offered"', async () => {
    const rows = await checkSubmissionSrv(discovery('good.test'));
    assert.deepEqual(rows.map((row) => [row.status, row.subject, row.detail]), [
      ['ok', '_submission._tcp.good.test', 'mail.good.test:587 (priority 0, weight 1)'],
      ['ok', '_submissions._tcp.good.test', 'submission over implicit TLS explicitly not offered (target ".")'],
    ]);
  });

  it('warns about missing SRV records with the record for each listener', async () => {
    const rows = await checkSubmissionSrv(discovery('nomx.test'));
    assert.deepEqual(rows.map((row) => [row.status, row.fix]), [
      ['warn', '_submission._tcp.nomx.test. IN SRV 0 1 587 mail.example.org.'],
      ['warn', '_submissions._tcp.nomx.test. IN SRV 0 1 465 mail.example.org.'],
    ]);
    const without = await checkSubmissionSrv(discovery('nomx.test', [{ address: '0.0.0.0', port: 25, mode: 'mta' }]));
    assert.deepEqual(without.map((row) => row.status), ['ok', 'ok'], 'nothing to publish without submission listeners');
  });

  it('suggests a policy file naming the domain\'s MX hosts', async () => {
    const [sts] = await checkMtaSts({ resolver: fixture.resolver(), domain: 'dangling.test' });
    assert.match(sts?.fix ?? '', /with the lines "version: STSv1", "mode: testing", "mx: gone\.dangling\.test", "max_age: 604800";/);
  });

  it('reads MTA-STS and TLS-RPT records', async () => {
    const [sts] = await checkMtaSts({ resolver: fixture.resolver(), domain: 'good.test' });
    assert.deepEqual([sts?.check, sts?.status], ['mta-sts', 'ok']);
    assert.match(sts?.detail ?? '', /^policy id 20260101T000000/);
    const [rpt] = await checkTlsRpt({ resolver: fixture.resolver(), domain: 'good.test' });
    assert.deepEqual([rpt?.check, rpt?.status, rpt?.detail], ['tls-rpt', 'ok', 'reports to mailto:tls@good.test, https://reports.good.test/tls']);
  });

  it('warns when MTA-STS or TLS-RPT is absent (optional) or malformed', async () => {
    const [sts] = await checkMtaSts({ resolver: fixture.resolver(), domain: 'nomx.test' });
    assert.deepEqual([sts?.status, sts?.fix], [
      'warn',
      '_mta-sts.nomx.test. IN TXT "v=STSv1; id=1"  (change id whenever the policy file changes); and serve https://mta-sts.nomx.test/.well-known/mta-sts.txt ' +
        '(text/plain, a certificate valid for mta-sts.nomx.test) with the lines "version: STSv1", "mode: testing", "mx: <your MX host>", "max_age: 604800"; ' +
        'change mode to enforce once the TLS reports show no failures',
    ]);
    assert.match(sts?.detail ?? '', /^optional/);
    const [rpt] = await checkTlsRpt({ resolver: fixture.resolver(), domain: 'nomx.test' });
    assert.deepEqual([rpt?.status, rpt?.fix], ['warn', '_smtp._tls.nomx.test. IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@nomx.test"']);
    const [badSts] = await checkMtaSts({ resolver: fixture.resolver(), domain: 'bad.test' });
    assert.match(badSts?.detail ?? '', /id=not-alnum! is not 1-32 letters and digits/);
    const [badRpt] = await checkTlsRpt({ resolver: fixture.resolver(), domain: 'bad.test' });
    assert.match(badRpt?.detail ?? '', /"ftp:\/\/x" is not a mailto: or https: URI/);
  });
});
