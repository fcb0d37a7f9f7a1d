// REQUIRETLS (RFC 8689 §4.2.1) with DNSSEC and DANE, in-process: the test DNS server
// answers like a validating resolver (AD per name); a DNSSEC-secure MX answer
// authenticates the MX names (main.ts's MX_SECURE_BY_DNSSEC), and the server's
// certificate is checked by its TLSA records (RFC 7672) or against the trusted CAs.
// "TLS-Required: No" ignores DANE too (§5): no TLSA lookup, any certificate.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DaneLookup } from '../../src/dane/host-status.js';
import { MX_SECURE_BY_DNSSEC } from '../../src/delivery/message-tls-screen.js';
import { outboundTrust, type OutboundTrust } from '../../src/delivery/outbound-tls-setup.js';
import { OutboundTls } from '../../src/delivery/tls-policy.js';
import { SmtpTransport } from '../../src/delivery/transport.js';
import type { OutboundMessage } from '../../src/delivery/types.js';
import { planDelivery } from '../../src/dns/next-hop.js';
import type { TlsRequirement } from '../../src/spool/types.js';
import { resolverFor } from '../helpers/dns-resolver-setup.js';
import { startDnsServer, type TestDnsServer, type ZoneEntry } from '../helpers/dns-server.js';
import type { FakeMta } from '../helpers/fake-mta.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog, type MemoryLog } from '../helpers/memory-log.js';
import { makeTestCa, type TestCa } from '../helpers/test-ca.js';
import { makeSelfSignedCertificate } from '../helpers/tls-cert.js';
import { tlsaRecord } from '../helpers/tlsa-data.js';
import { CountingConnector, fakeMtaPool, outboundMessage, outcomeOf, runJob, TEST_TIMEOUTS } from './fixtures.js';
import { SecretFolder } from './route-fixtures.js';

const fakeMta = fakeMtaPool(after);

let dns: TestDnsServer;
let ca: TestCa;
let folder: SecretFolder;
let trust: OutboundTrust;

before(async () => {
  // Answers are secure (AD) unless a zone entry says `secure: false`.
  dns = await startDnsServer({ zones: {}, authenticated: true, negativeTtlSeconds: 0 });
  ca = await makeTestCa('requiretls dane test CA');
  folder = await SecretFolder.create();
  trust = await outboundTrust(await folder.write('ca.pem', ca.cert));
});
after(async () => {
  dns.close();
  await folder.remove();
});

const tlsaOwner = (mta: FakeMta, host: string): string => `_${mta.port}._tcp.${host}`;
const tlsaQueries = (host: string): number => dns.queries.filter((query) => query.type === 'TLSA' && query.name.endsWith(`._tcp.${host}`)).length;

/** `domain` with one MX host at 127.0.0.1, its TLSA records (if any) and zone entry overrides. */
function publish(domain: string, mta: FakeMta, what: { readonly tlsa?: NonNullable<ZoneEntry['TLSA']>; readonly mxEntry?: ZoneEntry } = {}): string {
  const mx = `mx.${domain}`;
  dns.zones[domain] = { MX: [{ preference: 10, exchange: mx }], ...what.mxEntry };
  dns.zones[mx] = { A: ['127.0.0.1'] };
  if (what.tlsa !== undefined) dns.zones[tlsaOwner(mta, mx)] = { TLSA: [...what.tlsa] };
  return mx;
}

interface Delivery {
  readonly transport: SmtpTransport;
  readonly log: MemoryLog;
  readonly failures: string[];
}

/** As main.ts wires it with dns.dnssec on: DANE lookups, the test CA trusted, MX names authenticated by a secure MX answer; no MTA-STS. */
function delivery(mta: FakeMta): Delivery {
  const clock = new ManualClock(Date.now() + 60_000);
  const { resolver } = resolverFor([dns], { clock, dnssec: true });
  const outboundTls = new OutboundTls({ levels: new Map(), mtaSts: undefined, secureContext: trust.secureContext, dane: new DaneLookup({ resolver, port: mta.port }) });
  const log = memoryLog('debug');
  const failures: string[] = [];
  const transport = new SmtpTransport({
    hostname: 'outpost.test',
    timeouts: TEST_TIMEOUTS,
    planner: (domain) => planDelivery(domain, { resolver, port: mta.port, ipv6: false, self: { hostnames: ['outpost.test'], endpoints: [] }, randomInt: () => 0 }),
    clock,
    connector: new CountingConnector(clock),
    logger: log.logger,
    outboundTls,
    mxAuthenticated: MX_SECURE_BY_DNSSEC,
    observer: { tlsPolicyFailure: (policy, result) => failures.push(`${policy}:${result}`) },
  });
  return { transport, log, failures };
}

const tagged = (domain: string, tlsRequirement: TlsRequirement): OutboundMessage => ({ ...outboundMessage('m1', [`a@${domain}`], 'Subject: m1\r\n\r\nsecret\r\n'), tlsRequirement });

async function send(under: Delivery, domain: string, tlsRequirement: TlsRequirement): Promise<{ outcome: ReturnType<typeof outcomeOf>; tls: string | null }> {
  const reports = await runJob(under.transport, domain, [tagged(domain, tlsRequirement)]);
  return { outcome: outcomeOf(reports, 'm1', `a@${domain}`), tls: reports.get('m1')?.info.tls ?? null };
}

describe('REQUIRETLS via a DNSSEC-secure MX answer', () => {
  it('is delivered to a host whose self-signed certificate matches its DANE-EE record: a DANE match counts as verified', async () => {
    const domain = 'rt-dane.test';
    const cert = await makeSelfSignedCertificate(`mx.${domain}`);
    const mta = await fakeMta({ tls: cert, extensions: { requireTls: true } });
    const mx = publish(domain, mta, { tlsa: [await tlsaRecord(cert.cert, 3, 1, 1)] });
    const under = delivery(mta);
    const { outcome, tls } = await send(under, domain, 'requiretls');
    assert.equal(outcome.kind, 'delivered');
    assert.match(tls ?? '', /\(verified by DANE-EE 3 1 1\)$/);
    assert.equal(mta.messages[0]?.mailParams, 'REQUIRETLS');
    assert.equal(mta.messages[0]?.tls, true);
    assert.deepEqual(under.failures, []);
    assert.equal(under.log.messages('requiretls: hosts chosen')[0]?.['requiretls'], 'DNSSEC-secure MX');
    assert.equal(under.log.messages('session open')[0]?.['tlsRequiredBy'], `REQUIRETLS (RFC 8689) and the DANE TLSA records at ${tlsaOwner(mta, mx)}`);
  });

  it('is delivered to a host without TLSA records whose certificate verifies against the trusted CAs (WebPKI)', async () => {
    const domain = 'rt-pkix.test';
    const mta = await fakeMta({ tls: await ca.issue(`mx.${domain}`), extensions: { requireTls: true } });
    const mx = publish(domain, mta);
    const under = delivery(mta);
    const { outcome, tls } = await send(under, domain, 'requiretls');
    assert.equal(outcome.kind, 'delivered');
    assert.match(tls ?? '', /\(verified\)$/);
    assert.equal(mta.messages[0]?.mailParams, 'REQUIRETLS');
    assert.equal(tlsaQueries(mx), 1, 'DANE was asked and found no records');
    assert.equal(under.log.messages('requiretls: hosts chosen')[0]?.['requiretls'], 'DNSSEC-secure MX');
    assert.equal(under.log.messages('session open')[0]?.['tlsRequiredBy'], 'REQUIRETLS (RFC 8689)');
  });

  it('bounces 5.7.10 when the certificate matches none of the TLSA records, even one the CAs would verify', async () => {
    const domain = 'rt-mismatch.test';
    const mta = await fakeMta({ tls: await ca.issue(`mx.${domain}`), extensions: { requireTls: true } });
    publish(domain, mta, { tlsa: [await tlsaRecord((await makeSelfSignedCertificate('stranger.test')).cert, 3, 1, 1)] });
    const under = delivery(mta);
    const { outcome } = await send(under, domain, 'requiretls');
    assert.deepEqual([outcome.kind, outcome.status], ['permanent', '5.7.10']);
    assert.match(outcome.reply, /matches none of the TLSA records/);
    assert.equal(mta.messages.length, 0);
    assert.deepEqual(under.failures, ['requiretls:validation-failure']);
  });

  it('bounces 5.7.10 (mx-not-authenticated) when the MX answer is not secure, without connecting', async () => {
    const domain = 'rt-insecure.test';
    const mta = await fakeMta({ tls: await ca.issue(`mx.${domain}`), extensions: { requireTls: true } });
    publish(domain, mta, { mxEntry: { secure: false } });
    const under = delivery(mta);
    const { outcome } = await send(under, domain, 'requiretls');
    assert.deepEqual([outcome.kind, outcome.status], ['permanent', '5.7.10']);
    assert.match(outcome.reply, /not authenticated: the MX answer is not DNSSEC-secure/);
    assert.equal(mta.sessions.length, 0);
    assert.deepEqual(under.failures, ['requiretls:mx-not-authenticated']);
  });
});

describe('TLS-Required: No and DANE (RFC 8689 §5)', () => {
  it('ignores usable TLSA records the certificate does not match: no TLSA lookup, delivered over unchecked TLS', async () => {
    const domain = 'rt-no.test';
    const mta = await fakeMta({ tls: await makeSelfSignedCertificate(`mx.${domain}`) });
    const mx = publish(domain, mta, { tlsa: [await tlsaRecord((await makeSelfSignedCertificate('stranger.test')).cert, 3, 1, 1)] });
    const under = delivery(mta);
    const { outcome, tls } = await send(under, domain, 'tls-required-no');
    assert.equal(outcome.kind, 'delivered');
    assert.match(tls ?? '', /\(unverified\)$/);
    assert.equal(tlsaQueries(mx), 0);
    assert.deepEqual(under.failures, []);
  });
});
