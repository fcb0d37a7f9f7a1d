// The webhook POST over real sockets: https verified against delivery.caFile's CA
// (and refused without it), a redirect is not followed, an answer is needed within the timeout.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { rootCertificates } from 'node:tls';
import { systemClock } from '../../src/core/clock.js';
import { httpPoster } from '../../src/webhooks/http-post.js';
import { makeTestCa } from '../helpers/test-ca.js';

function listen(server: HttpServer | HttpsServer): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

describe('webhook POST', () => {
  let https: HttpsServer;
  let redirecting: HttpServer;
  let caCert: string;
  let httpsPort: number;
  let redirectPort: number;
  const bodies: string[] = [];

  before(async () => {
    const ca = await makeTestCa();
    caCert = ca.cert;
    const certificate = await ca.issue('hooks.test');
    https = createHttpsServer({ key: certificate.key, cert: certificate.cert }, (request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        bodies.push(body);
        response.writeHead(200).end('ok');
      });
    });
    httpsPort = await listen(https);
    redirecting = createHttpServer((request, response) => {
      request.resume();
      response.writeHead(307, { location: `https://127.0.0.1:${httpsPort}/` }).end();
    });
    redirectPort = await listen(redirecting);
  });
  after(async () => {
    https.closeAllConnections();
    redirecting.closeAllConnections();
    await Promise.all([new Promise((resolve) => https.close(resolve)), new Promise((resolve) => redirecting.close(resolve))]);
  });

  it('verifies an https receiver against the configured CA', async () => {
    const trusted = httpPoster({ clock: systemClock, timeoutMs: 10_000, ca: [...rootCertificates, caCert] });
    assert.deepEqual(await trusted(`https://127.0.0.1:${httpsPort}/hook`, { 'content-type': 'application/json' }, '{"a":1}'), { ok: true, status: 200 });
    assert.deepEqual(bodies, ['{"a":1}']);
    const untrusted = await httpPoster({ clock: systemClock, timeoutMs: 10_000 })(`https://127.0.0.1:${httpsPort}/hook`, {}, '{}');
    assert.equal(untrusted.ok, false);
    assert.match(untrusted.ok ? '' : untrusted.problem, /certificate/i);
    assert.equal(bodies.length, 1);
  });

  it('does not follow a redirect', async () => {
    const result = await httpPoster({ clock: systemClock, timeoutMs: 10_000 })(`http://127.0.0.1:${redirectPort}/hook`, {}, '{}');
    assert.deepEqual(result, { ok: false, status: 307, problem: 'redirect 307 not followed' });
    assert.equal(bodies.length, 1);
  });
});
