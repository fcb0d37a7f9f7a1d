// The TLS reporting record `_smtp._tls.<domain>` (RFC 8460 §3): syntax table,
// discovery through the project's DNS server (one record, or none), and Node's
// TLS error codes as §4.3 result types.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { discoverTlsRpt, parseTlsRptRecord } from '../../src/tlsrpt/record.js';
import { mailtoAddress } from '../../src/tlsrpt/sender.js';
import { certificateFailure, isCertificateError } from '../../src/delivery/tls-failure.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { resolverFor } from '../helpers/dns-resolver-setup.js';

describe('parseTlsRptRecord', () => {
  const valid: [string, string[]][] = [
    ['v=TLSRPTv1; rua=mailto:reports@example.com', ['mailto:reports@example.com']],
    ['v=TLSRPTv1;rua=https://reporting.example.com/v1/tlsrpt', ['https://reporting.example.com/v1/tlsrpt']],
    ['v=TLSRPTv1; rua=mailto:a@example.com, https://r.example.com/x;', ['mailto:a@example.com', 'https://r.example.com/x']],
    ['v=TLSRPTv1 ; rua=mailto:a@example.com ; ext=value', ['mailto:a@example.com']],
    ['v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com', ['mailto:a@example.com', 'mailto:b@example.com']],
    ['v=TLSRPTv1; rua=mailto:tls%2Creports@example.com', ['mailto:tls%2Creports@example.com']],
  ];
  for (const [text, rua] of valid) {
    it(`reads ${JSON.stringify(text)}`, () => assert.deepEqual(parseTlsRptRecord(text), { rua }));
  }
  const invalid: [string, RegExp][] = [
    ['v=TLSRPTv2; rua=mailto:a@example.com', /must start with v=TLSRPTv1/],
    ['rua=mailto:a@example.com; v=TLSRPTv1', /must start with v=TLSRPTv1/],
    ['v=TLSRPTv1', /rua= is missing/],
    ['v=TLSRPTv1; ext=1', /rua= is missing/],
    ['v=TLSRPTv1; rua=', /is not a URI/],
    ['v=TLSRPTv1; rua=mailto:a@example.com,', /is not a URI/],
    ['v=TLSRPTv1; rua=mailto:a b@example.com', /is not a URI/],
    ['v=TLSRPTv1; rua', /is not field=value/],
    ['v=TLSRPTv1; rua=mailto:a@example.com; x=a=b', /characters a record may not hold/],
  ];
  for (const [text, problem] of invalid) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      const parsed = parseTlsRptRecord(text);
      assert.ok('problem' in parsed);
      assert.match(parsed.problem, problem);
    });
  }
});

describe('mailto: rua addresses', () => {
  it('takes the address before "?", percent-decoded, and refuses what is not a domain mailbox', () => {
    assert.equal(mailtoAddress('mailto:tls-reports@example.com'), 'tls-reports@example.com');
    assert.equal(mailtoAddress('mailto:tls%2Dreports@example.com?subject=x'), 'tls-reports@example.com');
    assert.equal(mailtoAddress('mailto:no-at-sign'), undefined);
    assert.equal(mailtoAddress('mailto:a@[192.0.2.1]'), undefined);
    assert.equal(mailtoAddress('mailto:%E0%A4%A'), undefined);
    assert.equal(mailtoAddress('mailto:a%0D%0ARCPT@example.com'), undefined);
  });
});

describe('discoverTlsRpt', () => {
  let dns: TestDnsServer;
  before(async () => {
    dns = await startDnsServer({
      zones: {
        '_smtp._tls.one.test': { TXT: ['v=spf1 -all', ['v=TLSRPTv1; rua=mailto:tls@', 'one.test']] },
        '_smtp._tls.two.test': { TXT: ['v=TLSRPTv1; rua=mailto:a@two.test', 'v=TLSRPTv1; rua=mailto:b@two.test'] },
        '_smtp._tls.bad.test': { TXT: ['v=TLSRPTv1; rua=ftp ://x'] },
        '_smtp._tls.other.test': { TXT: ['v=TLSRPTv10; rua=mailto:a@other.test'] },
      },
      faults: { '_smtp._tls.broken.test': { kind: 'servfail' } },
    });
  });
  after(() => dns.close());

  it('finds the one record (strings joined, other TXT records ignored)', async () => {
    const { resolver } = resolverFor([dns]);
    assert.deepEqual(await discoverTlsRpt(resolver, 'one.test'), { kind: 'record', rua: ['mailto:tls@one.test'] });
  });

  it('treats none, several, malformed and look-alike records as no reporting, and a failed lookup as an error', async () => {
    const { resolver } = resolverFor([dns]);
    const kinds = await Promise.all(['none.test', 'two.test', 'bad.test', 'other.test', 'broken.test'].map(async (domain) => (await discoverTlsRpt(resolver, domain)).kind));
    assert.deepEqual(kinds, ['none', 'none', 'none', 'none', 'error']);
  });
});

describe('TLS error codes as result types', () => {
  it('maps Node codes through one table; others are validation-failure', () => {
    const table: [string | undefined, string][] = [
      ['CERT_HAS_EXPIRED', 'certificate-expired'],
      ['ERR_TLS_CERT_ALTNAME_INVALID', 'certificate-host-mismatch'],
      ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'certificate-not-trusted'],
      ['SELF_SIGNED_CERT_IN_CHAIN', 'certificate-not-trusted'],
      ['DEPTH_ZERO_SELF_SIGNED_CERT', 'certificate-not-trusted'],
      ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'certificate-not-trusted'],
      ['CERT_NOT_YET_VALID', 'certificate-expired'],
      ['CERT_REVOKED', 'certificate-not-trusted'],
      ['ECONNRESET', 'validation-failure'],
      ['ERR_SSL_WRONG_VERSION_NUMBER', 'validation-failure'],
      [undefined, 'validation-failure'],
    ];
    assert.deepEqual(table.map(([code]) => certificateFailure(code)), table.map(([, type]) => type));
    assert.deepEqual([isCertificateError('CERT_HAS_EXPIRED'), isCertificateError('ECONNREFUSED'), isCertificateError(undefined)], [true, false, false]);
  });
});
