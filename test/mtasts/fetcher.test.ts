// The HTTPS policy fetcher (RFC 8461 §3.3) against local HTTPS servers: the
// host name resolved by outpost's resolver (the test DNS server), the
// certificate checked for mta-sts.<domain>, no redirects, text/plain, 64 KB, timeout.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HttpsPolicyFetcher, MAX_POLICY_BYTES, POLICY_PATH, type PolicyFetch } from '../../src/mtasts/fetcher.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { resolverFor } from '../helpers/dns-resolver-setup.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { policyText, PolicyServer } from '../helpers/policy-server.js';
import { makeTestCa, type TestCa } from '../helpers/test-ca.js';
import { makeSelfSignedCertificate } from '../helpers/tls-cert.js';

const DOMAINS = ['good.test', 'redirect.test', 'html.test', 'charset.test', 'absent.test', 'big.test', 'chunked.test', 'exact.test', 'hang.test', 'abort.test'];
const POLICY = policyText('enforce', ['mx1.good.test']);

let ca: TestCa;
let dns: TestDnsServer;
let server: PolicyServer;
let wrongName: PolicyServer;
let selfSigned: PolicyServer;
let expired: PolicyServer;

before(async () => {
  ca = await makeTestCa();
  server = await PolicyServer.start(await ca.issue(DOMAINS.map((domain) => `mta-sts.${domain}`)));
  wrongName = await PolicyServer.start(await ca.issue('mta-sts.someone-else.test'));
  selfSigned = await PolicyServer.start(await makeSelfSignedCertificate('mta-sts.good.test'));
  expired = await PolicyServer.start(await ca.issue('mta-sts.good.test', { expired: true }));
  const zones = Object.fromEntries(DOMAINS.map((domain) => [`mta-sts.${domain}`, { A: ['127.0.0.1'] }]));
  dns = await startDnsServer({ zones: { ...zones, 'mta-sts.alias.test': { CNAME: 'mta-sts.good.test' } } });
});
after(async () => {
  await Promise.all([server, wrongName, selfSigned, expired].map((running) => running.close()));
  await dns.close();
});

function fetcher(port = server.port, clock = new ManualClock()): HttpsPolicyFetcher {
  return new HttpsPolicyFetcher({ resolver: resolverFor([dns]).resolver, ipv6: false, clock, port, ca: [ca.cert], timeoutMs: 10_000 });
}

function fetch(domain: string, port?: number): Promise<PolicyFetch> {
  return fetcher(port).fetch(domain, new AbortController().signal);
}

function reasonOf(result: PolicyFetch): string {
  assert.equal(result.ok, false, 'the fetch should have failed');
  return result.ok ? '' : result.reason;
}

describe('fetching a policy', () => {
  it('gets the text over HTTPS verified for mta-sts.<domain>, with SNI, from the address our resolver gives', async () => {
    server.serve('good.test', POLICY);
    const before = server.requests.length;
    assert.deepEqual(await fetch('good.test'), { ok: true, text: POLICY });
    assert.deepEqual(server.requests[before], { host: 'mta-sts.good.test', path: POLICY_PATH, servername: 'mta-sts.good.test' });
    assert.ok(dns.queries.some((query) => query.name === 'mta-sts.good.test' && query.type === 'A'));
  });

  it('follows a CNAME for the policy host but checks the certificate for mta-sts.<domain>', async () => {
    // The server's certificate does not name mta-sts.alias.test.
    assert.match(reasonOf(await fetch('alias.test')), /Host: mta-sts\.alias\.test\.? is not in the cert's altnames/);
  });

  it('accepts text/plain with parameters', async () => {
    server.serve('charset.test', POLICY, { contentType: 'Text/Plain; charset=utf-8' });
    assert.deepEqual(await fetch('charset.test'), { ok: true, text: POLICY });
  });

  it('does not follow a redirect', async () => {
    server.serve('redirect.test', '', { status: 301, headers: { location: 'https://mta-sts.good.test/.well-known/mta-sts.txt' } });
    const before = server.requests.length;
    assert.match(reasonOf(await fetch('redirect.test')), /^https:\/\/mta-sts\.redirect\.test\/\.well-known\/mta-sts\.txt: HTTP 301 redirect to https:\/\/mta-sts\.good\.test\/\S+ \(redirects are not followed\)$/);
    assert.equal(server.requests.length, before + 1);
  });

  it('refuses a Content-Type other than text/plain', async () => {
    server.serve('html.test', POLICY, { contentType: 'text/html' });
    assert.match(reasonOf(await fetch('html.test')), /Content-Type "text\/html", not text\/plain/);
  });

  it('refuses a status other than 200', async () => {
    assert.match(reasonOf(await fetch('absent.test')), /HTTP 404 \(only 200 gives a policy\)/);
  });

  it('refuses a policy larger than 64 KB, announced or streamed', async () => {
    const big = `${POLICY}${'x'.repeat(MAX_POLICY_BYTES)}`;
    server.serve('big.test', big);
    assert.match(reasonOf(await fetch('big.test')), new RegExp(`the policy is ${Buffer.byteLength(big)} bytes, more than ${MAX_POLICY_BYTES}`));
    server.serve('chunked.test', big, { chunked: true });
    assert.match(reasonOf(await fetch('chunked.test')), new RegExp(`the policy is more than ${MAX_POLICY_BYTES} bytes`));
    const exact = `${POLICY}${'#'.repeat(MAX_POLICY_BYTES - POLICY.length)}`;
    server.serve('exact.test', exact, { chunked: true });
    assert.deepEqual(await fetch('exact.test'), { ok: true, text: exact });
  });

  it('refuses a certificate for another name, a self-signed one and an expired one', async () => {
    assert.match(reasonOf(await fetch('good.test', wrongName.port)), /Hostname\/IP does not match certificate's altnames|ERR_TLS_CERT_ALTNAME_INVALID/);
    assert.match(reasonOf(await fetch('good.test', selfSigned.port)), /self[- ]signed certificate/);
    assert.match(reasonOf(await fetch('good.test', expired.port)), /certificate has expired/);
  });

  it('says so when mta-sts.<domain> does not resolve', async () => {
    assert.match(reasonOf(await fetch('nowhere.test')), /cannot resolve mta-sts\.nowhere\.test: mta-sts\.nowhere\.test: nxdomain/);
  });

  it('gives up after its timeout on the injected clock', async () => {
    server.answers.set('mta-sts.hang.test', { hang: true });
    const clock = new ManualClock();
    const count = server.requests.length;
    const pending = fetcher(server.port, clock).fetch('hang.test', new AbortController().signal);
    await server.waitForRequests(count + 1);
    clock.advance(10_000);
    assert.match(reasonOf(await pending), /no complete answer within 10000 ms$/);
  });

  it('stops when the caller aborts', async () => {
    server.answers.set('mta-sts.abort.test', { hang: true });
    const controller = new AbortController();
    const count = server.requests.length;
    const pending = fetcher().fetch('abort.test', controller.signal);
    await server.waitForRequests(count + 1);
    controller.abort();
    assert.match(reasonOf(await pending), /: aborted$/);
  });
});
