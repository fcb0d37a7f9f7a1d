// Outbound connection reuse against an independent server: outpost serve delivers
// to Debian's aiosmtpd (the MX of the test domain); a second message queued after
// the first was delivered rides on the same connection (RSET, then a new
// transaction), as aiosmtpd's record of the client's address and port shows;
// with connectionReuseTime 0 every message has a connection of its own.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AiosmtpdCapture, aiosmtpdInstalled } from '../helpers/aiosmtpd-capture.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { submit } from '../helpers/e2e-clients.js';
import { makeInstallation, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';

const inCi = process.env['CI'] === 'true';
const skip = !aiosmtpdInstalled() && !inCi ? 'python3-aiosmtpd not installed' : false;

for (const reuse of ['10m', '0']) {
  describe(`connection reuse ${reuse} with aiosmtpd as the MX`, { skip }, () => {
    let capture: AiosmtpdCapture;
    let dns: TestDnsServer;
    let installation: TestInstallation;
    let serve: ServeProcess;

    before(async () => {
      capture = await AiosmtpdCapture.start('127.0.0.1');
      dns = await startDnsServer({ zones: { 'sink.test': { MX: [{ preference: 10, exchange: 'capture.mx.test' }] }, 'capture.mx.test': { A: ['127.0.0.1'] } } });
      // A long reuse time: the second message must not depend on how fast the test runs.
      installation = await makeInstallation({ dns, extraYaml: `delivery: { port: ${capture.port}, connectionReuseTime: ${reuse} }` });
      serve = await ServeProcess.start(installation.configFile);
    });

    after(async () => {
      serve?.signal('SIGTERM');
      await serve?.exit();
      await Promise.all([capture?.stop(), dns?.close()]);
      await installation?.remove();
    });

    it(reuse === '0' ? 'gives each message a connection of its own' : 'carries a message queued later over the connection of the first', async () => {
      await submit(serve.port(), 'app@example.org', ['one@sink.test'], 'Subject: one\r\n\r\nfirst\r\n');
      await capture.waitForMessages(1);
      await submit(serve.port(), 'app@example.org', ['two@sink.test'], 'Subject: two\r\n\r\nsecond\r\n');
      const messages = await capture.waitForMessages(2);
      assert.deepEqual(messages.map((message) => message.recipients), [['one@sink.test'], ['two@sink.test']]);
      assert.match(messages[1]?.data.toString('latin1') ?? '', /\r\nSubject: two\r\n\r\nsecond\r\n$/);
      const [first, second] = messages.map((message) => message.peer);
      assert.match(first ?? '', /^127\.0\.0\.1:\d+$/);
      if (reuse === '0') assert.notEqual(second, first, 'a new connection');
      else assert.equal(second, first, 'the same connection');
    });
  });
}
