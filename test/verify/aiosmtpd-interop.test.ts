// Recipient verification between independent implementations: swaks talks to
// the real `outpost serve` from an untrusted address; the local domain's next
// hop is Debian's python3-aiosmtpd with a handler that refuses unknown users
// with 550 5.1.1. Unknown users are refused at RCPT, known ones delivered.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aiosmtpdInstalled } from '../helpers/aiosmtpd-capture.js';
import { AiosmtpdMailboxes } from '../helpers/aiosmtpd-mailboxes.js';
import { swaks } from '../helpers/e2e-clients.js';
import { makeInstallation, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';

describe('recipient verification against aiosmtpd, with swaks as the client', { skip: aiosmtpdInstalled() ? false : 'python3-aiosmtpd is not installed' }, () => {
  let mailstore: AiosmtpdMailboxes;
  let installation: TestInstallation;
  let serve: ServeProcess;

  before(async () => {
    mailstore = await AiosmtpdMailboxes.start(['mia@example.org'], '127.0.0.3');
    installation = await makeInstallation({
      extraYaml: [
        'trustedNetworks: [127.0.0.1/32]',
        `delivery: { routes: { example.org: "127.0.0.3:${mailstore.port}" }, retry: [1s], connectTimeout: 2s, commandTimeout: 10s }`,
      ].join('\n'),
    });
    serve = await ServeProcess.start(installation.configFile);
  });

  after(async () => {
    serve.signal('SIGTERM');
    await serve.exit();
    await mailstore.stop();
    await installation.remove();
  });

  const fromUntrusted = (to: string): string[] => ['--server', `127.0.0.1:${serve.port()}`, '--local-interface', '127.0.0.2', '--from', 'someone@example.com', '--to', to, '--header', 'Subject: interop'];

  it('refuses a user aiosmtpd does not know with 550 5.1.1 at RCPT', async () => {
    const result = await swaks(fromUntrusted('nobody@example.org'));
    assert.equal(result.ok, false);
    assert.match(result.output, /<\*\* +550 5\.1\.1 <nobody@example\.org>: Recipient address rejected: User unknown \(verified with the next hop\)/);
    assert.deepEqual(mailstore.of('mail').map((event) => event['from']), ['<>'], 'the probe uses the null sender');
    assert.deepEqual(mailstore.of('rcpt').map((event) => [event['address'], event['accepted']]), [['nobody@example.org', false]]);
    assert.equal(mailstore.of('data').length, 0);
  });

  it('accepts a user aiosmtpd knows, and the message reaches it', async () => {
    const result = await swaks(fromUntrusted('mia@example.org'));
    assert.ok(result.ok, result.output);
    assert.match(result.output, /<- +250 2\.1\.5/);
    const [delivered] = await mailstore.waitFor('data', 1);
    assert.deepEqual(delivered?.['rcpts'], ['mia@example.org']);
    assert.equal(delivered?.['from'], 'someone@example.com');
    assert.match(String(delivered?.['content']), /Subject: interop/);
    assert.equal(mailstore.of('connect').length, 3, 'two probes and one delivery');
  });
});
