// Sending REQUIRETLS messages (RFC 8689 §4.2.1) to fake MTAs: only to an
// authenticated MX name (MTA-STS enforce, mxAuthenticated: DNSSEC, no-MX domain, verified
// route) over TLS verified for it, to servers offering REQUIRETLS after STARTTLS,
// with MAIL ... REQUIRETLS; otherwise 5.7.10 / 5.7.30 at once, never in clear.
// And "TLS-Required: No" (§4.2.2): the destination's TLS policies are ignored.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TlsPolicyLevel } from '../../src/config/types.js';
import { outboundTrust, type OutboundTrust } from '../../src/delivery/outbound-tls-setup.js';
import { OutboundTls, type StsPolicySource } from '../../src/delivery/tls-policy.js';
import type { SmtpTransportOptions } from '../../src/delivery/transport.js';
import type { OutboundMessage } from '../../src/delivery/types.js';
import type { DeliveryPlan } from '../../src/dns/next-hop.js';
import type { TlsRequirement } from '../../src/spool/types.js';
import { FakeMta } from '../helpers/fake-mta.js';
import { makeTestCa, type TestCa } from '../helpers/test-ca.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../helpers/tls-cert.js';
import { fakeMtaPool, fixedPlan, outboundMessage, outcomeOf, planTo, runJob, transportFor, type Reported, type TransportUnderTest } from './fixtures.js';
import { routeConfig, routedTransport, SecretFolder } from './route-fixtures.js';

const fakeMta = fakeMtaPool(after);
const MX = 'mx1.dest.test';
let ca: TestCa;
let selfSigned: TestCertificate;
let folder: SecretFolder;
let caFile: string;
let trust: OutboundTrust;

before(async () => {
  ca = await makeTestCa();
  selfSigned = await makeSelfSignedCertificate(MX);
  folder = await SecretFolder.create();
  caFile = await folder.write('ca.pem', ca.cert);
  trust = await outboundTrust(caFile);
});
after(() => folder.remove());

/** An MTA-STS source answering one policy for every domain, counting its lookups. */
function stsSource(mode: 'enforce' | 'testing', mx: readonly string[]): StsPolicySource & { lookups: number } {
  const source = {
    lookups: 0,
    lookup(domain: string) {
      source.lookups += 1;
      return Promise.resolve({ kind: 'policy' as const, domain, id: '7', policy: { mode, mx: [...mx], maxAgeSeconds: 86_400 }, source: 'cached' as const, fetchedAtMs: 0, expiresAtMs: Number.MAX_SAFE_INTEGER });
    },
  };
  return source;
}

interface Setup {
  readonly sts?: StsPolicySource;
  readonly level?: TlsPolicyLevel;
  readonly mxAuthenticated?: SmtpTransportOptions['mxAuthenticated'];
}

function transport(planner: SmtpTransportOptions['planner'], setup: Setup = {}): TransportUnderTest & { failures: string[] } {
  const failures: string[] = [];
  const levels = new Map<string, TlsPolicyLevel>(setup.level === undefined ? [] : [['dest.test', setup.level]]);
  const outboundTls = new OutboundTls({ levels, mtaSts: setup.sts, secureContext: trust.secureContext });
  const underTest = transportFor(planner, {
    outboundTls,
    observer: { tlsPolicyFailure: (policy, result) => failures.push(`${policy}:${result}`) },
    ...(setup.mxAuthenticated === undefined ? {} : { mxAuthenticated: setup.mxAuthenticated }),
  });
  return { ...underTest, failures };
}

function tagged(message: OutboundMessage, tlsRequirement: TlsRequirement): OutboundMessage {
  return { ...message, tlsRequirement };
}

const requireTls = (id: string, to = 'a@dest.test'): OutboundMessage => tagged(outboundMessage(id, [to], `Subject: ${id}\r\n\r\nsecret\r\n`), 'requiretls');
const verbs = (mta: FakeMta): string[] => mta.sessions.flatMap((session) => session.commands).map((command) => command.split(' ')[0] ?? '');
const ENFORCE_DEST = (): StsPolicySource & { lookups: number } => stsSource('enforce', ['*.dest.test']);

async function send(under: TransportUnderTest, messages: readonly OutboundMessage[]): Promise<Map<string, Reported>> {
  return runJob(under.transport, 'dest.test', messages);
}

describe('REQUIRETLS to an MX named by an MTA-STS policy in enforce mode', () => {
  it('is delivered over verified TLS to a server offering REQUIRETLS, and MAIL carries REQUIRETLS', async () => {
    const mta = await fakeMta({ tls: await ca.issue(MX), extensions: { requireTls: true } });
    const under = transport(planTo(mta), { sts: ENFORCE_DEST() });
    const reports = await send(under, [requireTls('m1')]);
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'delivered');
    assert.match(reports.get('m1')?.info.tls ?? '', /\(verified\)$/);
    assert.equal(mta.messages[0]?.mailParams, 'REQUIRETLS');
    assert.equal(mta.messages[0]?.tls, true);
    assert.deepEqual(under.failures, []);
    assert.equal(under.log.messages('session open')[0]?.['tlsRequiredBy'], 'REQUIRETLS (RFC 8689)');
    assert.equal(under.log.messages('requiretls: hosts chosen')[0]?.['requiretls'], 'MTA-STS enforce');
    assert.equal(under.log.messages('delivery attempt')[0]?.['tlsRequirement'], 'requiretls');
  });

  it('bounces with 5.7.30 when the server does not offer REQUIRETLS after STARTTLS: QUIT before MAIL', async () => {
    const mta = await fakeMta({ tls: await ca.issue(MX) });
    const under = transport(planTo(mta), { sts: ENFORCE_DEST() });
    const outcome = outcomeOf(await send(under, [requireTls('m1')]), 'm1', 'a@dest.test');
    assert.deepEqual([outcome.kind, outcome.status, outcome.remote], ['permanent', '5.7.30', false]);
    assert.equal(outcome.reply, '550 5.7.30 REQUIRETLS: mx1.dest.test[127.0.0.1] does not offer REQUIRETLS after STARTTLS; not sent');
    assert.deepEqual(verbs(mta), ['EHLO', 'STARTTLS', 'EHLO', 'QUIT']);
    assert.deepEqual(under.failures, ['requiretls:requiretls-not-supported']);
    assert.equal(under.log.messages('tls policy failure')[0]?.['result'], 'requiretls-not-supported');
  });

  it('bounces with 5.7.10 when the certificate does not verify, and never retries in clear', async () => {
    const mta = await fakeMta({ tls: selfSigned, extensions: { requireTls: true } });
    const under = transport(planTo(mta), { sts: ENFORCE_DEST() });
    const outcome = outcomeOf(await send(under, [requireTls('m1')]), 'm1', 'a@dest.test');
    assert.deepEqual([outcome.kind, outcome.status], ['permanent', '5.7.10']);
    assert.match(outcome.reply, /^550 5\.7\.10 REQUIRETLS: TLS is required by REQUIRETLS \(RFC 8689\) with mx1\.dest\.test\[127\.0\.0\.1\], but its certificate does not verify for mx1\.dest\.test \(DEPTH_ZERO_SELF_SIGNED_CERT\); not sent$/);
    assert.equal(mta.sessions.length, 1);
    assert.equal(mta.messages.length, 0);
    assert.deepEqual(under.failures, ['requiretls:certificate-not-trusted']);
  });

  it('bounces with 5.7.10 a certificate for another name', async () => {
    const mta = await fakeMta({ tls: await ca.issue('mx9.dest.test'), extensions: { requireTls: true } });
    const under = transport(planTo(mta), { sts: ENFORCE_DEST() });
    const outcome = outcomeOf(await send(under, [requireTls('m1')]), 'm1', 'a@dest.test');
    assert.equal(outcome.status, '5.7.10');
    assert.deepEqual(under.failures, ['requiretls:certificate-host-mismatch']);
  });

  it('bounces with 5.7.10 when the server offers no STARTTLS: nothing is sent in clear', async () => {
    const mta = await fakeMta({ extensions: { requireTls: true } });
    const under = transport(planTo(mta), { sts: ENFORCE_DEST() });
    const outcome = outcomeOf(await send(under, [requireTls('m1')]), 'm1', 'a@dest.test');
    assert.deepEqual([outcome.kind, outcome.status], ['permanent', '5.7.10']);
    assert.match(outcome.reply, /but it does not offer STARTTLS; not sent$/);
    assert.deepEqual(verbs(mta), ['EHLO', 'QUIT']);
    assert.deepEqual(under.failures, ['requiretls:starttls-not-supported']);
  });

  it('tries the next MX host when one lacks REQUIRETLS, and delivers there', async () => {
    const without = await fakeMta({ tls: await ca.issue(MX) });
    const withIt = await fakeMta({ tls: await ca.issue('mx2.dest.test'), extensions: { requireTls: true } });
    const planner = fixedPlan({ host: MX, addresses: [without.host], port: without.port }, { host: 'mx2.dest.test', addresses: [withIt.host], port: withIt.port });
    const under = transport(planner, { sts: ENFORCE_DEST() });
    const reports = await send(under, [requireTls('m1')]);
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'delivered');
    assert.equal(reports.get('m1')?.info.mx, 'mx2.dest.test');
    assert.equal(without.messages.length, 0);
    assert.equal(withIt.messages[0]?.mailParams, 'REQUIRETLS');
  });

  it('keeps another host\'s temporary failure: the message is retried later, not bounced', async () => {
    const gone = await FakeMta.start();
    const closedPort = gone.port;
    await gone.close();
    const without = await fakeMta({ tls: await ca.issue('mx2.dest.test') });
    const planner = fixedPlan({ host: MX, addresses: ['127.0.0.1'], port: closedPort }, { host: 'mx2.dest.test', addresses: [without.host], port: without.port });
    const outcome = outcomeOf(await send(transport(planner, { sts: ENFORCE_DEST() }), [requireTls('m1')]), 'm1', 'a@dest.test');
    assert.deepEqual([outcome.kind, outcome.status], ['transient', '4.4.1']);
  });

  it('uses only the MX hosts the policy names', async () => {
    const mta = await fakeMta({ tls: await ca.issue(MX), extensions: { requireTls: true } });
    const outside = await fakeMta({ tls: await ca.issue('mx.elsewhere.test'), extensions: { requireTls: true } });
    const planner = fixedPlan({ host: 'mx.elsewhere.test', addresses: [outside.host], port: outside.port }, { host: MX, addresses: [mta.host], port: mta.port });
    const reports = await send(transport(planner, { sts: ENFORCE_DEST() }), [requireTls('m1')]);
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'delivered');
    assert.equal(outside.sessions.length, 0);
  });
});

describe('REQUIRETLS where no MX name is authenticated', () => {
  it('bounces with 5.7.10 without connecting: no MTA-STS policy and an MX answer not DNSSEC-secure', async () => {
    const mta = await fakeMta({ tls: await ca.issue(MX), extensions: { requireTls: true } });
    for (const sts of [undefined, stsSource('testing', ['*.dest.test'])]) {
      const under = transport(planTo(mta), sts === undefined ? {} : { sts });
      const outcome = outcomeOf(await send(under, [requireTls('m1')]), 'm1', 'a@dest.test');
      assert.deepEqual([outcome.kind, outcome.status], ['permanent', '5.7.10']);
      assert.equal(outcome.reply, '550 5.7.10 REQUIRETLS: the MX hosts of dest.test are not authenticated: the MX answer is not DNSSEC-secure and no MTA-STS policy in enforce mode names them; not sent');
      assert.equal(under.connector.requests.length, 0);
      assert.deepEqual(under.failures, ['requiretls:mx-not-authenticated']);
    }
    assert.equal(mta.sessions.length, 0);
  });

  it('bounces with 5.7.10 when delivery.tlsPolicy says none, even under an enforce policy', async () => {
    const mta = await fakeMta({ tls: await ca.issue(MX), extensions: { requireTls: true } });
    const under = transport(planTo(mta), { sts: ENFORCE_DEST(), level: 'none' });
    const outcome = outcomeOf(await send(under, [requireTls('m1')]), 'm1', 'a@dest.test');
    assert.match(outcome.reply, /^550 5\.7\.10 REQUIRETLS: delivery\.tlsPolicy of dest\.test is none/);
    assert.equal(mta.sessions.length, 0);
  });

  it('consults MTA-STS even when delivery.tlsPolicy has an entry for the domain', async () => {
    const mta = await fakeMta({ tls: await ca.issue(MX), extensions: { requireTls: true } });
    const sts = ENFORCE_DEST();
    const reports = await send(transport(planTo(mta), { sts, level: 'encrypt' }), [requireTls('m1')]);
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'delivered');
    assert.equal(sts.lookups, 1);
  });

  it('is delivered when the DNSSEC seam says the MX answer was secure', async () => {
    const mta = await fakeMta({ tls: await ca.issue(MX), extensions: { requireTls: true } });
    const under = transport(planTo(mta), { mxAuthenticated: () => true });
    const reports = await send(under, [requireTls('m1')]);
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'delivered');
    assert.equal(under.log.messages('requiretls: hosts chosen')[0]?.['requiretls'], 'DNSSEC-secure MX');
  });

  it('is delivered to a domain without MX records, whose own name the certificate carries', async () => {
    const mta = await fakeMta({ tls: await ca.issue('dest.test'), extensions: { requireTls: true } });
    const planner = (domain: string): Promise<DeliveryPlan> =>
      Promise.resolve({ ok: true, domain, source: 'implicit', hosts: [{ host: domain, preference: 0, port: mta.port, addresses: [mta.host], ttlSeconds: 300 }] });
    const reports = await send(transport(planner), [requireTls('m1')]);
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'delivered');
    assert.equal(mta.messages[0]?.mailParams, 'REQUIRETLS');
  });
});

describe('REQUIRETLS through a route', () => {
  it('is delivered through a route with tls starttls and verify, to a smarthost offering REQUIRETLS', async () => {
    const mta = await fakeMta({ tls: await ca.issue('smarthost.test'), extensions: { requireTls: true } });
    const { transport: routed } = routedTransport(routeConfig(mta.port, { caFile }));
    const reports = await runJob(routed, 'dest.test', [requireTls('m1')]);
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'delivered');
    assert.equal(mta.messages[0]?.mailParams, 'REQUIRETLS');
  });

  it('bounces with 5.7.10 through a route that does not verify TLS, without connecting', async () => {
    const mta = await fakeMta({ tls: await ca.issue('smarthost.test'), extensions: { requireTls: true } });
    for (const policy of [{ tls: 'opportunistic' as const }, { tls: 'starttls' as const, verify: false }]) {
      const { transport: routed, connector } = routedTransport(routeConfig(mta.port, { caFile, ...policy }));
      const outcome = outcomeOf(await runJob(routed, 'dest.test', [requireTls('m1')]), 'm1', 'a@dest.test');
      assert.match(outcome.reply, /^550 5\.7\.10 REQUIRETLS: route \* does not require verified TLS/);
      assert.equal(connector.requests.length, 0);
    }
  });

  it('bounces with 5.7.30 through a smarthost that does not offer REQUIRETLS', async () => {
    const mta = await fakeMta({ tls: await ca.issue('smarthost.test') });
    const { transport: routed } = routedTransport(routeConfig(mta.port, { caFile }));
    const outcome = outcomeOf(await runJob(routed, 'dest.test', [requireTls('m1')]), 'm1', 'a@dest.test');
    assert.equal(outcome.status, '5.7.30');
    assert.equal(mta.messages.length, 0);
  });
});

describe('REQUIRETLS next to ordinary mail for the same destination', () => {
  it('goes in a session of its own: the ordinary messages are delivered, the REQUIRETLS one bounces', async () => {
    const mta = await fakeMta({ tls: await ca.issue(MX) });
    const under = transport(planTo(mta), { sts: ENFORCE_DEST() });
    const reports = await send(under, [outboundMessage('m1', ['a@dest.test']), requireTls('m2'), outboundMessage('m3', ['c@dest.test'])]);
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'delivered');
    assert.equal(outcomeOf(reports, 'm3', 'c@dest.test').kind, 'delivered');
    assert.equal(outcomeOf(reports, 'm2', 'a@dest.test').status, '5.7.30');
    assert.equal(mta.sessions.length, 2);
    assert.deepEqual(mta.messages.map((message) => message.mailParams), ['', '']);
  });

  it('a REQUIRETLS message handed over by `more` waits for a session of its own', async () => {
    const mta = await fakeMta({ tls: await ca.issue(MX), extensions: { requireTls: true } });
    const under = transport(planTo(mta), { sts: ENFORCE_DEST() });
    const extra = [requireTls('m2'), outboundMessage('m3', ['c@dest.test'])];
    const reported: string[] = [];
    await under.transport.run({ destination: 'dest.test', messages: [outboundMessage('m1', ['a@dest.test'])], more: () => extra.shift() }, (id, outcomes) => {
      reported.push(`${id}:${[...outcomes.values()].map((outcome) => outcome.kind).join()}`);
      return Promise.resolve();
    }, new AbortController().signal);
    assert.deepEqual(reported, ['m1:delivered', 'm2:delivered', 'm3:delivered']);
    assert.equal(mta.sessions.length, 3, 'each change of TLS handling starts a session of its own');
    assert.deepEqual(mta.messages.map((message) => message.mailParams), ['', 'REQUIRETLS', '']);
  });
});

describe('TLS-Required: No', () => {
  const optional = (id: string): OutboundMessage => tagged(outboundMessage(id, ['a@dest.test']), 'tls-required-no');

  it('is delivered in plaintext to an MX outside an enforce policy; the policy is not even looked up', async () => {
    const mta = await fakeMta();
    const sts = stsSource('enforce', ['mx.elsewhere.test']);
    const under = transport(planTo(mta), { sts });
    const reports = await send(under, [optional('m1')]);
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'delivered');
    assert.equal(reports.get('m1')?.info.tls, null);
    assert.equal(sts.lookups, 0);
    assert.deepEqual(under.failures, []);
    assert.equal(under.log.messages('tls-required-no: tls policies ignored').length, 1);
  });

  it('ignores delivery.tlsPolicy verify: STARTTLS with any certificate', async () => {
    const mta = await fakeMta({ tls: selfSigned });
    const reports = await send(transport(planTo(mta), { level: 'verify' }), [optional('m1')]);
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'delivered');
    assert.match(reports.get('m1')?.info.tls ?? '', /\(unverified\)$/);
  });

  it('keeps delivery.tlsPolicy none: no STARTTLS', async () => {
    const mta = await fakeMta({ tls: selfSigned });
    await send(transport(planTo(mta), { level: 'none' }), [optional('m1')]);
    assert.ok(!verbs(mta).includes('STARTTLS'));
    assert.equal(mta.messages[0]?.tls, false);
  });

  it('the same enforce policy still defers ordinary mail to that MX (4.7.5)', async () => {
    const mta = await fakeMta();
    const reports = await send(transport(planTo(mta), { sts: stsSource('enforce', ['mx.elsewhere.test']) }), [optional('m1'), outboundMessage('m2', ['b@dest.test'])]);
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'delivered');
    assert.equal(outcomeOf(reports, 'm2', 'b@dest.test').status, '4.7.5');
  });
});
