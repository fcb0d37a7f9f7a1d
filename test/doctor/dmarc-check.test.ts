// DMARC: the record parser (RFC 7489 §6.3-6.4) as a table, and the doctor's
// rows: absent, several, malformed, p=none, inherited, external report addresses.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { checkDmarc } from '../../src/doctor/dmarc-check.js';
import { parseDmarcRecord } from '../../src/doctor/dmarc-record.js';
import { closeServersAfter, zoneFixture, type ZoneFixture } from './fixtures.js';

closeServersAfter();

describe('DMARC record syntax', () => {
  it('reads policy, subdomain policy, alignment, pct and report URIs', () => {
    const parsed = parseDmarcRecord('v=DMARC1; p=Reject; sp=none; adkim=s; aspf=r; pct=50; rua=mailto:a@example.org,mailto:b@example.net!10m; ruf=mailto:f@example.org; fo=1:d; ri=3600');
    assert.deepEqual(parsed, {
      ok: true,
      policy: {
        policy: 'reject',
        subdomainPolicy: 'none',
        dkimAlignment: 's',
        spfAlignment: 'r',
        percent: 50,
        aggregateReportUris: ['mailto:a@example.org', 'mailto:b@example.net'],
        failureReportUris: ['mailto:f@example.org'],
      },
    });
  });

  it('defaults sp to p, alignment to relaxed and pct to 100, and ignores unknown tags', () => {
    const parsed = parseDmarcRecord('v=DMARC1;p=quarantine;future=1;');
    assert.ok(parsed.ok);
    assert.deepEqual([parsed.policy.subdomainPolicy, parsed.policy.dkimAlignment, parsed.policy.spfAlignment, parsed.policy.percent], ['quarantine', 'r', 'r', 100]);
  });

  const bad: [string, RegExp][] = [
    ['v=DMARC1; rua=mailto:a@example.org', /p= is missing/],
    ['v=DMARC1; p=block', /p=block is not none, quarantine or reject/],
    ['v=DMARC1; p=none; sp=all', /sp=all/],
    ['v=DMARC1; p=none; pct=101', /pct=101/],
    ['v=DMARC1; p=none; pct=half', /pct=half/],
    ['v=DMARC1; p=none; adkim=x', /adkim=x/],
    ['v=DMARC1; p=none; aspf=relaxed', /aspf=relaxed/],
    ['v=DMARC1; p=none; rua=dmarc@example.org', /is not a URI/],
    ['v=DMARC1; p=none; rua=mailto:nobody', /not a mailto: address/],
    ['v=DMARC1; p=none; p=reject', /appears twice/],
    ['v=DMARC1; p=none; fo=2', /fo=2/],
    ['v=DMARC1; p=none; bogus', /not tag=value/],
    ['p=none; v=DMARC1', /does not start with v=DMARC1/],
  ];
  for (const [record, problem] of bad) {
    it(`rejects ${JSON.stringify(record)}`, () => {
      const parsed = parseDmarcRecord(record);
      assert.equal(parsed.ok, false);
      assert.match(parsed.ok ? '' : parsed.problem, problem);
    });
  }
});

describe('DMARC rows', () => {
  let fixture: ZoneFixture;
  before(async () => {
    fixture = await zoneFixture({
      '_dmarc.good.test': { TXT: ['v=DMARC1; p=reject; adkim=s; rua=mailto:reports@good.test'] },
      '_dmarc.none.test': { TXT: ['v=DMARC1; p=none; rua=mailto:reports@none.test'] },
      '_dmarc.nop.test': { TXT: ['v=DMARC1; rua=mailto:reports@nop.test'] },
      '_dmarc.pct.test': { TXT: ['v=DMARC1; p=quarantine; pct=150'] },
      '_dmarc.two.test': { TXT: ['v=DMARC1; p=none', 'v=DMARC1; p=reject'] },
      '_dmarc.other.test': { TXT: ['some other text'] },
      '_dmarc.parent.test': { TXT: ['v=DMARC1; p=reject; sp=quarantine'] },
      '_dmarc.external.test': { TXT: ['v=DMARC1; p=quarantine; rua=mailto:dmarc@reports.example,mailto:x@ok-reports.example'] },
      'external.test._report._dmarc.ok-reports.example': { TXT: ['v=DMARC1'] },
    });
  });
  const rows = (domain: string) => checkDmarc({ resolver: fixture.resolver(), domain });

  it('is ok for p=reject and reports policy and alignment', async () => {
    const [row, ...rest] = await rows('good.test');
    assert.equal(rest.length, 0);
    assert.deepEqual([row?.status, row?.subject], ['ok', '_dmarc.good.test']);
    assert.equal(row?.detail, 'policy reject, subdomains reject, pct 100, DKIM alignment strict, SPF alignment relaxed, reports to mailto:reports@good.test');
  });

  it('warns p=none as monitoring only, with the record raised to quarantine', async () => {
    const [row] = await rows('none.test');
    assert.equal(row?.status, 'warn');
    assert.match(row?.detail ?? '', /^p=none: monitoring only/);
    assert.equal(row?.fix, '_dmarc.none.test. IN TXT "v=DMARC1; p=quarantine; rua=mailto:reports@none.test"');
  });

  it('fails a record without p= or with a bad pct, naming the problem', async () => {
    const [nop] = await rows('nop.test');
    assert.equal(nop?.status, 'fail');
    assert.match(nop?.detail ?? '', /p= is missing/);
    const [pct] = await rows('pct.test');
    assert.equal(pct?.status, 'fail');
    assert.match(pct?.detail ?? '', /pct=150 is not a whole number from 0 to 100/);
  });

  it('fails a missing record with a suggested record and what it does', async () => {
    for (const domain of ['absent.test', 'other.test']) {
      const [row] = await rows(domain);
      assert.equal(row?.status, 'fail');
      assert.match(row?.detail ?? '', /^no DMARC record/);
      assert.match(row?.fix ?? '', new RegExp(`^_dmarc.${domain}. IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@${domain}"  \\(p=quarantine`));
    }
  });

  it('fails two records: receivers ignore both', async () => {
    const [row] = await rows('two.test');
    assert.equal(row?.status, 'fail');
    assert.match(row?.detail ?? '', /2 DMARC records/);
  });

  it("falls back to the parent domain's record, applying its sp=", async () => {
    const [row] = await rows('sub.parent.test');
    assert.deepEqual([row?.status, row?.subject], ['ok', '_dmarc.parent.test']);
    assert.match(row?.detail ?? '', /^no record at _dmarc.sub.parent.test; the organizational domain's record applies: policy reject, subdomains quarantine/);
  });

  it('warns about a report address outside the domain that has not authorized it', async () => {
    const checks = await rows('external.test');
    assert.deepEqual(checks.map((row) => [row.status, row.subject]), [['ok', '_dmarc.external.test'], ['warn', 'mailto:dmarc@reports.example']]);
    assert.equal(checks[1]?.fix, 'external.test._report._dmarc.reports.example. IN TXT "v=DMARC1"');
  });
});
