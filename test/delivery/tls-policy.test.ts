// delivery.tlsPolicy levels against fake MTAs: verify (TLS required, certificate
// verified for the MX name with delivery.caFile), encrypt (TLS required, any
// certificate), may (opportunistic), none (never STARTTLS); an entry overrides MTA-STS.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TlsPolicyLevel } from '../../src/config/types.js';
import { outboundTrust } from '../../src/delivery/outbound-tls-setup.js';
import { OutboundTls, type StsPolicySource } from '../../src/delivery/tls-policy.js';
import type { FakeMta } from '../helpers/fake-mta.js';
import { makeTestCa, type TestCa } from '../helpers/test-ca.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../helpers/tls-cert.js';
import { fakeMtaPool, outboundMessage, outcomeOf, planTo, runJob, transportFor, type TransportUnderTest } from './fixtures.js';
import { SecretFolder } from './route-fixtures.js';

const fakeMta = fakeMtaPool(after);
const MX = 'mx1.dest.test';
let ca: TestCa;
let selfSigned: TestCertificate;
let folder: SecretFolder;
let caFile: string;

before(async () => {
  ca = await makeTestCa();
  selfSigned = await makeSelfSignedCertificate(MX);
  folder = await SecretFolder.create();
  caFile = await folder.write('ca.pem', ca.cert);
});
after(() => folder.remove());

/** A source that answers an enforce policy naming no host of the plan, counting its lookups. */
function enforcingElsewhere(): StsPolicySource & { lookups: number } {
  const source = {
    lookups: 0,
    lookup(domain: string) {
      source.lookups += 1;
      return Promise.resolve({ kind: 'policy' as const, domain, id: '1', policy: { mode: 'enforce' as const, mx: ['mx.elsewhere.test'], maxAgeSeconds: 86_400 }, source: 'cached' as const, fetchedAtMs: 0, expiresAtMs: Number.MAX_SAFE_INTEGER });
    },
  };
  return source;
}

async function withLevel(mta: FakeMta, level: TlsPolicyLevel, mtaSts?: StsPolicySource): Promise<TransportUnderTest> {
  const trust = await outboundTrust(caFile);
  const outboundTls = new OutboundTls({ levels: new Map([['dest.test', level]]), mtaSts, secureContext: trust.secureContext });
  return transportFor(planTo(mta, MX), { outboundTls });
}

async function deliver(mta: FakeMta, level: TlsPolicyLevel): Promise<ReturnType<typeof outcomeOf> & { tls: string | null }> {
  const { transport } = await withLevel(mta, level);
  const reports = await runJob(transport, 'dest.test', [outboundMessage('m1', ['a@dest.test'])]);
  return { ...outcomeOf(reports, 'm1', 'a@dest.test'), tls: reports.get('m1')?.info.tls ?? null };
}

const verbs = (mta: FakeMta): string[] => mta.sessions.flatMap((session) => session.commands).map((command) => command.split(' ')[0] ?? '');

describe('tlsPolicy verify', () => {
  it('delivers when the certificate chains to delivery.caFile and names the MX host', async () => {
    const mta = await fakeMta({ tls: await ca.issue(MX) });
    const outcome = await deliver(mta, 'verify');
    assert.equal(outcome.kind, 'delivered');
    assert.match(outcome.tls ?? '', /\(verified\)$/);
  });

  it('defers with 4.7.5 a self-signed certificate, one for another name, and no STARTTLS', async () => {
    const cases: [FakeMta, RegExp][] = [
      [await fakeMta({ tls: selfSigned }), /certificate does not verify for mx1\.dest\.test \(DEPTH_ZERO_SELF_SIGNED_CERT\)$/],
      [await fakeMta({ tls: await ca.issue('mx2.dest.test') }), /certificate does not verify for mx1\.dest\.test \(ERR_TLS_CERT_ALTNAME_INVALID\)$/],
      [await fakeMta(), /it does not offer STARTTLS$/],
    ];
    for (const [mta, reason] of cases) {
      const outcome = await deliver(mta, 'verify');
      assert.equal(outcome.status, '4.7.5');
      assert.match(outcome.reply, /^451 4\.7\.5 TLS is required by delivery\.tlsPolicy \(verify\) of dest\.test with mx1\.dest\.test\[127\.0\.0\.1\], but /);
      assert.match(outcome.reply, reason);
      assert.equal(mta.messages.length, 0);
      assert.equal(mta.sessions.length, 1, 'no plaintext retry');
    }
  });
});

describe('tlsPolicy encrypt', () => {
  it('delivers over TLS with a certificate that does not verify', async () => {
    const mta = await fakeMta({ tls: selfSigned });
    const outcome = await deliver(mta, 'encrypt');
    assert.equal(outcome.kind, 'delivered');
    assert.match(outcome.tls ?? '', /\(unverified\)$/);
    assert.equal(mta.messages[0]?.tls, true);
  });

  it('defers with 4.7.5 an MX without STARTTLS', async () => {
    const mta = await fakeMta();
    const outcome = await deliver(mta, 'encrypt');
    assert.equal(outcome.status, '4.7.5');
    assert.match(outcome.reply, /TLS is required by delivery\.tlsPolicy \(encrypt\) of dest\.test with .* but it does not offer STARTTLS$/);
    assert.deepEqual(verbs(mta), ['EHLO', 'QUIT']);
  });
});

describe('tlsPolicy may and none', () => {
  it('may: delivers in plaintext when STARTTLS is not offered', async () => {
    const mta = await fakeMta();
    const outcome = await deliver(mta, 'may');
    assert.deepEqual([outcome.kind, outcome.tls], ['delivered', null]);
  });

  it('none: never says STARTTLS, even when offered', async () => {
    const mta = await fakeMta({ tls: selfSigned });
    const outcome = await deliver(mta, 'none');
    assert.deepEqual([outcome.kind, outcome.tls], ['delivered', null]);
    assert.ok(!verbs(mta).includes('STARTTLS'));
    assert.equal(mta.messages[0]?.tls, false);
  });
});

describe('tlsPolicy and MTA-STS', () => {
  it('an entry for the domain is used instead of its MTA-STS policy, which is not looked up', async () => {
    const mta = await fakeMta({ tls: selfSigned });
    const sts = enforcingElsewhere();
    const { transport } = await withLevel(mta, 'encrypt', sts);
    assert.equal(outcomeOf(await runJob(transport, 'dest.test', [outboundMessage('m1', ['a@dest.test'])]), 'm1', 'a@dest.test').kind, 'delivered');
    assert.equal(sts.lookups, 0);
  });
});
