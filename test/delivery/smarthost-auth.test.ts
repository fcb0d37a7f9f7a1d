// AUTH to a smarthost (RFC 4954) against an independent peer, Debian's
// aiosmtpd with STARTTLS required: PLAIN preferred, LOGIN when alone, XOAUTH2 from
// a token file or the client-credentials grant; refused credentials defer (4.7.8), never bounce.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import type { RouteAuthConfig } from '../../src/config/types.js';
import { AiosmtpdAuth, aiosmtpdAvailable } from '../helpers/aiosmtpd-auth.js';
import { makeTestCa, type TestCa } from '../helpers/test-ca.js';
import { TokenEndpoint } from '../helpers/token-endpoint.js';
import { outboundMessage, outcomeOf, runJob } from './fixtures.js';
import { everythingSaid, passwordAuth, routeConfig, routedTransport, SecretFolder, SMARTHOST } from './route-fixtures.js';

const skip = !aiosmtpdAvailable() && process.env['CI'] !== 'true' ? 'python3-aiosmtpd not installed' : false;
const PASSWORD = 'correct horse battery staple';
const USER = 'app@example.org';
const TOKEN = 'ya29.token-for-app';

let ca: TestCa;
let secrets: SecretFolder;
let caFile: string;
let passwordFile: string;
let tokenFile: string;
let clientSecretFile: string;
const servers: AiosmtpdAuth[] = [];
let endpoint: TokenEndpoint;

async function smarthost(options: { exclude?: readonly string[] } = {}): Promise<AiosmtpdAuth> {
  const issued = await ca.issue(SMARTHOST);
  const server = await AiosmtpdAuth.start({
    certFile: await secrets.write(`cert-${servers.length}.pem`, issued.cert),
    keyFile: await secrets.write(`key-${servers.length}.pem`, issued.key),
    users: { [USER]: PASSWORD },
    tokens: { [USER]: TOKEN },
    ...(options.exclude === undefined ? {} : { exclude: options.exclude }),
  });
  servers.push(server);
  return server;
}

function transportTo(server: AiosmtpdAuth, auth: RouteAuthConfig): ReturnType<typeof routedTransport> {
  return routedTransport(routeConfig(server.port, { caFile, auth }), { tokenEndpoint: { ca: ca.cert } });
}

const message = (id = 'm1'): ReturnType<typeof outboundMessage> => outboundMessage(id, ['rcpt@dest.test'], 'Subject: relayed\r\n\r\nhello\r\n', { from: USER });

describe('AUTH to an aiosmtpd smarthost', { skip }, () => {
  before(async () => {
    ca = await makeTestCa();
    secrets = await SecretFolder.create();
    caFile = await secrets.write('ca.pem', ca.cert);
    passwordFile = await secrets.write('password', `${PASSWORD}\n`);
    tokenFile = await secrets.write('token', `${TOKEN}\r\n`);
    clientSecretFile = await secrets.write('client-secret', 'client-secret-value\n');
    endpoint = await TokenEndpoint.start(await ca.issue('127.0.0.1'));
  });
  after(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await endpoint.close();
    await secrets.remove();
  });

  it('delivers after STARTTLS and AUTH PLAIN (preferred over LOGIN)', async () => {
    const server = await smarthost();
    const { transport, log } = transportTo(server, passwordAuth(passwordFile, USER));
    const reports = await runJob(transport, 'dest.test', [message()]);
    assert.equal(outcomeOf(reports, 'm1', 'rcpt@dest.test').kind, 'delivered');
    assert.deepEqual(server.of('auth'), [{ event: 'auth', mechanism: 'PLAIN', user: USER, ok: true }]);
    const [received] = await server.waitFor('data', 1);
    assert.deepEqual([received?.['from'], received?.['rcpts'], received?.['tls']], [USER, ['rcpt@dest.test'], true]);
    assert.equal(log.messages('smarthost authenticated')[0]?.['mechanism'], 'PLAIN');
    assert.ok(!everythingSaid(log, reports).includes(PASSWORD));
  });

  it('uses AUTH LOGIN when PLAIN is not offered', async () => {
    const server = await smarthost({ exclude: ['PLAIN'] });
    const { transport } = transportTo(server, passwordAuth(passwordFile, USER));
    const reports = await runJob(transport, 'dest.test', [message()]);
    assert.equal(outcomeOf(reports, 'm1', 'rcpt@dest.test').kind, 'delivered');
    assert.deepEqual(server.of('auth').map((event) => event['mechanism']), ['LOGIN']);
  });

  it('defers (4.7.8, not bounced) on a wrong password, logs and counts it, and tries no other address', async () => {
    const server = await smarthost();
    const wrongFile = await secrets.write('wrong-password', 'not the password\n');
    const { transport, log, authFailures, connector } = transportTo(server, passwordAuth(wrongFile, USER));
    const reports = await runJob(transport, 'dest.test', [message(), message('m2')]);
    for (const id of ['m1', 'm2']) {
      const outcome = outcomeOf(reports, id, 'rcpt@dest.test');
      assert.deepEqual([outcome.kind, outcome.status, outcome.remote], ['transient', '4.7.8', false]);
      assert.match(outcome.reply, /^451 4\.7\.8 smarthost\.test\[127\.0\.0\.1\] rejected the credentials of app@example\.org \(AUTH PLAIN\): 535 5\.7\.8 Authentication credentials invalid$/);
    }
    assert.equal(connector.requests.length, 1);
    assert.deepEqual(authFailures, ['*']);
    const warned = log.messages('smarthost rejected the credentials');
    assert.equal(warned.length, 1);
    assert.deepEqual([warned[0]?.['level'], warned[0]?.['route'], warned[0]?.['username']], [40, '*', USER]);
    assert.ok(!everythingSaid(log, reports).includes('not the password'));
  });

  it('reads the password file at use time, so a rotated password works at once', async () => {
    const server = await smarthost();
    const rotating = await secrets.write('rotating', 'old password\n');
    const { transport } = transportTo(server, passwordAuth(rotating, USER));
    assert.equal(outcomeOf(await runJob(transport, 'dest.test', [message()]), 'm1', 'rcpt@dest.test').status, '4.7.8');
    await writeFile(rotating, `${PASSWORD}\n`);
    assert.equal(outcomeOf(await runJob(transport, 'dest.test', [message('m2')]), 'm2', 'rcpt@dest.test').kind, 'delivered');
  });

  it('delivers with AUTH XOAUTH2 and a token file', async () => {
    const server = await smarthost();
    const { transport, log } = transportTo(server, { kind: 'token-file', username: USER, tokenFile });
    const reports = await runJob(transport, 'dest.test', [message()]);
    assert.equal(outcomeOf(reports, 'm1', 'rcpt@dest.test').kind, 'delivered');
    assert.deepEqual(server.of('auth'), [{ event: 'auth', mechanism: 'XOAUTH2', user: USER, ok: true }]);
    assert.ok(!everythingSaid(log, reports).includes(TOKEN));
  });

  it('defers a refused XOAUTH2 token with the server JSON error (334, empty answer, 535)', async () => {
    const server = await smarthost();
    const expired = await secrets.write('expired-token', 'expired-token-value\n');
    const { transport, log, authFailures } = transportTo(server, { kind: 'token-file', username: USER, tokenFile: expired });
    const reports = await runJob(transport, 'dest.test', [message()]);
    const outcome = outcomeOf(reports, 'm1', 'rcpt@dest.test');
    assert.equal(outcome.status, '4.7.8');
    assert.match(outcome.reply, /\(AUTH XOAUTH2\): 535 5\.7\.8 Authentication credentials invalid \(\{"status": "401", "schemes": "bearer", "scope": "https:\/\/mail\.example\/"\}\)$/);
    assert.deepEqual(authFailures, ['*']);
    assert.ok(!everythingSaid(log, reports).includes('expired-token-value'));
  });

  it('delivers with XOAUTH2 and a token from the client-credentials grant, fetched once for two jobs', async () => {
    const server = await smarthost();
    endpoint.answer = () => ({ status: 200, body: { access_token: TOKEN, token_type: 'Bearer', expires_in: 3600 } });
    const before = endpoint.requests.length;
    const auth: RouteAuthConfig = { kind: 'client-credentials', username: USER, tokenUrl: endpoint.url, clientId: 'client-id', clientSecretFile, scope: 'https://outlook.office365.com/.default' };
    const { transport, log } = transportTo(server, auth);
    assert.equal(outcomeOf(await runJob(transport, 'dest.test', [message()]), 'm1', 'rcpt@dest.test').kind, 'delivered');
    const reports = await runJob(transport, 'dest.test', [message('m2')]);
    assert.equal(outcomeOf(reports, 'm2', 'rcpt@dest.test').kind, 'delivered');
    assert.equal(endpoint.requests.length - before, 1);
    assert.deepEqual(endpoint.requests.at(-1), {
      grant_type: 'client_credentials',
      client_id: 'client-id',
      client_secret: 'client-secret-value',
      scope: 'https://outlook.office365.com/.default',
      method: 'POST',
      contentType: 'application/x-www-form-urlencoded',
    });
    assert.ok(!everythingSaid(log, reports).includes('client-secret-value'));
  });

  it('defers with 4.7.0 when the token endpoint refuses the client, without connecting or logging the secret', async () => {
    endpoint.answer = () => ({ status: 401, body: { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' } });
    const server = await smarthost();
    const auth: RouteAuthConfig = { kind: 'client-credentials', username: USER, tokenUrl: endpoint.url, clientId: 'client-id', clientSecretFile, scope: undefined };
    const { transport, log, connector } = transportTo(server, auth);
    const reports = await runJob(transport, 'dest.test', [message()]);
    const outcome = outcomeOf(reports, 'm1', 'rcpt@dest.test');
    assert.deepEqual([outcome.kind, outcome.status], ['transient', '4.7.0']);
    assert.match(outcome.reply, /no OAuth2 token for route \*: token endpoint 127\.0\.0\.1:\d+\/tenant\/oauth2\/v2\.0\/token answered HTTP 401: invalid_client \(AADSTS7000215/);
    assert.equal(connector.requests.length, 0);
    assert.equal(log.messages('smarthost credentials unavailable').length, 1);
    assert.ok(!everythingSaid(log, reports).includes('client-secret-value'));
    assert.equal(endpoint.requests.at(-1)?.['scope'], undefined);
  });
});
