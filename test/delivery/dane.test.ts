// DANE for outbound SMTP (RFC 7672) end to end in-process: the test DNS server answers
// like a validating resolver (AD per name, SERVFAIL for bogus data), fake MTAs offer
// STARTTLS with self-signed or CA-issued certificates, and TLSA data comes from openssl.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TlsPolicyLevel } from '../../src/config/types.js';
import { DaneLookup } from '../../src/dane/host-status.js';
import type { HostTlsFailure } from '../../src/delivery/tls-failure.js';
import { OutboundTls, type StsPolicySource } from '../../src/delivery/tls-policy.js';
import { SmtpTransport } from '../../src/delivery/transport.js';
import { planDelivery } from '../../src/dns/next-hop.js';
import { resolverFor } from '../helpers/dns-resolver-setup.js';
import { startDnsServer, type TestDnsServer, type ZoneEntry } from '../helpers/dns-server.js';
import type { FakeMta } from '../helpers/fake-mta.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog, type MemoryLog } from '../helpers/memory-log.js';
import { makeTestCa, type TestCa } from '../helpers/test-ca.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../helpers/tls-cert.js';
import { tlsaRecord } from '../helpers/tlsa-data.js';
import { CountingConnector, fakeMtaPool, outboundMessage, outcomeOf, runJob, TEST_TIMEOUTS, type Reported } from './fixtures.js';

const fakeMta = fakeMtaPool(after);
type Tlsa = NonNullable<ZoneEntry['TLSA']>;

let dns: TestDnsServer;
let ca: TestCa;
let stranger: TestCertificate;

before(async () => {
  // Answers are secure (AD) unless a zone entry says `secure: false`.
  dns = await startDnsServer({ zones: {}, authenticated: true, negativeTtlSeconds: 0 });
  ca = await makeTestCa('dane test CA');
  stranger = await makeSelfSignedCertificate('stranger.test');
});
after(() => dns.close());

interface Publication {
  readonly mx?: readonly string[];
  /** TLSA records per MX host. */
  readonly tlsa?: Readonly<Record<string, Tlsa>>;
  /** Zone entry overrides by owner name (e.g. `{ secure: false }`). */
  readonly entries?: Readonly<Record<string, ZoneEntry>>;
}

/** A domain with MX hosts at 127.0.0.1 and their TLSA records for the fake MTA's port. */
function publish(domain: string, mta: FakeMta, what: Publication): void {
  const mx = what.mx ?? [`mx.${domain}`];
  dns.zones[domain] = { MX: mx.map((exchange, index) => ({ preference: (index + 1) * 10, exchange })) };
  for (const host of mx) dns.zones[host] = { A: ['127.0.0.1'] };
  for (const [host, records] of Object.entries(what.tlsa ?? {})) dns.zones[tlsaOwner(mta, host)] = { TLSA: [...records] };
  for (const [name, entry] of Object.entries(what.entries ?? {})) dns.zones[name] = { ...dns.zones[name], ...entry };
}

const tlsaOwner = (mta: FakeMta, host: string): string => `_${mta.port}._tcp.${host}`;

interface Delivery {
  readonly transport: SmtpTransport;
  readonly connector: CountingConnector;
  readonly log: MemoryLog;
  readonly skips: string[];
  readonly failures: HostTlsFailure[];
  readonly statuses: string[];
}

/** The transport with MX plans from the test DNS server (MX port = the fake MTA's), its AD bit trusted unless `dnssec` is false. */
function delivery(mta: FakeMta, options: { levels?: ReadonlyMap<string, TlsPolicyLevel>; mtaSts?: StsPolicySource; dnssec?: boolean } = {}): Delivery {
  // Certificates are made now and valid a day: the clock starts at the real time (DANE-TA checks dates).
  const clock = new ManualClock(Date.now() + 60_000);
  const dnssec = options.dnssec ?? true;
  const { resolver } = resolverFor([dns], { clock, dnssec });
  const dane = dnssec ? new DaneLookup({ resolver, port: mta.port }) : undefined;
  const outboundTls = new OutboundTls({ levels: options.levels ?? new Map(), mtaSts: options.mtaSts, secureContext: undefined, dane });
  const connector = new CountingConnector(clock);
  const log = memoryLog('debug');
  const skips: string[] = [];
  const failures: HostTlsFailure[] = [];
  const statuses: string[] = [];
  const transport = new SmtpTransport({
    hostname: 'outpost.test',
    timeouts: TEST_TIMEOUTS,
    planner: (domain) => planDelivery(domain, { resolver, port: mta.port, ipv6: false, self: { hostnames: ['outpost.test'], endpoints: [] }, randomInt: () => 0 }),
    clock,
    connector,
    logger: log.logger,
    outboundTls,
    observer: {
      tlsPolicyFailure: (policy, result) => skips.push(`${policy}:${result}`),
      tlsFailure: (failure) => failures.push(failure),
      daneHostStatus: (status) => statuses.push(status),
    },
  });
  return { transport, connector, log, skips, failures, statuses };
}

async function send(under: Delivery, domain: string): Promise<{ outcome: ReturnType<typeof outcomeOf>; report: Reported | undefined }> {
  const reports = await runJob(under.transport, domain, [outboundMessage('m1', [`a@${domain}`])]);
  return { outcome: outcomeOf(reports, 'm1', `a@${domain}`), report: reports.get('m1') };
}

const verbs = (mta: FakeMta): string[] => mta.sessions.flatMap((session) => session.commands).map((command) => command.split(' ')[0]?.toUpperCase() ?? '');
const tlsaQueries = (host: string): number => dns.queries.filter((query) => query.type === 'TLSA' && query.name.endsWith(`._tcp.${host}`)).length;

describe('DANE-EE(3)', () => {
  for (const [selector, matchingType] of [[0, 1], [1, 1], [1, 2], [0, 0]] as const) {
    it(`delivers when the certificate matches a 3 ${selector} ${matchingType} record, with the MX name as SNI`, async () => {
      const domain = `ee${selector}${matchingType}.test`;
      const mx = `mx.${domain}`;
      const cert = await makeSelfSignedCertificate(mx);
      const mta = await fakeMta({ tls: cert });
      publish(domain, mta, { tlsa: { [mx]: [await tlsaRecord(cert.cert, 3, selector, matchingType)] } });
      const under = delivery(mta);
      const { outcome, report } = await send(under, domain);
      assert.equal(outcome.kind, 'delivered');
      assert.match(report?.info.tls ?? '', new RegExp(`^TLSv1\\.[23] \\S+ \\(verified by DANE-EE 3 ${selector} ${matchingType}\\)$`));
      assert.equal(mta.sessions[0]?.servername, mx);
      assert.equal(mta.messages[0]?.tls, true);
      assert.equal(under.log.messages('session open')[0]?.['tlsRequiredBy'], `the DANE TLSA records at ${tlsaOwner(mta, mx)}`);
      assert.deepEqual(under.statuses, ['usable']);
      assert.ok(dns.queries.filter((query) => query.name === tlsaOwner(mta, mx)).every((query) => query.dnssecOk), 'DO set on the TLSA query');
    });
  }

  it('delivers to an expired certificate and one for another name: DANE-EE ignores both', async () => {
    for (const [domain, cert] of [['expired-ee.test', await ca.issue('mx.expired-ee.test', { expired: true })], ['othername-ee.test', stranger]] as const) {
      const mta = await fakeMta({ tls: cert });
      publish(domain, mta, { tlsa: { [`mx.${domain}`]: [await tlsaRecord(cert.cert, 3, 1, 1)] } });
      const { outcome } = await send(delivery(mta), domain);
      assert.equal(outcome.kind, 'delivered', domain);
    }
  });

  it('skips a host whose certificate matches no record, never in clear, and defers with 4.7.5 when none is left', async () => {
    const domain = 'wrong.test';
    const mx = `mx.${domain}`;
    const mta = await fakeMta({ tls: await makeSelfSignedCertificate(mx) });
    publish(domain, mta, { tlsa: { [mx]: [await tlsaRecord(stranger.cert, 3, 1, 1)] } });
    const under = delivery(mta);
    const { outcome } = await send(under, domain);
    assert.deepEqual([outcome.kind, outcome.status, outcome.remote], ['transient', '4.7.5', false]);
    assert.equal(
      outcome.reply,
      `451 4.7.5 TLS is required by the DANE TLSA records at ${tlsaOwner(mta, mx)} with ${mx}[127.0.0.1], but its certificate matches none of the TLSA records (DANE-EE 3 1 1: the server certificate does not match)`,
    );
    assert.equal(mta.sessions.length, 1);
    assert.deepEqual(verbs(mta), ['EHLO', 'STARTTLS']);
    assert.deepEqual(under.skips, ['dane:validation-failure']);
    assert.deepEqual(under.failures.map(({ resultType, policy, domain: at, mx: host, address }) => [resultType, policy, at, host, address]), [['validation-failure', 'dane', domain, mx, '127.0.0.1']]);
  });

  it('goes on to the next MX host when one fails to match', async () => {
    const domain = 'second.test';
    const cert = await makeSelfSignedCertificate('mx.second.test');
    const mta = await fakeMta({ tls: cert });
    publish(domain, mta, { mx: ['mx1.second.test', 'mx2.second.test'], tlsa: { 'mx1.second.test': [await tlsaRecord(stranger.cert, 3, 1, 1)], 'mx2.second.test': [await tlsaRecord(cert.cert, 3, 1, 1)] } });
    const { outcome, report } = await send(delivery(mta), domain);
    assert.equal(outcome.kind, 'delivered');
    assert.equal(report?.info.mx, 'mx2.second.test');
    assert.equal(mta.messages.length, 1);
  });

  it('defers with 4.7.5 when a host with TLSA records does not offer STARTTLS', async () => {
    const domain = 'nostarttls.test';
    const mta = await fakeMta();
    publish(domain, mta, { tlsa: { [`mx.${domain}`]: [await tlsaRecord(stranger.cert, 3, 1, 1)] } });
    const under = delivery(mta);
    const { outcome } = await send(under, domain);
    assert.equal(outcome.status, '4.7.5');
    assert.match(outcome.reply, /, but it does not offer STARTTLS$/);
    assert.deepEqual(verbs(mta), ['EHLO', 'QUIT']);
    assert.deepEqual(under.skips, ['dane:starttls-not-supported']);
  });

  it('uses the TLSA records of an implicit MX (the domain\'s own secure address)', async () => {
    const domain = 'bare.test';
    const cert = await makeSelfSignedCertificate(domain);
    const mta = await fakeMta({ tls: cert });
    dns.zones[domain] = { A: ['127.0.0.1'] };
    dns.zones[tlsaOwner(mta, domain)] = { TLSA: [await tlsaRecord(cert.cert, 3, 1, 1)] };
    const { outcome, report } = await send(delivery(mta), domain);
    assert.equal(outcome.kind, 'delivered');
    assert.match(report?.info.tls ?? '', /verified by DANE-EE 3 1 1/);
  });
});

describe('DANE-TA(2)', () => {
  it('delivers when the chain the server sends leads to the CA of a 2 0 1 record and names the MX host', async () => {
    const domain = 'ta.test';
    const leaf = await ca.issue(`mx.${domain}`);
    const mta = await fakeMta({ tls: { key: leaf.key, cert: `${leaf.cert}${ca.cert}` } });
    publish(domain, mta, { tlsa: { [`mx.${domain}`]: [await tlsaRecord(ca.cert, 2, 0, 1)] } });
    const { outcome, report } = await send(delivery(mta), domain);
    assert.equal(outcome.kind, 'delivered');
    assert.match(report?.info.tls ?? '', /\(verified by DANE-TA 2 0 1\)$/);
  });

  it('defers when the certificate chains to the CA but names another host', async () => {
    const domain = 'ta-name.test';
    const leaf = await ca.issue('mx.elsewhere.test');
    const mta = await fakeMta({ tls: { key: leaf.key, cert: `${leaf.cert}${ca.cert}` } });
    publish(domain, mta, { tlsa: { [`mx.${domain}`]: [await tlsaRecord(ca.cert, 2, 0, 1)] } });
    const under = delivery(mta);
    const { outcome } = await send(under, domain);
    assert.equal(outcome.status, '4.7.5');
    assert.match(outcome.reply, /matches none of the TLSA records \(DANE-TA 2 0 1: the certificate names none of mx\.ta-name\.test, ta-name\.test\)$/);
    assert.deepEqual(under.skips, ['dane:validation-failure']);
  });
});

describe('when DANE does not apply', () => {
  it('ignores PKIX-TA and PKIX-EE records: TLS still required, the certificate not authenticated (RFC 7672 §2.2)', async () => {
    const domain = 'pkix.test';
    const mx = `mx.${domain}`;
    const cert = await ca.issue(mx);
    const mta = await fakeMta({ tls: cert });
    publish(domain, mta, { tlsa: { [mx]: [await tlsaRecord(cert.cert, 1, 1, 1), await tlsaRecord(ca.cert, 0, 0, 1)] } });
    const under = delivery(mta);
    const { outcome, report } = await send(under, domain);
    assert.equal(outcome.kind, 'delivered');
    assert.match(report?.info.tls ?? '', /\(unverified\)$/);
    assert.equal(under.log.messages('dane: no usable tlsa record, tls required without authentication')[0]?.['resultType'], 'tlsa-invalid');

    const plain = await fakeMta();
    publish('pkix-plain.test', plain, { tlsa: { 'mx.pkix-plain.test': [await tlsaRecord(cert.cert, 1, 1, 1)] } });
    const refused = await send(delivery(plain), 'pkix-plain.test');
    assert.equal(refused.outcome.status, '4.7.5', 'never in clear');
    assert.deepEqual(verbs(plain), ['EHLO', 'QUIT']);
  });

  it('does not let a matching PKIX-EE record stand in for a DANE-EE one that fails', async () => {
    const domain = 'pkix-mixed.test';
    const mx = `mx.${domain}`;
    const cert = await makeSelfSignedCertificate(mx);
    const mta = await fakeMta({ tls: cert });
    publish(domain, mta, { tlsa: { [mx]: [await tlsaRecord(cert.cert, 1, 1, 1), await tlsaRecord(stranger.cert, 3, 1, 1)] } });
    const { outcome } = await send(delivery(mta), domain);
    assert.equal(outcome.status, '4.7.5');
  });

  it('does not look up TLSA records behind an insecure MX RRset or insecure addresses', async () => {
    for (const [domain, insecure] of [['insecure-mx.test', 'insecure-mx.test'], ['insecure-a.test', 'mx.insecure-a.test']] as const) {
      const mx = `mx.${domain}`;
      const mta = await fakeMta({ tls: await makeSelfSignedCertificate(mx) });
      publish(domain, mta, { tlsa: { [mx]: [await tlsaRecord(stranger.cert, 3, 1, 1)] }, entries: { [insecure]: { secure: false } } });
      const under = delivery(mta);
      const { outcome, report } = await send(under, domain);
      assert.equal(outcome.kind, 'delivered', domain);
      assert.match(report?.info.tls ?? '', /\(unverified\)$/);
      assert.equal(tlsaQueries(mx), 0, domain);
      assert.deepEqual(under.statuses, ['insecure']);
    }
  });

  it('ignores insecure TLSA records and delivers as without them', async () => {
    const domain = 'insecure-tlsa.test';
    const mx = `mx.${domain}`;
    const mta = await fakeMta({ tls: await makeSelfSignedCertificate(mx) });
    publish(domain, mta, { tlsa: { [mx]: [await tlsaRecord(stranger.cert, 3, 1, 1)] } });
    dns.zones[tlsaOwner(mta, mx)] = { ...dns.zones[tlsaOwner(mta, mx)], secure: false };
    const under = delivery(mta);
    const { outcome } = await send(under, domain);
    assert.equal(outcome.kind, 'delivered');
    assert.equal(tlsaQueries(mx), 1);
    assert.deepEqual(under.statuses, ['insecure']);
  });

  it('delivers opportunistically when TLSA records are securely absent, and without looking when DNSSEC is off', async () => {
    const domain = 'absent.test';
    const mta = await fakeMta({ tls: stranger });
    publish(domain, mta, {});
    const under = delivery(mta);
    assert.equal((await send(under, domain)).outcome.kind, 'delivered');
    assert.deepEqual(under.statuses, ['absent']);

    const off = 'dnssec-off.test';
    publish(off, mta, { tlsa: { [`mx.${off}`]: [await tlsaRecord(ca.cert, 3, 1, 1)] } });
    assert.equal((await send(delivery(mta, { dnssec: false }), off)).outcome.kind, 'delivered');
    assert.equal(tlsaQueries(`mx.${off}`), 0);
  });
});

describe('bogus and required DANE', () => {
  it('defers a host whose TLSA lookup fails (SERVFAIL: bogus) without connecting', async () => {
    const domain = 'bogus.test';
    const mx = `mx.${domain}`;
    const mta = await fakeMta({ tls: stranger });
    publish(domain, mta, { tlsa: { [mx]: [await tlsaRecord(stranger.cert, 3, 1, 1)] } });
    dns.faults[tlsaOwner(mta, mx)] = { kind: 'servfail', types: ['TLSA'] };
    const under = delivery(mta);
    const { outcome } = await send(under, domain);
    assert.deepEqual([outcome.kind, outcome.status], ['transient', '4.7.5']);
    assert.equal(outcome.reply, `451 4.7.5 ${domain}: no MX host can be used with the TLS its policy requires (${mx}: TLSA lookup of ${tlsaOwner(mta, mx)} failed: servfail (SERVFAIL from 127.0.0.1))`);
    assert.equal(under.connector.requests.length, 0);
    assert.deepEqual(under.skips, ['dane:dnssec-invalid']);
    assert.deepEqual(under.failures.map((failure) => [failure.resultType, failure.address]), [['dnssec-invalid', undefined]]);
    assert.deepEqual(under.statuses, ['failed']);
  });

  it('tlsPolicy dane: defers a domain without TLSA records (dane-required) and delivers one with them', async () => {
    const mta = await fakeMta({ tls: stranger });
    publish('required.test', mta, {});
    const without = delivery(mta, { levels: new Map([['required.test', 'dane']]) });
    const refused = await send(without, 'required.test');
    assert.equal(refused.outcome.status, '4.7.5');
    assert.match(refused.outcome.reply, /\(mx\.required\.test: no TLSA records at _\d+\._tcp\.mx\.required\.test\)$/);
    assert.deepEqual(without.skips, ['dane:dane-required']);
    assert.equal(without.connector.requests.length, 0);

    publish('required-ok.test', mta, { tlsa: { 'mx.required-ok.test': [await tlsaRecord(stranger.cert, 3, 1, 1)] } });
    const withTlsa = delivery(mta, { levels: new Map([['required-ok.test', 'dane']]) });
    const { outcome, report } = await send(withTlsa, 'required-ok.test');
    assert.equal(outcome.kind, 'delivered');
    assert.match(report?.info.tls ?? '', /verified by DANE-EE/);
    assert.equal(withTlsa.log.messages('session open')[0]?.['tlsRequiredBy'], `delivery.tlsPolicy (dane) of required-ok.test and the DANE TLSA records at ${tlsaOwner(mta, 'mx.required-ok.test')}`);
  });

  it('goes before an MTA-STS policy for a host with usable TLSA records (RFC 8461 §2)', async () => {
    const domain = 'both.test';
    const mta = await fakeMta({ tls: stranger });
    publish(domain, mta, { mx: ['mx1.both.test', 'mx2.both.test'], tlsa: { 'mx2.both.test': [await tlsaRecord(stranger.cert, 3, 1, 1)] } });
    const policy: StsPolicySource = {
      lookup: () => Promise.resolve({ kind: 'policy', domain, id: '1', policy: { mode: 'enforce', mx: ['mx.elsewhere.test'], maxAgeSeconds: 86_400 }, source: 'cached', fetchedAtMs: 0, expiresAtMs: Number.MAX_SAFE_INTEGER }),
    };
    const under = delivery(mta, { mtaSts: policy });
    const { outcome, report } = await send(under, domain);
    assert.equal(outcome.kind, 'delivered');
    assert.equal(report?.info.mx, 'mx2.both.test', 'mx1 (no TLSA) is outside the MTA-STS policy and skipped');
    assert.deepEqual(under.skips, ['mta-sts:mx-mismatch']);
  });
});
