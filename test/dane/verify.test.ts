// Certificate matching against TLSA records (RFC 6698 §2.1, RFC 7671 §5, RFC 7672 §3)
// with certificates from openssl and association data computed by openssl: every
// selector and matching type, DANE-EE ignoring names and dates, DANE-TA checking the
// chain, the names and the dates; and which records SMTP can use at all.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { isUsableTlsa, tlsaText } from '../../src/dane/tlsa.js';
import { verifyDane, type DaneCheck } from '../../src/dane/verify.js';
import type { TlsaRecord } from '../../src/dns/types.js';
import { makeTestCa, type TestCa } from '../helpers/test-ca.js';
import type { TestCertificate } from '../helpers/tls-cert.js';
import { certificateDer, tlsaData } from '../helpers/tlsa-data.js';

const MX = 'mx1.dane.test';
/** A minute after the certificates were made (they are valid one day). */
let NOW: number;

let ca: TestCa;
let otherCa: TestCa;
let leaf: TestCertificate;
let expiredLeaf: TestCertificate;
let chain: Buffer[];
let expiredChain: Buffer[];

async function record(pem: string, usage: number, selector: 0 | 1, matchingType: 0 | 1 | 2): Promise<TlsaRecord> {
  return { usage, selector, matchingType, certificateData: await tlsaData(pem, selector, matchingType) };
}

function check(records: readonly TlsaRecord[], names: readonly string[] = [MX]): DaneCheck {
  return { records, names };
}

before(async () => {
  ca = await makeTestCa('dane test CA');
  otherCa = await makeTestCa('unrelated CA');
  leaf = await ca.issue(MX);
  expiredLeaf = await ca.issue(MX, { expired: true });
  chain = [await certificateDer(leaf.cert), await certificateDer(ca.cert)];
  expiredChain = [await certificateDer(expiredLeaf.cert), await certificateDer(ca.cert)];
  NOW = Date.now() + 60_000;
});

describe('DANE-EE(3)', () => {
  for (const [selector, matchingType] of [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]] as const) {
    it(`matches 3 ${selector} ${matchingType} against the server certificate`, async () => {
      const verdict = verifyDane(chain, check([await record(leaf.cert, 3, selector, matchingType)]), NOW);
      assert.deepEqual(verdict.ok && verdict.matched, `DANE-EE 3 ${selector} ${matchingType}`);
    });
  }

  it('refuses a record whose hash is not the certificate\'s, naming it', async () => {
    const wrong = await record(otherCa.cert, 3, 1, 1);
    const verdict = verifyDane(chain, check([wrong]), NOW);
    assert.deepEqual(verdict, { ok: false, reason: 'DANE-EE 3 1 1: the server certificate does not match' });
  });

  it('ignores the names and the dates of the certificate', async () => {
    const verdict = verifyDane(expiredChain, check([await record(expiredLeaf.cert, 3, 1, 1)], ['somewhere.else.test']), NOW);
    assert.equal(verdict.ok, true);
  });

  it('accepts any one matching record of several', async () => {
    const records = [await record(otherCa.cert, 3, 1, 1), await record(leaf.cert, 3, 0, 1)];
    const verdict = verifyDane(chain, check(records), NOW);
    assert.deepEqual(verdict.ok && verdict.record, records[1]);
  });
});

describe('DANE-TA(2)', () => {
  for (const [selector, matchingType] of [[0, 1], [1, 1], [0, 2], [1, 0]] as const) {
    it(`accepts a chain through the CA of a 2 ${selector} ${matchingType} record when the leaf names the MX host`, async () => {
      const verdict = verifyDane(chain, check([await record(ca.cert, 2, selector, matchingType)]), NOW);
      assert.deepEqual(verdict.ok && verdict.matched, `DANE-TA 2 ${selector} ${matchingType}`);
    });
  }

  it('accepts the next-hop domain as a reference identifier too (RFC 7672 §3.2.2)', async () => {
    const forDomain = await ca.issue('dane.test');
    const verdict = verifyDane([await certificateDer(forDomain.cert), await certificateDer(ca.cert)], check([await record(ca.cert, 2, 0, 1)], [MX, 'dane.test']), NOW);
    assert.equal(verdict.ok, true);
  });

  it('refuses a leaf that names neither the MX host nor the domain', async () => {
    const verdict = verifyDane(chain, check([await record(ca.cert, 2, 0, 1)], ['mx2.dane.test', 'dane.test']), NOW);
    assert.deepEqual(verdict, { ok: false, reason: 'DANE-TA 2 0 1: the certificate names none of mx2.dane.test, dane.test' });
  });

  it('refuses an expired leaf', async () => {
    const verdict = verifyDane(expiredChain, check([await record(ca.cert, 2, 0, 1)]), NOW);
    assert.deepEqual(verdict, { ok: false, reason: 'DANE-TA 2 0 1: the certificate at depth 0 is expired or not yet valid' });
  });

  it('refuses a chain without the trust anchor, unless a 2 0 0 record carries it', async () => {
    const leafOnly = chain.slice(0, 1);
    assert.deepEqual(verifyDane(leafOnly, check([await record(ca.cert, 2, 0, 1)]), NOW), { ok: false, reason: 'DANE-TA 2 0 1: no certificate in the chain matches' });
    assert.equal(verifyDane(leafOnly, check([await record(ca.cert, 2, 0, 0)]), NOW).ok, true);
  });

  it('refuses a trust anchor the leaf was not issued by', async () => {
    const sentAlong = [chain[0] as Buffer, await certificateDer(otherCa.cert)];
    const verdict = verifyDane(sentAlong, check([await record(otherCa.cert, 2, 0, 1)]), NOW);
    assert.deepEqual(verdict, { ok: false, reason: 'DANE-TA 2 0 1: the certificate at depth 0 is not issued by the next one up to the trust anchor' });
  });
});

describe('usable TLSA records for SMTP', () => {
  const data = (bytes: number): Uint8Array => new Uint8Array(bytes).fill(7);
  const table: ReadonlyArray<readonly [string, TlsaRecord, boolean]> = [
    ['DANE-EE SPKI SHA2-256', { usage: 3, selector: 1, matchingType: 1, certificateData: data(32) }, true],
    ['DANE-TA Cert SHA2-512', { usage: 2, selector: 0, matchingType: 2, certificateData: data(64) }, true],
    ['DANE-EE full data', { usage: 3, selector: 0, matchingType: 0, certificateData: data(300) }, true],
    ['PKIX-TA', { usage: 0, selector: 0, matchingType: 1, certificateData: data(32) }, false],
    ['PKIX-EE', { usage: 1, selector: 1, matchingType: 1, certificateData: data(32) }, false],
    ['an unknown usage', { usage: 4, selector: 1, matchingType: 1, certificateData: data(32) }, false],
    ['an unknown selector', { usage: 3, selector: 2, matchingType: 1, certificateData: data(32) }, false],
    ['an unknown matching type', { usage: 3, selector: 1, matchingType: 3, certificateData: data(32) }, false],
    ['a SHA2-256 digest of 31 bytes', { usage: 3, selector: 1, matchingType: 1, certificateData: data(31) }, false],
    ['empty full data', { usage: 3, selector: 1, matchingType: 0, certificateData: data(0) }, false],
  ];
  for (const [what, tlsa, usable] of table) {
    it(`${usable ? 'uses' : 'does not use'} ${what}`, () => assert.equal(isUsableTlsa(tlsa), usable));
  }

  it('shows records in presentation form, long data cut short', () => {
    assert.equal(tlsaText({ usage: 3, selector: 1, matchingType: 1, certificateData: Uint8Array.from([0xab, 0x01]) }), '3 1 1 ab01');
    assert.equal(tlsaText({ usage: 3, selector: 0, matchingType: 0, certificateData: data(100) }), `3 0 0 ${'07'.repeat(32)}…`);
  });
});
