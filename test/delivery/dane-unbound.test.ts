// DANE against a real validating resolver: unbound (started and stopped by the test,
// its own config, loopback only) validates a zone signed with ldnsutils and an unsigned
// one; outpost's own resolver (DO bit, AD trusted with dns.dnssec) and outbound TLS setup
// deliver to fake MTAs: a matching TLSA record delivers, a wrong one skips the host,
// a tampered signature (bogus: SERVFAIL) defers without connecting, an unsigned zone is insecure.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../src/core/clock.js';
import { createOutboundTls } from '../../src/delivery/outbound-tls-setup.js';
import { SmtpTransport } from '../../src/delivery/transport.js';
import { planDelivery } from '../../src/dns/next-hop.js';
import type { Resolver } from '../../src/dns/resolver.js';
import { createResolver } from '../../src/dns/setup.js';
import type { FakeMta } from '../helpers/fake-mta.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog } from '../helpers/memory-log.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../helpers/tls-cert.js';
import { tlsaData } from '../helpers/tlsa-data.js';
import { startUnbound, type Unbound } from '../helpers/unbound.js';
import { CountingConnector, fakeMtaPool, outboundMessage, outcomeOf, runJob, TEST_TIMEOUTS } from './fixtures.js';

const fakeMta = fakeMtaPool(after);
const SCENARIOS = ['good', 'wrong', 'bogus', 'plain'] as const;
type Scenario = (typeof SCENARIOS)[number];

let unbound: Unbound;
let spoolDir: string;
const mtas = new Map<Scenario, FakeMta>();
const certs = new Map<Scenario, TestCertificate>();

/** The destination of a scenario: the unsigned zone for `plain`, the signed one otherwise. */
const domainOf = (scenario: Scenario): string => (scenario === 'plain' ? 'plain.test' : `${scenario}.dane.test`);

async function tlsaLine(owner: string, cert: TestCertificate): Promise<string> {
  return `${owner} IN TLSA 3 1 1 ${(await tlsaData(cert.cert, 1, 1)).toString('hex')}`;
}

before(async () => {
  const stranger = await makeSelfSignedCertificate('stranger.test');
  for (const scenario of SCENARIOS) {
    const cert = await makeSelfSignedCertificate(`mx.${domainOf(scenario)}`);
    certs.set(scenario, cert);
    mtas.set(scenario, await fakeMta({ tls: cert }));
  }
  const port = (scenario: Scenario): number => mtas.get(scenario)?.port ?? 0;
  const mxRecords = (name: string): string[] => [`${name} IN MX 10 mx.${name}`, `mx.${name} IN A 127.0.0.1`];
  const signed = [
    ...mxRecords('good'),
    await tlsaLine(`_${port('good')}._tcp.mx.good`, certs.get('good') as TestCertificate),
    ...mxRecords('wrong'),
    await tlsaLine(`_${port('wrong')}._tcp.mx.wrong`, stranger),
    ...mxRecords('bogus'),
    await tlsaLine(`_${port('bogus')}._tcp.mx.bogus`, certs.get('bogus') as TestCertificate),
  ];
  const unsigned = [`@ IN MX 10 mx`, `mx IN A 127.0.0.1`, await tlsaLine(`_${port('plain')}._tcp.mx`, stranger)];
  unbound = await startUnbound([
    { origin: 'dane.test', records: signed, signed: true, tamper: [{ name: `_${port('bogus')}._tcp.mx.bogus.dane.test`, type: 'TLSA' }] },
    { origin: 'plain.test', records: unsigned, signed: false },
  ]);
  spoolDir = await mkdtemp(join(tmpdir(), 'outpost-dane-unbound-'));
});
after(async () => {
  await unbound.stop();
  await rm(spoolDir, { recursive: true, force: true });
});

async function resolver(): Promise<Resolver> {
  return createResolver({ servers: [{ host: unbound.address, port: unbound.port }], timeoutMs: 5000, dnssec: true }, { clock: systemClock });
}

/** outpost's delivery as main.ts builds it: dns.dnssec on, delivery.port = the scenario's fake MTA. */
async function deliver(scenario: Scenario): Promise<{ outcome: ReturnType<typeof outcomeOf>; tls: string | null; connections: number; skips: string[] }> {
  const mta = mtas.get(scenario) as FakeMta;
  const dns = await resolver();
  const log = memoryLog('debug');
  const outbound = await createOutboundTls({ tlsPolicy: new Map(), mtaSts: false, caFile: undefined, port: mta.port }, { spoolDir, resolver: dns, ipv6: false, dnssec: true, clock: systemClock, logger: log.logger });
  const clock = new ManualClock(Date.now());
  const connector = new CountingConnector(clock);
  const skips: string[] = [];
  const transport = new SmtpTransport({
    hostname: 'outpost.test',
    timeouts: TEST_TIMEOUTS,
    planner: (domain) => planDelivery(domain, { resolver: dns, port: mta.port, ipv6: false, self: { hostnames: ['outpost.test'], endpoints: [] }, randomInt: () => 0 }),
    clock,
    connector,
    logger: log.logger,
    outboundTls: outbound.outboundTls,
    observer: { tlsPolicyFailure: (policy, result) => skips.push(`${policy}:${result}`) },
  });
  const domain = domainOf(scenario);
  const reports = await runJob(transport, domain, [outboundMessage('m1', [`a@${domain}`])]);
  return { outcome: outcomeOf(reports, 'm1', `a@${domain}`), tls: reports.get('m1')?.info.tls ?? null, connections: connector.requests.length, skips };
}

describe('DANE with unbound validating a signed zone', () => {
  it('answers the signed zone securely (AD) and the unsigned one insecurely', async () => {
    const dns = await resolver();
    const tlsa = await dns.lookup(`_${mtas.get('good')?.port ?? 0}._tcp.mx.good.dane.test`, 'TLSA');
    assert.deepEqual(tlsa.kind === 'ok' && [tlsa.records.length, tlsa.secure], [1, true]);
    const plain = await dns.lookup('mx.plain.test', 'A');
    assert.deepEqual(plain.kind === 'ok' && [plain.records, plain.secure], [['127.0.0.1'], false]);
    const bogus = await dns.lookup(`_${mtas.get('bogus')?.port ?? 0}._tcp.mx.bogus.dane.test`, 'TLSA');
    assert.equal(bogus.kind, 'servfail');
  });

  it('delivers when the certificate matches the DNSSEC-secure TLSA record', async () => {
    const { outcome, tls } = await deliver('good');
    assert.equal(outcome.kind, 'delivered');
    assert.match(tls ?? '', /\(verified by DANE-EE 3 1 1\)$/);
    assert.equal(mtas.get('good')?.messages.length, 1);
  });

  it('skips the host and defers (4.7.5) when the certificate does not match', async () => {
    const { outcome, skips } = await deliver('wrong');
    assert.deepEqual([outcome.kind, outcome.status], ['transient', '4.7.5']);
    assert.match(outcome.reply, /matches none of the TLSA records/);
    assert.deepEqual(skips, ['dane:validation-failure']);
    assert.equal(mtas.get('wrong')?.messages.length, 0);
  });

  it('defers without connecting when the TLSA signature is bogus', async () => {
    const { outcome, connections, skips } = await deliver('bogus');
    assert.deepEqual([outcome.kind, outcome.status], ['transient', '4.7.5']);
    assert.match(outcome.reply, /TLSA lookup of _\d+\._tcp\.mx\.bogus\.dane\.test failed: servfail/);
    assert.equal(connections, 0);
    assert.deepEqual(skips, ['dane:dnssec-invalid']);
    assert.match(unbound.log(), /validation failure <_\d+\._tcp\.mx\.bogus\.dane\.test\. TLSA IN>/);
  });

  it('delivers without DANE to an unsigned zone, whatever its TLSA records say', async () => {
    const { outcome, tls } = await deliver('plain');
    assert.equal(outcome.kind, 'delivered');
    assert.match(tls ?? '', /\(unverified\)$/);
  });
});
