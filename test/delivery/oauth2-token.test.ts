// OAuth2 client credentials (RFC 6749 §4.4) for XOAUTH2 against a local HTTPS
// token endpoint with a test CA: one request, the token reused until shortly
// before it expires (the injected clock, no sleeps), errors as reasons without the secret.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClientCredentialsToken, DEFAULT_TOKEN_LIFETIME_MS, TOKEN_REFRESH_MARGIN_MS } from '../../src/delivery/oauth2-token.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { makeTestCa, type TestCa } from '../helpers/test-ca.js';
import { TokenEndpoint } from '../helpers/token-endpoint.js';
import { SecretFolder } from './route-fixtures.js';

const SECRET = 's3cr3t&value=with+form chars';
let ca: TestCa;
let endpoint: TokenEndpoint;
let secrets: SecretFolder;
let secretFile: string;
const signal = new AbortController().signal;

before(async () => {
  ca = await makeTestCa();
  endpoint = await TokenEndpoint.start(await ca.issue('127.0.0.1'));
  secrets = await SecretFolder.create();
  secretFile = await secrets.write('client-secret', `${SECRET}\n`);
});
after(async () => {
  await endpoint.close();
  await secrets.remove();
});

function tokens(clock: ManualClock, options: { scope?: string; timeoutMs?: number } = {}): ClientCredentialsToken {
  return new ClientCredentialsToken({ tokenUrl: endpoint.url, clientId: 'the-client', clientSecretFile: secretFile, scope: options.scope, clock, ca: ca.cert, ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) });
}

function issue(lifetimeSeconds: number | undefined): void {
  endpoint.answer = (_form, count) => ({ status: 200, body: { access_token: `token-${count}`, token_type: 'bearer', ...(lifetimeSeconds === undefined ? {} : { expires_in: lifetimeSeconds }) } });
}

describe('OAuth2 client-credentials tokens', () => {
  it('posts the form once and reuses the token until shortly before it expires, then refreshes it', async () => {
    issue(3600);
    const clock = new ManualClock();
    const source = tokens(clock, { scope: 'https://outlook.office365.com/.default' });
    const start = endpoint.requests.length;
    assert.deepEqual(await source.token(signal), { ok: true, token: `token-${start + 1}` });
    assert.deepEqual(endpoint.requests.at(-1), {
      grant_type: 'client_credentials',
      client_id: 'the-client',
      client_secret: SECRET,
      scope: 'https://outlook.office365.com/.default',
      method: 'POST',
      contentType: 'application/x-www-form-urlencoded',
    });
    clock.advance(3600_000 - TOKEN_REFRESH_MARGIN_MS - 1);
    assert.deepEqual(await source.token(signal), { ok: true, token: `token-${start + 1}` });
    assert.equal(endpoint.requests.length, start + 1);
    clock.advance(1);
    assert.deepEqual(await source.token(signal), { ok: true, token: `token-${start + 2}` });
    assert.equal(endpoint.requests.length, start + 2);
  });

  it('shares one request among concurrent callers', async () => {
    issue(3600);
    const source = tokens(new ManualClock());
    const start = endpoint.requests.length;
    const got = await Promise.all([source.token(signal), source.token(signal), source.token(signal)]);
    assert.equal(new Set(got.map((outcome) => (outcome.ok ? outcome.token : ''))).size, 1);
    assert.equal(endpoint.requests.length, start + 1);
  });

  it('assumes a short lifetime without expires_in, and fetches again after invalidate()', async () => {
    issue(undefined);
    const clock = new ManualClock();
    const source = tokens(clock);
    const start = endpoint.requests.length;
    await source.token(signal);
    clock.advance(DEFAULT_TOKEN_LIFETIME_MS * 0.9 - 1);
    await source.token(signal);
    assert.equal(endpoint.requests.length, start + 1);
    source.invalidate();
    await source.token(signal);
    assert.equal(endpoint.requests.length, start + 2);
  });

  it('keeps using a still-valid token when an early refresh fails', async () => {
    issue(3600);
    const clock = new ManualClock();
    const source = tokens(clock);
    const first = await source.token(signal);
    endpoint.answer = () => ({ status: 503, body: {} });
    clock.advance(3600_000 - TOKEN_REFRESH_MARGIN_MS);
    assert.deepEqual(await source.token(signal), first);
    clock.advance(TOKEN_REFRESH_MARGIN_MS);
    const expired = await source.token(signal);
    assert.equal(expired.ok, false);
    assert.match(expired.ok ? '' : expired.reason, /answered HTTP 503$/);
  });

  it('turns an error answer into a reason that never holds the secret, even when echoed', async () => {
    endpoint.answer = (form) => ({ status: 400, body: { error: 'invalid_client', error_description: `bad secret ${form['client_secret'] ?? ''} / ${encodeURIComponent(form['client_secret'] ?? '')}` } });
    const outcome = await tokens(new ManualClock()).token(signal);
    assert.equal(outcome.ok, false);
    const reason = outcome.ok ? '' : outcome.reason;
    assert.match(reason, /^token endpoint 127\.0\.0\.1:\d+\/tenant\/oauth2\/v2\.0\/token answered HTTP 400: invalid_client \(bad secret \*\*\* \/ \*\*\*\)$/);
    assert.ok(!reason.includes(SECRET));
  });

  it('refuses a token that is not a bearer token', async () => {
    endpoint.answer = () => ({ status: 200, body: { access_token: 'mac-token', token_type: 'mac', expires_in: 60 } });
    const outcome = await tokens(new ManualClock()).token(signal);
    assert.match(outcome.ok ? '' : outcome.reason, /sent a mac token, not a bearer token/);
  });

  it('gives up on a silent endpoint when the clock passes the timeout', async () => {
    endpoint.answer = () => 'hang';
    const clock = new ManualClock();
    const pending = tokens(clock, { timeoutMs: 5_000 }).token(signal);
    await clock.waitForTimers(1);
    clock.advance(5_000);
    const outcome = await pending;
    assert.match(outcome.ok ? '' : outcome.reason, /cannot get a token from 127\.0\.0\.1:\d+\/tenant\/oauth2\/v2\.0\/token: no answer within 5000 ms/);
  });

  it('does not trust the endpoint certificate without the CA', async () => {
    issue(3600);
    const untrusting = new ClientCredentialsToken({ tokenUrl: endpoint.url, clientId: 'c', clientSecretFile: secretFile, scope: undefined, clock: new ManualClock() });
    const outcome = await untrusting.token(signal);
    assert.match(outcome.ok ? '' : outcome.reason, /cannot get a token from .*: (unable to verify|self.signed|unable to get local issuer)/i);
  });
});
