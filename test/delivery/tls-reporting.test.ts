// What delivery records for TLS reports (RFC 8460 §4.3), in-process against the
// test DNS server, a local MTA-STS policy server (its CA trusted through
// delivery.caFile) and fake MTAs with real certificates: successes and each
// failure's result type under enforce, testing and no policy, and fetch failures.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createOutboundTls } from '../../src/delivery/outbound-tls-setup.js';
import { planDelivery } from '../../src/dns/next-hop.js';
import { HttpsPolicyFetcher } from '../../src/mtasts/fetcher.js';
import { recordStsFetchFailure } from '../../src/delivery/sts-fetch-report.js';
import type { FailureDetails, ReportedPolicy, TlsReportRecorder } from '../../src/tlsrpt/types.js';
import { startDnsServer, type TestDnsServer, type Zones } from '../helpers/dns-server.js';
import { resolverFor } from '../helpers/dns-resolver-setup.js';
import type { FakeMta } from '../helpers/fake-mta.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog } from '../helpers/memory-log.js';
import { policyText, PolicyServer } from '../helpers/policy-server.js';
import { makeTestCa, type TestCa } from '../helpers/test-ca.js';
import { makeSelfSignedCertificate } from '../helpers/tls-cert.js';
import { fakeMtaPool, outboundMessage, outcomeOf, runJob, transportFor, type TransportUnderTest } from './fixtures.js';
import { SecretFolder } from './route-fixtures.js';

const fakeMta = fakeMtaPool(after);

/** A recorder that keeps the calls: the seam delivery reports through (the recorder itself is tested in test/tlsrpt). */
class RecordedSessions implements TlsReportRecorder {
  readonly calls: { readonly policy: ReportedPolicy; readonly details: FailureDetails | undefined }[] = [];
  succeeded(policy: ReportedPolicy): void {
    this.calls.push({ policy, details: undefined });
  }
  failed(policy: ReportedPolicy, details: FailureDetails): void {
    this.calls.push({ policy, details });
  }
  /** [policy-type, result or "success", failure-reason-code] per call. */
  summary(): string[][] {
    return this.calls.map(({ policy, details }) => [policy.type, details?.resultType ?? 'success', details?.failureReasonCode ?? '']);
  }
}

let ca: TestCa;
let dns: TestDnsServer;
let policyServer: PolicyServer;
let badPolicyServer: PolicyServer;
let folder: SecretFolder;
let caFile: string;
const DOMAINS = ['ok.test', 'host.test', 'old.test', 'self.test', 'clear.test', 'moved.test', 'try.test', 'none.test', 'gone.test', 'junk.test'];

function publish(domain: string, mx: readonly string[], sts = true): void {
  const zones: Zones = { [domain]: { MX: mx.map((exchange, index) => ({ preference: (index + 1) * 10, exchange })) } };
  if (sts) {
    zones[`_mta-sts.${domain}`] = { TXT: [`v=STSv1; id=1;`] };
    zones[`mta-sts.${domain}`] = { A: ['127.0.0.1'] };
  }
  for (const host of mx) zones[host] = { A: ['127.0.0.1'] };
  Object.assign(dns.zones, zones);
}

before(async () => {
  ca = await makeTestCa();
  policyServer = await PolicyServer.start(await ca.issue(DOMAINS.map((domain) => `mta-sts.${domain}`)));
  badPolicyServer = await PolicyServer.start(await ca.issue('mta-sts.webpki.test', { expired: true }));
  dns = await startDnsServer({ zones: {}, negativeTtlSeconds: 0 });
  folder = await SecretFolder.create();
  caFile = await folder.write('outbound-ca.pem', ca.cert);
});
after(async () => {
  await Promise.all([policyServer.close(), badPolicyServer.close(), dns.close()]);
  await folder.remove();
});

interface Rig extends TransportUnderTest {
  readonly sessions: RecordedSessions;
}

let spools = 0;

async function delivery(mta: FakeMta, policyPort = policyServer.port): Promise<Rig> {
  const clock = new ManualClock();
  const { resolver } = resolverFor([dns], { clock });
  const sessions = new RecordedSessions();
  spools += 1;
  const outbound = await createOutboundTls(
    { tlsPolicy: new Map(), mtaSts: true, caFile },
    {
      spoolDir: join(folder.dir, `spool-${spools}`),
      resolver,
      ipv6: false,
      clock,
      logger: memoryLog().logger,
      observer: { policyFetchFailed: (domain, failure) => recordStsFetchFailure(sessions, domain, failure) },
      fetcher: (trust) => new HttpsPolicyFetcher({ resolver, ipv6: false, clock, port: policyPort, ...(trust.ca === undefined ? {} : { ca: trust.ca }) }),
    },
  );
  const planner = (domain: string): ReturnType<typeof planDelivery> =>
    planDelivery(domain, { resolver, routes: new Map(), port: mta.port, ipv6: false, self: { hostnames: ['outpost.test'], endpoints: [] }, randomInt: () => 0 });
  return { ...transportFor(planner, { outboundTls: outbound.outboundTls, tlsReports: sessions }), sessions };
}

const mail = (domain: string): ReturnType<typeof outboundMessage>[] => [outboundMessage('m1', [`a@${domain}`])];

describe('sessions under an enforce policy', () => {
  it('records a verified session as a success under the sts policy, with its lines and mx patterns', async () => {
    publish('ok.test', ['mx1.ok.test']);
    policyServer.serve('ok.test', policyText('enforce', ['mx1.ok.test', '*.backup.ok.test']));
    const mta = await fakeMta({ tls: await ca.issue('mx1.ok.test') });
    const { transport, sessions } = await delivery(mta);
    assert.equal(outcomeOf(await runJob(transport, 'ok.test', mail('ok.test')), 'm1', 'a@ok.test').kind, 'delivered');
    assert.deepEqual(sessions.calls, [
      {
        policy: { type: 'sts', domain: 'ok.test', strings: ['version: STSv1', 'mode: enforce', 'mx: mx1.ok.test', 'mx: *.backup.ok.test', 'max_age: 86400'], mxHosts: ['mx1.ok.test', '*.backup.ok.test'] },
        details: undefined,
      },
    ]);
  });

  it('records each certificate failure with its result type, the MX name, addresses and Node code', async () => {
    const cases: [string, Parameters<TestCa['issue']>, string, string][] = [
      ['host.test', ['mx9.host.test'], 'certificate-host-mismatch', 'ERR_TLS_CERT_ALTNAME_INVALID'],
      ['old.test', ['mx1.old.test', { expired: true }], 'certificate-expired', 'CERT_HAS_EXPIRED'],
    ];
    for (const [domain, issue, resultType, code] of cases) {
      publish(domain, [`mx1.${domain}`]);
      policyServer.serve(domain, policyText('enforce', [`mx1.${domain}`]));
      const mta = await fakeMta({ tls: await ca.issue(...issue) });
      const { transport, sessions } = await delivery(mta);
      assert.equal(outcomeOf(await runJob(transport, domain, mail(domain)), 'm1', `a@${domain}`).status, '4.7.5');
      assert.deepEqual(sessions.calls.map(({ details }) => details), [
        { sendingMtaIp: '127.0.0.1', receivingMxHostname: `mx1.${domain}`, receivingIp: '127.0.0.1', resultType, failureReasonCode: code },
      ]);
    }
    publish('self.test', ['mx1.self.test']);
    policyServer.serve('self.test', policyText('enforce', ['mx1.self.test']));
    const selfSigned = await fakeMta({ tls: await makeSelfSignedCertificate('mx1.self.test') });
    const { transport, sessions } = await delivery(selfSigned);
    await runJob(transport, 'self.test', mail('self.test'));
    assert.deepEqual(sessions.summary(), [['sts', 'certificate-not-trusted', 'DEPTH_ZERO_SELF_SIGNED_CERT']]);
  });

  it('records an MX without STARTTLS as starttls-not-supported, and an MX outside the policy without connecting', async () => {
    publish('clear.test', ['mx1.clear.test']);
    policyServer.serve('clear.test', policyText('enforce', ['mx1.clear.test']));
    const plain = await fakeMta();
    const first = await delivery(plain);
    await runJob(first.transport, 'clear.test', mail('clear.test'));
    assert.deepEqual(first.sessions.summary(), [['sts', 'starttls-not-supported', 'starttls-not-offered']]);

    publish('moved.test', ['mx1.moved.test']);
    policyServer.serve('moved.test', policyText('enforce', ['mx.new-provider.test']));
    const second = await delivery(plain);
    await runJob(second.transport, 'moved.test', mail('moved.test'));
    assert.equal(second.connector.requests.length, 0);
    assert.deepEqual(second.sessions.calls.map(({ details }) => details), [{ resultType: 'validation-failure', receivingMxHostname: 'mx1.moved.test', failureReasonCode: 'mtasts-policy-mx-mismatch' }]);
  });
});

describe('sessions under a testing policy, and without a policy', () => {
  it('records a testing policy failure though the mail is delivered', async () => {
    publish('try.test', ['mx1.try.test']);
    policyServer.serve('try.test', policyText('testing', ['mx1.try.test']));
    const mta = await fakeMta({ tls: await makeSelfSignedCertificate('mx1.try.test') });
    const { transport, sessions } = await delivery(mta);
    assert.equal(outcomeOf(await runJob(transport, 'try.test', mail('try.test')), 'm1', 'a@try.test').kind, 'delivered');
    assert.deepEqual(sessions.summary(), [['sts', 'certificate-not-trusted', 'DEPTH_ZERO_SELF_SIGNED_CERT']]);
    // The policy moves elsewhere: the host is still used (testing), and reported as outside the policy.
    policyServer.serve('try.test', policyText('testing', ['mx.elsewhere.test']));
    const moved = await delivery(mta);
    assert.equal(outcomeOf(await runJob(moved.transport, 'try.test', mail('try.test')), 'm1', 'a@try.test').kind, 'delivered');
    assert.deepEqual(moved.sessions.calls.map(({ details }) => details), [
      { sendingMtaIp: '127.0.0.1', receivingMxHostname: 'mx1.try.test', receivingIp: '127.0.0.1', resultType: 'validation-failure', failureReasonCode: 'mtasts-policy-mx-mismatch' },
    ]);
  });

  it('records no-policy-found sessions: any TLS is a success, no STARTTLS a failure, a failed handshake too (then plaintext, not counted)', async () => {
    publish('none.test', ['mx1.none.test'], false);
    const selfSigned = await fakeMta({ tls: await makeSelfSignedCertificate('whatever.test') });
    const tls = await delivery(selfSigned);
    assert.equal(outcomeOf(await runJob(tls.transport, 'none.test', mail('none.test')), 'm1', 'a@none.test').kind, 'delivered');
    assert.deepEqual(tls.sessions.calls, [{ policy: { type: 'no-policy-found', domain: 'none.test', strings: [], mxHosts: [] }, details: undefined }]);

    const plain = await fakeMta();
    const clear = await delivery(plain);
    await runJob(clear.transport, 'none.test', mail('none.test'));
    assert.deepEqual(clear.sessions.summary(), [['no-policy-found', 'starttls-not-supported', 'starttls-not-offered']]);

    const broken = await fakeMta({ tls: { ...(await makeSelfSignedCertificate('mx1.none.test')), breakHandshake: true } });
    const failing = await delivery(broken);
    assert.equal(outcomeOf(await runJob(failing.transport, 'none.test', mail('none.test')), 'm1', 'a@none.test').kind, 'delivered');
    assert.equal(broken.messages[0]?.tls, false, 'delivered by the plaintext retry');
    assert.deepEqual(failing.sessions.summary().map(([type, result]) => [type, result]), [['no-policy-found', 'validation-failure']]);
  });
});

describe('policy fetch failures', () => {
  it('records sts-policy-fetch-error, sts-policy-invalid and sts-webpki-invalid, then the sessions as no-policy-found', async () => {
    publish('gone.test', ['mx1.gone.test']);
    policyServer.answers.delete('mta-sts.gone.test');
    publish('junk.test', ['mx1.junk.test']);
    policyServer.serve('junk.test', 'version: STSv1\nmode: sometimes\n');
    publish('webpki.test', ['mx1.webpki.test']);
    badPolicyServer.serve('webpki.test', policyText('enforce', ['mx1.webpki.test']));
    const mta = await fakeMta({ tls: await ca.issue(['mx1.gone.test', 'mx1.junk.test', 'mx1.webpki.test']) });
    const found: string[][] = [];
    for (const [domain, port] of [['gone.test', policyServer.port], ['junk.test', policyServer.port], ['webpki.test', badPolicyServer.port]] as const) {
      const { transport, sessions } = await delivery(mta, port);
      assert.equal(outcomeOf(await runJob(transport, domain, mail(domain)), 'm1', `a@${domain}`).kind, 'delivered');
      found.push(...sessions.summary());
    }
    assert.deepEqual(found, [
      ['sts', 'sts-policy-fetch-error', found[0]?.[2] ?? ''],
      ['no-policy-found', 'success', ''],
      ['sts', 'sts-policy-invalid', 'malformed policy at https://mta-sts.junk.test/.well-known/mta-sts.txt: mode sometimes is not enforce, testing or none'],
      ['no-policy-found', 'success', ''],
      ['sts', 'sts-webpki-invalid', 'CERT_HAS_EXPIRED'],
      ['no-policy-found', 'success', ''],
    ]);
    assert.match(found[0]?.[2] ?? '', /HTTP 404/);
  });
});
