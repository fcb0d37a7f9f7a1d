// Opportunistic STARTTLS (RFC 3207, RFC 7435) against the fake MTA with a
// throwaway self-signed certificate: used when offered, recorded per attempt,
// injected pre-TLS bytes ignored (CVE-2021-38371), plaintext retry on failure.

import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeMta, type FakeMtaOptions } from '../helpers/fake-mta.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../helpers/tls-cert.js';
import { fixedPlan, outboundMessage, outcomeOf, runJob, transportFor } from './fixtures.js';

const MX_NAME = 'mx.tls.test';
let certificate: TestCertificate;
const started: FakeMta[] = [];

before(async () => {
  certificate = await makeSelfSignedCertificate(MX_NAME);
});
after(async () => {
  await Promise.all(started.map((mta) => mta.close()));
});

async function tlsMta(tls: Partial<NonNullable<FakeMtaOptions['tls']>> = {}): Promise<FakeMta> {
  const mta = await FakeMta.start({ tls: { key: certificate.key, cert: certificate.cert, ...tls } });
  started.push(mta);
  return mta;
}

it('uses STARTTLS when offered and records the TLS result (unverified: self-signed)', async () => {
  const mta = await tlsMta();
  const { transport, log } = transportFor(fixedPlan({ host: MX_NAME, addresses: [mta.host], port: mta.port }));
  const reports = await runJob(transport, 'tls.test', [outboundMessage('m1', ['a@tls.test'])]);
  assert.equal(outcomeOf(reports, 'm1', 'a@tls.test').kind, 'delivered');
  assert.match(reports.get('m1')?.info.tls ?? '', /^TLSv1\.[23] \S+ \(unverified\)$/);
  assert.equal(mta.messages[0]?.tls, true);
  const commands = mta.sessions[0]?.commands ?? [];
  assert.deepEqual(commands.slice(0, 3), ['EHLO outpost.test', 'STARTTLS', 'EHLO outpost.test']);
  const opened = log.messages('session open')[0];
  assert.match(String(opened?.['tls']), /unverified/);
  assert.equal(typeof opened?.['tlsVerifyError'], 'string');
});

it('reports a certificate that verifies against the given CA and names the MX host as verified', async () => {
  const mta = await tlsMta();
  const { transport } = transportFor(fixedPlan({ host: MX_NAME, addresses: [mta.host], port: mta.port }), { tls: { ca: certificate.cert } });
  const reports = await runJob(transport, 'tls.test', [outboundMessage('m1', ['a@tls.test'])]);
  assert.match(reports.get('m1')?.info.tls ?? '', /^TLSv1\.[23] \S+ \(verified\)$/);
});

it('ignores bytes the server sends along with its 220 to STARTTLS and says EHLO again over TLS', async () => {
  const mta = await tlsMta({ injectAfterReady: '250 injected\r\n' });
  const { transport, log } = transportFor(fixedPlan({ host: MX_NAME, addresses: [mta.host], port: mta.port }));
  const reports = await runJob(transport, 'tls.test', [outboundMessage('m1', ['a@tls.test'])]);
  assert.equal(outcomeOf(reports, 'm1', 'a@tls.test').kind, 'delivered');
  assert.equal(mta.messages[0]?.tls, true);
  assert.equal(mta.sessions.length, 1);
  assert.equal(log.messages('discarded data sent with the STARTTLS reply')[0]?.['discardedBytes'], '250 injected\r\n'.length);
  assert.deepEqual(mta.sessions[0]?.commands.slice(0, 3), ['EHLO outpost.test', 'STARTTLS', 'EHLO outpost.test']);
});

it('retries the host once in plaintext when the TLS handshake fails', async () => {
  const mta = await tlsMta({ breakHandshake: true });
  const { transport, log } = transportFor(fixedPlan({ host: MX_NAME, addresses: [mta.host], port: mta.port }));
  const reports = await runJob(transport, 'tls.test', [outboundMessage('m1', ['a@tls.test'])]);
  assert.equal(outcomeOf(reports, 'm1', 'a@tls.test').kind, 'delivered');
  assert.equal(reports.get('m1')?.info.tls, null);
  assert.equal(mta.sessions.length, 2);
  assert.ok(!mta.sessions[1]?.commands.includes('STARTTLS'));
  assert.equal(mta.messages[0]?.tls, false);
  assert.equal(log.messages('host skipped')[0]?.['tlsFailed'], true);
  assert.equal(log.messages('session open')[0]?.['plaintextRetry'], true);
});

it('goes on in plaintext when STARTTLS is refused', async () => {
  const mta = await tlsMta();
  const refusing = await FakeMta.start({ tls: { key: certificate.key, cert: certificate.cert }, script: { starttls: () => '454 4.7.0 TLS not available now' } });
  started.push(refusing);
  const reports = await runJob(transportFor(fixedPlan({ host: MX_NAME, addresses: [refusing.host], port: refusing.port })).transport, 'tls.test', [outboundMessage('m1', ['a@tls.test'])]);
  assert.equal(outcomeOf(reports, 'm1', 'a@tls.test').kind, 'delivered');
  assert.equal(refusing.messages[0]?.tls, false);
  assert.equal(mta.sessions.length, 0);
});
