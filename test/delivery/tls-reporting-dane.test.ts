// What delivery records for TLS reports (RFC 8460) about DANE (RFC 7672) hosts: the
// sessions count under policy type `tlsa` with the host's TLSA records as policy
// strings, a DANE-verified session as a success, each failure with the result type
// tls-failure.ts names it (validation-failure, tlsa-invalid, dnssec-invalid,
// dane-required). The test DNS server answers like a validating resolver (AD set).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TlsPolicyLevel } from '../../src/config/types.js';
import { DaneLookup } from '../../src/dane/host-status.js';
import { OutboundTls } from '../../src/delivery/tls-policy.js';
import { SmtpTransport } from '../../src/delivery/transport.js';
import { planDelivery } from '../../src/dns/next-hop.js';
import type { FailureDetails, ReportedPolicy, TlsReportRecorder } from '../../src/tlsrpt/types.js';
import { resolverFor } from '../helpers/dns-resolver-setup.js';
import { startDnsServer, type TestDnsServer, type ZoneEntry } from '../helpers/dns-server.js';
import type { FakeMta } from '../helpers/fake-mta.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog } from '../helpers/memory-log.js';
import { makeTestCa, type TestCa } from '../helpers/test-ca.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../helpers/tls-cert.js';
import { tlsaRecord } from '../helpers/tlsa-data.js';
import { CountingConnector, fakeMtaPool, outboundMessage, outcomeOf, runJob, TEST_TIMEOUTS } from './fixtures.js';

const fakeMta = fakeMtaPool(after);
type Tlsa = NonNullable<ZoneEntry['TLSA']>[number];

class RecordedSessions implements TlsReportRecorder {
  readonly calls: { readonly policy: ReportedPolicy; readonly details: FailureDetails | undefined }[] = [];
  succeeded(policy: ReportedPolicy): void {
    this.calls.push({ policy, details: undefined });
  }
  failed(policy: ReportedPolicy, details: FailureDetails): void {
    this.calls.push({ policy, details });
  }
  /** [policy-type, policy-domain, result or "success", failure-reason-code] per call. */
  summary(): string[][] {
    return this.calls.map(({ policy, details }) => [policy.type, policy.domain, details?.resultType ?? 'success', details?.failureReasonCode ?? '']);
  }
}

let dns: TestDnsServer;
let ca: TestCa;
let stranger: TestCertificate;

before(async () => {
  dns = await startDnsServer({ zones: {}, authenticated: true, negativeTtlSeconds: 0 });
  ca = await makeTestCa('tlsrpt dane test CA');
  stranger = await makeSelfSignedCertificate('stranger.test');
});
after(() => dns.close());

const tlsaOwner = (mta: FakeMta, host: string): string => `_${mta.port}._tcp.${host}`;
const presentation = (record: Tlsa): string => `${record.usage} ${record.selector} ${record.matchingType} ${Buffer.from(record.certificate).toString('hex')}`;

/** `domain` with one MX host at 127.0.0.1, its TLSA records (if any) for the fake MTA's port. */
function publish(domain: string, mta: FakeMta, tlsa: readonly Tlsa[] | undefined): string {
  const mx = `mx.${domain}`;
  dns.zones[domain] = { MX: [{ preference: 10, exchange: mx }] };
  dns.zones[mx] = { A: ['127.0.0.1'] };
  if (tlsa !== undefined) dns.zones[tlsaOwner(mta, mx)] = { TLSA: [...tlsa] };
  return mx;
}

function delivery(mta: FakeMta, levels: ReadonlyMap<string, TlsPolicyLevel> = new Map()): { transport: SmtpTransport; sessions: RecordedSessions; connector: CountingConnector } {
  // Certificates are made now: the clock starts at the real time (DANE-TA checks dates).
  const clock = new ManualClock(Date.now() + 60_000);
  const { resolver } = resolverFor([dns], { clock, dnssec: true });
  const outboundTls = new OutboundTls({ levels, mtaSts: undefined, secureContext: undefined, dane: new DaneLookup({ resolver, port: mta.port }) });
  const connector = new CountingConnector(clock);
  const sessions = new RecordedSessions();
  const transport = new SmtpTransport({
    hostname: 'outpost.test',
    timeouts: TEST_TIMEOUTS,
    planner: (domain) => planDelivery(domain, { resolver, port: mta.port, ipv6: false, self: { hostnames: ['outpost.test'], endpoints: [] }, randomInt: () => 0 }),
    clock,
    connector,
    logger: memoryLog().logger,
    outboundTls,
    tlsReports: sessions,
  });
  return { transport, sessions, connector };
}

async function send(transport: SmtpTransport, domain: string): Promise<ReturnType<typeof outcomeOf>> {
  return outcomeOf(await runJob(transport, domain, [outboundMessage('m1', [`a@${domain}`])]), 'm1', `a@${domain}`);
}

describe('DANE sessions in TLS reports', () => {
  it('records a DANE-EE verified session as a success under tlsa, the TLSA records as policy strings, for the recipient domain', async () => {
    const domain = 'rpt-ee.test';
    const cert = await makeSelfSignedCertificate(`mx.${domain}`);
    const mta = await fakeMta({ tls: cert });
    const record = await tlsaRecord(cert.cert, 3, 1, 1);
    publish(domain, mta, [record]);
    const { transport, sessions } = delivery(mta);
    assert.equal((await send(transport, domain)).kind, 'delivered');
    assert.deepEqual(sessions.calls, [{ policy: { type: 'tlsa', domain, strings: [presentation(record)], mxHosts: [] }, details: undefined }]);
    assert.match(sessions.calls[0]?.policy.strings[0] ?? '', /^3 1 1 [0-9a-f]{64}$/);
  });

  it('records a DANE-TA verified session as a success', async () => {
    const domain = 'rpt-ta.test';
    const leaf = await ca.issue(`mx.${domain}`);
    const mta = await fakeMta({ tls: { key: leaf.key, cert: `${leaf.cert}${ca.cert}` } });
    publish(domain, mta, [await tlsaRecord(ca.cert, 2, 0, 1)]);
    const { transport, sessions } = delivery(mta);
    assert.equal((await send(transport, domain)).kind, 'delivered');
    assert.deepEqual(sessions.summary(), [['tlsa', domain, 'success', '']]);
  });

  it('records a certificate matching no TLSA record as validation-failure (tlsa-mismatch), with the addresses', async () => {
    const domain = 'rpt-wrong.test';
    const mta = await fakeMta({ tls: await makeSelfSignedCertificate(`mx.${domain}`) });
    const mx = publish(domain, mta, [await tlsaRecord(stranger.cert, 3, 1, 1)]);
    const { transport, sessions } = delivery(mta);
    assert.equal((await send(transport, domain)).status, '4.7.5');
    assert.deepEqual(sessions.calls.map(({ policy, details }) => [policy.type, details]), [
      ['tlsa', { sendingMtaIp: '127.0.0.1', receivingMxHostname: mx, receivingIp: '127.0.0.1', resultType: 'validation-failure', failureReasonCode: 'tlsa-mismatch' }],
    ]);
  });

  it('records a host without STARTTLS under its TLSA records as starttls-not-supported', async () => {
    const domain = 'rpt-clear.test';
    const mta = await fakeMta();
    publish(domain, mta, [await tlsaRecord(stranger.cert, 3, 1, 1)]);
    const { transport, sessions } = delivery(mta);
    assert.equal((await send(transport, domain)).status, '4.7.5');
    assert.deepEqual(sessions.summary(), [['tlsa', domain, 'starttls-not-supported', 'starttls-not-offered']]);
  });

  it('records TLSA records none usable as tlsa-invalid though the mail goes over unauthenticated TLS', async () => {
    const domain = 'rpt-pkix.test';
    const cert = await ca.issue(`mx.${domain}`);
    const mta = await fakeMta({ tls: cert });
    const record = await tlsaRecord(cert.cert, 1, 1, 1);
    publish(domain, mta, [record]);
    const { transport, sessions } = delivery(mta);
    assert.equal((await send(transport, domain)).kind, 'delivered');
    assert.deepEqual(sessions.summary(), [['tlsa', domain, 'tlsa-invalid', 'no-usable-tlsa-record']]);
    assert.deepEqual(sessions.calls[0]?.policy.strings, [presentation(record)]);
  });

  it('records a failed TLSA lookup as dnssec-invalid without connecting, and DANE required without records as dane-required', async () => {
    const bogus = 'rpt-bogus.test';
    const mta = await fakeMta({ tls: await makeSelfSignedCertificate(`mx.${bogus}`) });
    const mx = publish(bogus, mta, [await tlsaRecord(stranger.cert, 3, 1, 1)]);
    dns.faults[tlsaOwner(mta, mx)] = { kind: 'servfail', types: ['TLSA'] };
    const first = delivery(mta);
    assert.equal((await send(first.transport, bogus)).status, '4.7.5');
    assert.equal(first.connector.requests.length, 0);
    assert.deepEqual(first.sessions.calls.map(({ policy, details }) => [policy.type, policy.strings, details?.resultType, details?.receivingMxHostname]), [['tlsa', [], 'dnssec-invalid', mx]]);
    assert.match(first.sessions.calls[0]?.details?.failureReasonCode ?? '', /^TLSA lookup of .* failed: servfail/);

    const required = 'rpt-required.test';
    publish(required, mta, undefined);
    const second = delivery(mta, new Map([[required, 'dane']]));
    assert.equal((await send(second.transport, required)).status, '4.7.5');
    assert.deepEqual(second.sessions.summary().map(([type, domain, result]) => [type, domain, result]), [['tlsa', required, 'dane-required']]);
  });

  it('records nothing for a host DANE does not govern when MTA-STS is off (no policy to report under)', async () => {
    const domain = 'rpt-none.test';
    const mta = await fakeMta({ tls: await makeSelfSignedCertificate(`mx.${domain}`) });
    publish(domain, mta, undefined);
    const { transport, sessions } = delivery(mta);
    assert.equal((await send(transport, domain)).kind, 'delivered');
    assert.deepEqual(sessions.calls, []);
  });
});
