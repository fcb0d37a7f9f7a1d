// Two real outposts: the relay sends everything through its "*" route object
// (STARTTLS required, verified against a test CA, AUTH PLAIN from a password
// file) to the other's submission listener; a wrong password defers and counts.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { submit } from '../helpers/e2e-clients.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { addUser, makeInstallation, runOutpost, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';
import { makeTestCa } from '../helpers/test-ca.js';

const USER = 'app@example.org';
const PASSWORD = 'relay-to-smarthost pass';

/** The relay's first session names the route it took (delivery.routes reaches the SMTP transport). */
async function assertRouted(serve: ServeProcess): Promise<void> {
  const opened = await serve.waitForLog((line) => line['msg'] === 'session open' || line['msg'] === 'smarthost credentials not sent without verified TLS' || line['msg'] === 'smarthost rejected the credentials', 20_000);
  assert.ok(opened['msg'] !== 'session open' || opened['route'] !== undefined, JSON.stringify(opened));
}

interface QueuedMessage {
  readonly id: string;
  readonly recipients: readonly { readonly address: string; readonly state: string; readonly lastReply?: string }[];
}

async function queue(configFile: string): Promise<QueuedMessage[]> {
  const listed = await runOutpost(['queue', 'list', '--json', '--config', configFile]);
  assert.equal(listed.code, 0, listed.stderr);
  return JSON.parse(listed.stdout) as QueuedMessage[];
}

describe('an outpost relaying through another outpost as its smarthost', () => {
  let dns: TestDnsServer;
  let smarthost: TestInstallation;
  let smarthostServe: ServeProcess;
  const relays: { installation: TestInstallation; serve: ServeProcess }[] = [];

  before(async () => {
    const ca = await makeTestCa();
    const issued = await ca.issue('smarthost.test');
    smarthost = await makeInstallation({ listeners: ['submission'], extraYaml: ['tls: { cert: cert.pem, key: key.pem }', 'users: users'].join('\n') });
    await writeFile(join(smarthost.dir, 'cert.pem'), issued.cert);
    await writeFile(join(smarthost.dir, 'key.pem'), issued.key);
    assert.equal(await addUser(smarthost.configFile, USER, PASSWORD), 0);
    smarthostServe = await ServeProcess.start(smarthost.configFile);
    dns = await startDnsServer({ zones: { 'smarthost.test': { A: ['127.0.0.1'] } } });
    for (const password of [PASSWORD, 'not the password']) {
      const installation = await makeInstallation({
        dns: { address: dns.address, port: dns.port },
        extraYaml: [
          'delivery:',
          '  retry: [1h]',
          '  routes:',
          `    "*": { host: smarthost.test, port: ${smarthostServe.port('submission')}, ca: ca.pem, maxConnections: 2, auth: { username: ${USER}, passwordFile: secrets/password } }`,
        ].join('\n'),
      });
      await writeFile(join(installation.dir, 'ca.pem'), ca.cert);
      await mkdir(join(installation.dir, 'secrets'));
      await writeFile(join(installation.dir, 'secrets/password'), `${password}\n`);
      relays.push({ installation, serve: await ServeProcess.start(installation.configFile) });
    }
  });

  after(async () => {
    for (const { serve } of relays) serve.signal('SIGTERM');
    smarthostServe.signal('SIGTERM');
    await Promise.all([...relays.map(({ serve }) => serve.exit()), smarthostServe.exit()]);
    await Promise.all([...relays.map(({ installation }) => installation.remove()), smarthost.remove()]);
    await dns.close();
  });

  it('hands a message to the smarthost over verified TLS with AUTH', async () => {
    const relay = relays[0];
    assert.ok(relay);
    const id = await submit(relay.serve.port(), USER, ['far@example.net']);
    await assertRouted(relay.serve);
    const delivered = await relay.serve.waitForLog((line) => line['msg'] === 'recipient delivered' && line['qid'] === id, 20_000);
    assert.match(String(delivered['tls']), /\(verified\)$/);
    const opened = relay.serve.logLines.find((line) => line['msg'] === 'session open' && line['route'] === '*');
    assert.equal(opened?.['tlsMode'], 'starttls');
    const arrived = (await queue(smarthost.configFile)).filter((record) => record.recipients.some((recipient) => recipient.address === 'far@example.net'));
    assert.equal(arrived.length, 1);
    assert.deepEqual(await queue(relay.installation.configFile), []);
  });

  it('defers on a wrong password, never bounces, logs and counts the refusal, and keeps the password out of everything', async () => {
    const relay = relays[1];
    assert.ok(relay);
    const id = await submit(relay.serve.port(), USER, ['other@example.net']);
    await assertRouted(relay.serve);
    const refused = await relay.serve.waitForLog((line) => line['msg'] === 'smarthost rejected the credentials', 20_000);
    assert.deepEqual([refused['route'], refused['username']], ['*', USER]);
    // Logged once the attempt's outcome is written to the spool.
    await relay.serve.waitForLog((line) => line['msg'] === 'recipient deferred' && line['qid'] === id, 20_000);
    const [record] = await queue(relay.installation.configFile);
    assert.equal(record?.recipients[0]?.state, 'pending');
    assert.match(record?.recipients[0]?.lastReply ?? '', /^451 4\.7\.8 .*rejected the credentials of app@example\.org \(AUTH PLAIN\): 535 5\.7\.8/);
    const show = await runOutpost(['queue', 'show', id, '--config', relay.installation.configFile]);
    const http = await relay.serve.waitForLog((line) => line['msg'] === 'http listening');
    const metrics = await (await fetch(`http://127.0.0.1:${String(http['port'])}/metrics`)).text();
    assert.match(metrics, /^outpost_smarthost_auth_failures_total\{route="\*"\} 1$/m);
    for (const text of [show.stdout, JSON.stringify(relay.serve.logLines), JSON.stringify(smarthostServe.logLines), metrics]) {
      assert.ok(!text.includes('not the password') && !text.includes(PASSWORD));
    }
  });
});
