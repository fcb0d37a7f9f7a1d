// The MTA-STS texts (RFC 8461 §3.1 TXT record, §3.2 policy file) and MX
// matching (§4.1): table tests of what is accepted and refused, and a fuzz
// test that no input makes the parsers throw.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_POLICY_AGE_SECONDS, mxMatches, parseStsPolicy } from '../../src/mtasts/policy.js';
import { parseStsRecord } from '../../src/mtasts/record.js';
import { seededRandom } from '../helpers/seeded-random.js';

describe('the _mta-sts TXT record', () => {
  const valid: [string, string][] = [
    ['v=STSv1; id=20160831085700Z;', '20160831085700Z'],
    ['v=STSv1;id=abc', 'abc'],
    ['v=STSv1 ;\tid=1 ; ', '1'],
    ['v=STSv1; ext=value; id=x9', 'x9'],
    ['v=STSv1; id=first; id=second', 'first'],
    [`v=STSv1; id=${'a'.repeat(32)}`, 'a'.repeat(32)],
  ];
  for (const [text, id] of valid) it(`reads ${JSON.stringify(text)} as id ${id}`, () => assert.deepEqual(parseStsRecord(text), { id }));

  const invalid: [string, RegExp][] = [
    ['v=STSv1', /id= is missing/],
    ['v=STSv1;', /id= is missing/],
    ['v=STSv2; id=1', /must start with v=STSv1/],
    ['v=stsv1; id=1', /must start with v=STSv1/],
    ['id=1; v=STSv1', /must start with v=STSv1/],
    ['v=STSv1; id=has-dash', /not 1-32 letters and digits/],
    [`v=STSv1; id=${'a'.repeat(33)}`, /not 1-32 letters and digits/],
    ['v=STSv1; id=', /not 1-32 letters and digits/],
    ['v=STSv1; id = 1', /is not field=value/],
    ['v=STSv1; id=1; bare', /is not field=value/],
    ['v=STSv1; id=1; ext=a b', /characters a record may not hold/],
  ];
  for (const [text, problem] of invalid) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      const parsed = parseStsRecord(text);
      assert.ok('problem' in parsed, JSON.stringify(parsed));
      assert.match(parsed.problem, problem);
    });
  }
});

describe('the policy file', () => {
  it('reads a policy with CRLF lines, extension fields ignored', () => {
    const text = 'version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\nfuture_key: whatever it says\r\n';
    assert.deepEqual(parseStsPolicy(text), { ok: true, policy: { mode: 'enforce', mx: ['mail.example.com', '*.example.net', 'backupmx.example.com'], maxAgeSeconds: 604_800 } });
  });

  it('reads LF lines, spaces and tabs around values, no final line end, keys in any order', () => {
    assert.deepEqual(parseStsPolicy('mx:\tMX1.Example.COM  \nmax_age:86400\nmode: testing\nversion: STSv1'), {
      ok: true,
      policy: { mode: 'testing', mx: ['mx1.example.com'], maxAgeSeconds: 86_400 },
    });
  });

  it('lets the first of a repeated field count, except mx which adds up', () => {
    const parsed = parseStsPolicy('version: STSv1\nmode: testing\nmode: enforce\nmax_age: 10\nmax_age: 20\nmx: a.example\nmx: b.example\n');
    assert.deepEqual(parsed, { ok: true, policy: { mode: 'testing', mx: ['a.example', 'b.example'], maxAgeSeconds: 10 } });
  });

  it('accepts mode none without mx, and cuts a max_age above a year to the maximum', () => {
    assert.deepEqual(parseStsPolicy('version: STSv1\nmode: none\nmax_age: 9999999999\n'), { ok: true, policy: { mode: 'none', mx: [], maxAgeSeconds: MAX_POLICY_AGE_SECONDS } });
  });

  const invalid: [string, string, RegExp][] = [
    ['no version', 'mode: enforce\nmx: a.example\nmax_age: 1\n', /version is missing/],
    ['another version', 'version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n', /version STSv2 is not STSv1/],
    ['an unknown mode', 'version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n', /mode strict is not/],
    ['a mode in capitals', 'version: STSv1\nmode: ENFORCE\nmx: a.example\nmax_age: 1\n', /mode ENFORCE is not/],
    ['no mode', 'version: STSv1\nmx: a.example\nmax_age: 1\n', /mode is missing/],
    ['no max_age', 'version: STSv1\nmode: enforce\nmx: a.example\n', /max_age is missing/],
    ['a negative max_age', 'version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n', /max_age -1 is not a number/],
    ['an 11-digit max_age', 'version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 12345678901\n', /is not a number/],
    ['enforce without mx', 'version: STSv1\nmode: enforce\nmax_age: 1\n', /needs at least one mx/],
    ['a wildcard in the middle', 'version: STSv1\nmode: enforce\nmx: mail.*.example\nmax_age: 1\n', /mx mail\.\*\.example is not/],
    ['a U-label mx', 'version: STSv1\nmode: enforce\nmx: mail.bücher.example\nmax_age: 1\n', /is not a host name/],
    ['a line without a colon', 'version: STSv1\nmode enforce\nmx: a.example\nmax_age: 1\n', /line 2 is not "key: value"/],
    ['an HTML page', '<html><body>policy</body></html>\n', /line 1 is not "key: value"/],
    ['an empty value', 'version: STSv1\nmode:\nmx: a.example\nmax_age: 1\n', /line 2 \(mode\) has no value/],
  ];
  for (const [what, text, problem] of invalid) {
    it(`refuses ${what}`, () => {
      const parsed = parseStsPolicy(text);
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.match(parsed.problem, problem);
    });
  }

  it('never throws, whatever the bytes', () => {
    const random = seededRandom(8461);
    const alphabet = 'versionmodeenforcetestingmx_age:*.; \t\r\n0123456789STSv1-';
    for (let round = 0; round < 2000; round += 1) {
      const length = Math.floor(random() * 200);
      const text = Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)] ?? '').join('');
      const policy = parseStsPolicy(text);
      const record = parseStsRecord(`v=STSv1;${text}`);
      assert.equal(typeof policy.ok, 'boolean');
      assert.ok('id' in record || 'problem' in record);
    }
  });
});

describe('MX patterns', () => {
  const policy = { mx: ['mail.example.com', '*.example.net'] };
  const cases: [string, boolean][] = [
    ['mail.example.com', true],
    ['MAIL.Example.com.', true],
    ['other.example.com', false],
    ['mx1.example.net', true],
    ['example.net', false],
    ['a.b.example.net', false],
    ['mx1.example.net.evil.test', false],
    ['xexample.net', false],
  ];
  for (const [host, matches] of cases) it(`${matches ? 'matches' : 'does not match'} ${host}`, () => assert.equal(mxMatches(policy, host), matches));
});
