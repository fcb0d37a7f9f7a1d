// Routes that require TLS (RFC 3207, RFC 8314) against the scripted fake MTA:
// STARTTLS missing, refused or unverifiable defers with 4.7.5 and nothing of the
// mail (nor the password) goes out in clear; `none` never starts TLS; verify against `ca`.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeTestCa, type TestCa } from '../helpers/test-ca.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../helpers/tls-cert.js';
import { fakeMtaPool, outboundMessage, outcomeOf, runJob } from './fixtures.js';
import { passwordAuth, routeConfig, routedTransport, SecretFolder, SMARTHOST } from './route-fixtures.js';

const fakeMta = fakeMtaPool(after);
const PASSWORD = 'pw-that-must-not-leak';
let selfSigned: TestCertificate;
let ca: TestCa;
let caFile: string;
let secrets: SecretFolder;
let passwordFile: string;

before(async () => {
  selfSigned = await makeSelfSignedCertificate(SMARTHOST);
  ca = await makeTestCa();
  secrets = await SecretFolder.create();
  caFile = await secrets.write('ca.pem', ca.cert);
  passwordFile = await secrets.write('password', `${PASSWORD}\n`);
});
after(() => secrets.remove());

const mail = (): ReturnType<typeof outboundMessage>[] => [outboundMessage('m1', ['a@dest.test'])];

/** The verbs the fake received, in order. */
function verbs(commands: readonly string[]): string[] {
  return commands.map((command) => command.split(' ')[0]?.toUpperCase() ?? '');
}

describe('routes that require TLS', () => {
  it('defers with 4.7.5 and never sends MAIL when the smarthost does not offer STARTTLS', async () => {
    const mta = await fakeMta();
    const { transport } = routedTransport(routeConfig(mta.port, { tls: 'starttls' }));
    const reports = await runJob(transport, 'dest.test', mail());
    const outcome = outcomeOf(reports, 'm1', 'a@dest.test');
    assert.deepEqual([outcome.kind, outcome.status, outcome.remote], ['transient', '4.7.5', false]);
    assert.match(outcome.reply, /^451 4\.7\.5 TLS is required with smarthost\.test\[127\.0\.0\.1\], but it does not offer STARTTLS$/);
    assert.deepEqual(verbs(mta.sessions.flatMap((session) => session.commands)), ['EHLO', 'QUIT']);
    assert.equal(mta.messages.length, 0);
  });

  it('defers with 4.7.5 when the smarthost refuses STARTTLS', async () => {
    const mta = await fakeMta({ tls: { key: selfSigned.key, cert: selfSigned.cert }, script: { starttls: () => '454 4.7.0 TLS not available due to temporary reason' } });
    const { transport } = routedTransport(routeConfig(mta.port, { verify: false }));
    const outcome = outcomeOf(await runJob(transport, 'dest.test', mail()), 'm1', 'a@dest.test');
    assert.equal(outcome.status, '4.7.5');
    assert.match(outcome.reply, /refused STARTTLS: 454 4\.7\.0 TLS not available/);
    assert.ok(!verbs(mta.sessions[0]?.commands ?? []).includes('MAIL'));
  });

  it('defers with 4.7.5 when the certificate does not verify, and never retries in clear', async () => {
    const mta = await fakeMta({ tls: { key: selfSigned.key, cert: selfSigned.cert } });
    const { transport, log } = routedTransport(routeConfig(mta.port, { auth: passwordAuth(passwordFile) }));
    const reports = await runJob(transport, 'dest.test', mail());
    const outcome = outcomeOf(reports, 'm1', 'a@dest.test');
    assert.equal(outcome.status, '4.7.5');
    assert.match(outcome.reply, /its certificate does not verify for smarthost\.test/);
    assert.equal(mta.sessions.length, 1, 'no plaintext retry');
    assert.deepEqual(verbs(mta.sessions[0]?.commands ?? []), ['EHLO', 'STARTTLS']);
    assert.ok(!JSON.stringify(log.entries).includes(PASSWORD));
  });

  it('does not retry in clear after a broken handshake', async () => {
    const mta = await fakeMta({ tls: { key: selfSigned.key, cert: selfSigned.cert, breakHandshake: true } });
    const { transport } = routedTransport(routeConfig(mta.port, { verify: false }));
    const outcome = outcomeOf(await runJob(transport, 'dest.test', mail()), 'm1', 'a@dest.test');
    assert.equal(outcome.status, '4.7.5');
    assert.equal(mta.sessions.length, 1);
    assert.equal(mta.messages.length, 0);
  });

  it('delivers over TLS verified against the route CA', async () => {
    const issued = await ca.issue(SMARTHOST);
    const mta = await fakeMta({ tls: { key: issued.key, cert: issued.cert } });
    const { transport, log } = routedTransport(routeConfig(mta.port, { caFile }));
    const reports = await runJob(transport, 'dest.test', mail());
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'delivered');
    assert.match(reports.get('m1')?.info.tls ?? '', /\(verified\)$/);
    assert.equal(mta.messages[0]?.tls, true);
    assert.equal(log.messages('session open')[0]?.['route'], '*');
  });

  it('accepts an unverified certificate with verify: false, still never in clear', async () => {
    const mta = await fakeMta({ tls: { key: selfSigned.key, cert: selfSigned.cert } });
    const { transport } = routedTransport(routeConfig(mta.port, { verify: false }));
    const reports = await runJob(transport, 'dest.test', mail());
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'delivered');
    assert.match(reports.get('m1')?.info.tls ?? '', /\(unverified\)$/);
  });

  it('checks the certificate against the route host, not just the CA', async () => {
    const issued = await ca.issue('other-name.test');
    const mta = await fakeMta({ tls: { key: issued.key, cert: issued.cert } });
    const { transport } = routedTransport(routeConfig(mta.port, { caFile }));
    const outcome = outcomeOf(await runJob(transport, 'dest.test', mail()), 'm1', 'a@dest.test');
    assert.equal(outcome.status, '4.7.5');
    assert.match(outcome.reply, /does not verify for smarthost\.test \(ERR_TLS_CERT_ALTNAME_INVALID\)/);
  });

  it('defers with 4.3.5 when the route CA file has gone', async () => {
    const mta = await fakeMta();
    const gone = join(secrets.dir, 'gone.pem');
    const { transport, connector } = routedTransport(routeConfig(mta.port, { caFile: gone }));
    const outcome = outcomeOf(await runJob(transport, 'dest.test', mail()), 'm1', 'a@dest.test');
    assert.equal(outcome.status, '4.3.5');
    assert.equal(connector.requests.length, 0);
  });
});

describe('routes without required TLS', () => {
  it('never starts TLS with tls: none, even when offered', async () => {
    const mta = await fakeMta({ tls: { key: selfSigned.key, cert: selfSigned.cert } });
    const { transport } = routedTransport(routeConfig(mta.port, { tls: 'none' }));
    const reports = await runJob(transport, 'dest.test', mail());
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'delivered');
    assert.ok(!verbs(mta.sessions[0]?.commands ?? []).includes('STARTTLS'));
    assert.equal(mta.messages[0]?.tls, false);
  });

  it('refuses to send credentials with tls: none: 4.7.5 without connecting', async () => {
    const mta = await fakeMta();
    const { transport, connector, log } = routedTransport(routeConfig(mta.port, { tls: 'none', auth: passwordAuth(passwordFile) }));
    const reports = await runJob(transport, 'dest.test', mail());
    const outcome = outcomeOf(reports, 'm1', 'a@dest.test');
    assert.equal(outcome.status, '4.7.5');
    assert.match(outcome.reply, /the credentials are never sent in clear/);
    assert.equal(connector.requests.length, 0);
    assert.equal(log.messages('smarthost credentials not sent without verified TLS').length, 1);
  });

  it('refuses to send credentials over opportunistic TLS whose certificate does not verify', async () => {
    const mta = await fakeMta({ tls: { key: selfSigned.key, cert: selfSigned.cert } });
    const { transport, log } = routedTransport(routeConfig(mta.port, { tls: 'opportunistic', auth: passwordAuth(passwordFile) }));
    const outcome = outcomeOf(await runJob(transport, 'dest.test', mail()), 'm1', 'a@dest.test');
    assert.equal(outcome.status, '4.7.5');
    assert.match(outcome.reply, /did not verify; the credentials are never sent to an unverified server/);
    assert.ok(!mta.sessions.flatMap((session) => session.commands).some((command) => /^AUTH/i.test(command)));
    assert.equal(log.messages('smarthost credentials not sent without verified TLS').length, 1);
  });

  it('refuses to send credentials when opportunistic TLS found no STARTTLS', async () => {
    const mta = await fakeMta();
    const { transport } = routedTransport(routeConfig(mta.port, { tls: 'opportunistic', auth: passwordAuth(passwordFile) }));
    const outcome = outcomeOf(await runJob(transport, 'dest.test', mail()), 'm1', 'a@dest.test');
    assert.equal(outcome.status, '4.7.5');
    assert.match(outcome.reply, /does not offer STARTTLS; the credentials are never sent in clear/);
    const sent = mta.sessions.flatMap((session) => session.commands);
    assert.deepEqual(verbs(sent), ['EHLO', 'QUIT']);
    assert.ok(!sent.join('\n').includes(Buffer.from(PASSWORD).toString('base64').slice(0, 8)));
  });
});
