// Delivery under MTA-STS (RFC 8461 §4, §5) end to end in-process: the test DNS
// server publishes _mta-sts TXT, mta-sts A and MX records, a local HTTPS server
// the policies (its CA trusted through delivery.caFile), fake MTAs the mail.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createOutboundTls, type OutboundTlsParts } from '../../src/delivery/outbound-tls-setup.js';
import { planDelivery } from '../../src/dns/next-hop.js';
import { HttpsPolicyFetcher } from '../../src/mtasts/fetcher.js';
import type { RouteConfig } from '../../src/config/types.js';
import { startDnsServer, type TestDnsServer, type Zones } from '../helpers/dns-server.js';
import { resolverFor } from '../helpers/dns-resolver-setup.js';
import type { FakeMta } from '../helpers/fake-mta.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog, type MemoryLog } from '../helpers/memory-log.js';
import { policyText, PolicyServer } from '../helpers/policy-server.js';
import { makeTestCa, type TestCa } from '../helpers/test-ca.js';
import { makeSelfSignedCertificate } from '../helpers/tls-cert.js';
import { fakeMtaPool, outboundMessage, outcomeOf, runJob, transportFor, type TransportUnderTest } from './fixtures.js';
import { SecretFolder } from './route-fixtures.js';

const fakeMta = fakeMtaPool(after);
const DOMAINS = ['good.test', 'partial.test', 'nomatch.test', 'wrongname.test', 'expired.test', 'plain.test', 'testing.test', 'testing-plain.test', 'refresh.test', 'routed.test', 'off.test'];

let ca: TestCa;
let dns: TestDnsServer;
let policyServer: PolicyServer;
let folder: SecretFolder;
let caFile: string;

/** A domain with an MTA-STS record (id `id`), its policy host, and MX hosts at 127.0.0.1. */
function publish(domain: string, mx: readonly string[], id = '1'): void {
  const zones: Zones = {
    [`_mta-sts.${domain}`]: { TXT: [`v=STSv1; id=${id};`], ttl: 0 },
    [`mta-sts.${domain}`]: { A: ['127.0.0.1'] },
    [domain]: { MX: mx.map((exchange, index) => ({ preference: (index + 1) * 10, exchange })) },
  };
  for (const host of mx) zones[host] = { A: ['127.0.0.1'] };
  Object.assign(dns.zones, zones);
}

before(async () => {
  ca = await makeTestCa();
  policyServer = await PolicyServer.start(await ca.issue(DOMAINS.map((domain) => `mta-sts.${domain}`)));
  dns = await startDnsServer({ zones: {}, negativeTtlSeconds: 0 });
  folder = await SecretFolder.create();
  caFile = await folder.write('outbound-ca.pem', ca.cert);
});
after(async () => {
  await policyServer.close();
  await dns.close();
  await folder.remove();
});

interface Delivery extends TransportUnderTest {
  readonly outbound: OutboundTlsParts;
  readonly stsLog: MemoryLog;
  readonly failures: string[];
  readonly testingFailures: number[];
}

/** The transport with MX plans from the test DNS server (MX port = the fake MTA's) and MTA-STS on. */
async function delivery(mta: FakeMta, options: { routes?: ReadonlyMap<string, RouteConfig>; mtaSts?: boolean } = {}): Promise<Delivery> {
  const clock = new ManualClock();
  const { resolver } = resolverFor([dns], { clock });
  const stsLog = memoryLog('debug');
  const outbound = await createOutboundTls(
    { tlsPolicy: new Map(), mtaSts: options.mtaSts ?? true, caFile },
    {
      spoolDir: join(folder.dir, 'spool'),
      resolver,
      ipv6: false,
      clock,
      logger: stsLog.logger,
      fetcher: (trust) => new HttpsPolicyFetcher({ resolver, ipv6: false, clock, port: policyServer.port, ...(trust.ca === undefined ? {} : { ca: trust.ca }) }),
    },
  );
  const failures: string[] = [];
  const testingFailures: number[] = [];
  const routes = options.routes ?? new Map<string, RouteConfig>();
  const planner = (domain: string): ReturnType<typeof planDelivery> =>
    planDelivery(domain, { resolver, routes, port: mta.port, ipv6: false, self: { hostnames: ['outpost.test'], endpoints: [] }, randomInt: () => 0 });
  const underTest = transportFor(planner, {
    outboundTls: outbound.outboundTls,
    routes,
    observer: { tlsPolicyFailure: (policy, result) => failures.push(`${policy}:${result}`), stsTestingFailure: () => testingFailures.push(1) },
  });
  return { ...underTest, outbound, stsLog, failures, testingFailures };
}

const mail = (domain: string): ReturnType<typeof outboundMessage>[] => [outboundMessage('m1', [`a@${domain}`])];

function verbs(mta: FakeMta): string[] {
  return mta.sessions.flatMap((session) => session.commands).map((command) => command.split(' ')[0]?.toUpperCase() ?? '');
}

describe('an enforce policy', () => {
  it('delivers over STARTTLS whose certificate verifies for the MX name against delivery.caFile', async () => {
    publish('good.test', ['mx1.good.test']);
    policyServer.serve('good.test', policyText('enforce', ['mx1.good.test']));
    const mta = await fakeMta({ tls: await ca.issue('mx1.good.test') });
    const { transport, log } = await delivery(mta);
    const reports = await runJob(transport, 'good.test', mail('good.test'));
    assert.equal(outcomeOf(reports, 'm1', 'a@good.test').kind, 'delivered');
    assert.match(reports.get('m1')?.info.tls ?? '', /^TLSv1\.[23] \S+ \(verified\)$/);
    assert.equal(mta.messages[0]?.tls, true);
    assert.equal(log.messages('session open')[0]?.['tlsRequiredBy'], 'the MTA-STS policy of good.test');
  });

  it('skips an MX host the policy does not name (wildcards match one label) and delivers to one it does', async () => {
    publish('partial.test', ['mx.elsewhere.test', 'a.b.partial.test', 'mx2.partial.test']);
    policyServer.serve('partial.test', policyText('enforce', ['*.partial.test']));
    const mta = await fakeMta({ tls: await ca.issue('mx2.partial.test') });
    const { transport, connector, log, failures } = await delivery(mta);
    const reports = await runJob(transport, 'partial.test', mail('partial.test'));
    assert.equal(outcomeOf(reports, 'm1', 'a@partial.test').kind, 'delivered');
    assert.equal(reports.get('m1')?.info.mx, 'mx2.partial.test');
    assert.equal(connector.requests.length, 1, 'no connection to the hosts outside the policy');
    assert.deepEqual(log.messages('mx skipped: not in the mta-sts policy').map((entry) => entry['mx']), ['mx.elsewhere.test', 'a.b.partial.test']);
    assert.deepEqual(failures, ['mta-sts:mx-mismatch', 'mta-sts:mx-mismatch']);
  });

  it('defers with 4.7.5, without connecting, when no MX host matches', async () => {
    publish('nomatch.test', ['mx1.nomatch.test']);
    policyServer.serve('nomatch.test', policyText('enforce', ['mx.moved.test']));
    const mta = await fakeMta({ tls: await ca.issue('mx1.nomatch.test') });
    const { transport, connector } = await delivery(mta);
    const outcome = outcomeOf(await runJob(transport, 'nomatch.test', mail('nomatch.test')), 'm1', 'a@nomatch.test');
    assert.deepEqual([outcome.kind, outcome.status, outcome.remote], ['transient', '4.7.5', false]);
    assert.equal(outcome.reply, '451 4.7.5 nomatch.test: no MX host (mx1.nomatch.test) matches its MTA-STS policy (mx: mx.moved.test); not delivered without it');
    assert.equal(connector.requests.length, 0);
  });

  it('defers with 4.7.5 when the MX certificate names another host, and never retries in clear', async () => {
    publish('wrongname.test', ['mx1.wrongname.test']);
    policyServer.serve('wrongname.test', policyText('enforce', ['mx1.wrongname.test']));
    const mta = await fakeMta({ tls: await ca.issue('mx9.wrongname.test') });
    const { transport, failures } = await delivery(mta);
    const outcome = outcomeOf(await runJob(transport, 'wrongname.test', mail('wrongname.test')), 'm1', 'a@wrongname.test');
    assert.equal(outcome.status, '4.7.5');
    assert.match(outcome.reply, /^451 4\.7\.5 TLS is required by the MTA-STS policy of wrongname\.test with mx1\.wrongname\.test\[127\.0\.0\.1\], but its certificate does not verify for mx1\.wrongname\.test \(ERR_TLS_CERT_ALTNAME_INVALID\)$/);
    assert.equal(mta.sessions.length, 1);
    assert.deepEqual(verbs(mta), ['EHLO', 'STARTTLS']);
    assert.deepEqual(failures, ['mta-sts:certificate-host-mismatch']);
  });

  it('defers with 4.7.5 when the MX certificate has expired', async () => {
    publish('expired.test', ['mx1.expired.test']);
    policyServer.serve('expired.test', policyText('enforce', ['mx1.expired.test']));
    const mta = await fakeMta({ tls: await ca.issue('mx1.expired.test', { expired: true }) });
    const { transport, failures } = await delivery(mta);
    const outcome = outcomeOf(await runJob(transport, 'expired.test', mail('expired.test')), 'm1', 'a@expired.test');
    assert.equal(outcome.status, '4.7.5');
    assert.match(outcome.reply, /certificate does not verify for mx1\.expired\.test \(CERT_HAS_EXPIRED\)/);
    assert.deepEqual(failures, ['mta-sts:certificate-expired']);
    assert.equal(mta.messages.length, 0);
    assert.equal(mta.sessions.length, 1);
  });

  it('defers with 4.7.5 when the MX does not offer STARTTLS', async () => {
    publish('plain.test', ['mx1.plain.test']);
    policyServer.serve('plain.test', policyText('enforce', ['mx1.plain.test']));
    const mta = await fakeMta();
    const { transport, failures } = await delivery(mta);
    const outcome = outcomeOf(await runJob(transport, 'plain.test', mail('plain.test')), 'm1', 'a@plain.test');
    assert.deepEqual(failures, ['mta-sts:starttls-not-supported']);
    assert.equal(outcome.status, '4.7.5');
    assert.match(outcome.reply, /TLS is required by the MTA-STS policy of plain\.test with mx1\.plain\.test\[127\.0\.0\.1\], but it does not offer STARTTLS$/);
    assert.deepEqual(verbs(mta), ['EHLO', 'QUIT']);
  });

  it('keeps enforcing the cached policy when its refresh fails', async () => {
    publish('refresh.test', ['mx1.refresh.test']);
    policyServer.serve('refresh.test', policyText('enforce', ['mx1.refresh.test']));
    const mta = await fakeMta();
    const { transport, outbound, stsLog } = await delivery(mta);
    assert.equal(outcomeOf(await runJob(transport, 'refresh.test', mail('refresh.test')), 'm1', 'a@refresh.test').status, '4.7.5');
    publish('refresh.test', ['mx1.refresh.test'], '2');
    policyServer.serve('refresh.test', '<html>maintenance</html>', { status: 503, contentType: 'text/html' });
    const outcome = outcomeOf(await runJob(transport, 'refresh.test', mail('refresh.test')), 'm1', 'a@refresh.test');
    await outbound.policies?.idle();
    assert.equal(outcome.status, '4.7.5', 'still enforced: not sent in clear');
    assert.equal(mta.messages.length, 0);
    assert.equal(stsLog.messages('mta-sts policy refresh failed, keeping the cached policy').length, 1);
  });
});

describe('a testing policy', () => {
  it('delivers over TLS that does not verify and to MX hosts outside the policy, logging both', async () => {
    publish('testing.test', ['mx1.testing.test']);
    policyServer.serve('testing.test', policyText('testing', ['mx.elsewhere.test']));
    const mta = await fakeMta({ tls: await makeSelfSignedCertificate('mx1.testing.test') });
    const { transport, log, testingFailures } = await delivery(mta);
    const reports = await runJob(transport, 'testing.test', mail('testing.test'));
    assert.equal(outcomeOf(reports, 'm1', 'a@testing.test').kind, 'delivered');
    assert.match(reports.get('m1')?.info.tls ?? '', /\(unverified\)$/);
    assert.equal(log.messages('mta-sts testing: mx not in the policy')[0]?.['mx'], 'mx1.testing.test');
    const refused = log.messages('mta-sts testing: policy would refuse this host');
    assert.equal(refused.length, 1);
    assert.match(String(refused[0]?.['problem']), /^certificate does not verify for mx1\.testing\.test \(DEPTH_ZERO_SELF_SIGNED_CERT\)$/);
    assert.equal(testingFailures.length, 2);
  });

  it('delivers in plaintext to an MX without STARTTLS, logging it', async () => {
    publish('testing-plain.test', ['mx1.testing-plain.test']);
    policyServer.serve('testing-plain.test', policyText('testing', ['mx1.testing-plain.test']));
    const mta = await fakeMta();
    const { transport, log } = await delivery(mta);
    assert.equal(outcomeOf(await runJob(transport, 'testing-plain.test', mail('testing-plain.test')), 'm1', 'a@testing-plain.test').kind, 'delivered');
    assert.equal(mta.messages[0]?.tls, false);
    assert.equal(log.messages('mta-sts testing: policy would refuse this host')[0]?.['problem'], 'no STARTTLS offered');
  });
});

describe('where MTA-STS does not apply', () => {
  it('leaves a destination with a route to the route, without even looking the policy up', async () => {
    publish('routed.test', ['mx1.routed.test']);
    policyServer.serve('routed.test', policyText('enforce', ['mx.never.test']));
    const mta = await fakeMta();
    const routes = new Map<string, RouteConfig>([['routed.test', { host: '127.0.0.1', port: mta.port }]]);
    const { transport } = await delivery(mta, { routes });
    assert.equal(outcomeOf(await runJob(transport, 'routed.test', mail('routed.test')), 'm1', 'a@routed.test').kind, 'delivered');
    assert.ok(!dns.queries.some((query) => query.name === '_mta-sts.routed.test'));
  });

  it('ignores policies with delivery.mtaSts off', async () => {
    publish('off.test', ['mx1.off.test']);
    policyServer.serve('off.test', policyText('enforce', ['mx.never.test']));
    const mta = await fakeMta();
    const { transport } = await delivery(mta, { mtaSts: false });
    assert.equal(outcomeOf(await runJob(transport, 'off.test', mail('off.test')), 'm1', 'a@off.test').kind, 'delivered');
    assert.ok(!dns.queries.some((query) => query.name === '_mta-sts.off.test'));
  });
});
