// The suppression list end to end: the real `outpost serve` delivers to a fake
// MTA that answers 550 5.1.1, the address is suppressed and the next RCPT gets
// 550 5.1.1; `outpost suppress list|add|remove` with the server running (control
// socket) and stopped (the file, under its lock), picked up by the next start.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { FakeMta } from '../helpers/fake-mta.js';
import { submit, swaks } from '../helpers/e2e-clients.js';
import { makeInstallation, runOutpost, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';
import { SmtpTestClient } from '../helpers/smtp-client.js';

interface ListedEntry {
  address: string;
  state: string;
  source: string;
  reply: string;
}

/** The RCPT replies of one transaction from the trusted loopback client. */
async function rcptReplies(port: number, recipients: readonly string[]): Promise<string[]> {
  const client = await SmtpTestClient.connect(port);
  await client.reply();
  await client.command('EHLO app.example.org');
  assert.equal((await client.command('MAIL FROM:<app@example.org>')).code, 250);
  const replies: string[] = [];
  for (const recipient of recipients) replies.push((await client.command(`RCPT TO:<${recipient}>`)).text);
  await client.command('QUIT');
  client.close();
  return replies;
}

describe('suppression list end to end', () => {
  let dns: TestDnsServer;
  let mta: FakeMta;
  let installation: TestInstallation;
  let serve: ServeProcess | undefined;
  const suppress = (...args: string[]) => runOutpost(['suppress', ...args, '--config', installation.configFile]);

  before(async () => {
    mta = await FakeMta.start({
      host: '127.0.0.2',
      name: 'mx.remote.test',
      script: { rcpt: ({ argument }) => (argument === 'dead@remote.test' ? '550 5.1.1 <dead@remote.test>: Recipient address rejected: User unknown' : undefined) },
    });
    dns = await startDnsServer({ zones: { 'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] }, 'mx.remote.test': { A: ['127.0.0.2'] } } });
    installation = await makeInstallation({ dns, extraYaml: `delivery: { port: ${mta.port}, retry: [1h] }\nsuppression: { after: 1, ttl: 30d }` });
    serve = await ServeProcess.start(installation.configFile);
  });
  after(async () => {
    serve?.signal('SIGTERM');
    await serve?.exit();
    await mta.close();
    await dns.close();
    await installation.remove();
  });

  it('suppresses an address the remote refused with 550 5.1.1 and refuses the next RCPT to it', async () => {
    const running = serve as ServeProcess;
    await submit(running.port(), 'app@example.org', ['dead@remote.test', 'alive@remote.test']);
    await running.waitForLog((line) => line['msg'] === 'address suppressed' && line['rcpt'] === 'dead@remote.test');
    const result = await swaks(['--server', '127.0.0.1', '--port', String(running.port()), '--from', 'app@example.org', '--to', 'dead@remote.test', '--helo', 'app.example.org']);
    assert.equal(result.ok, false, result.output);
    assert.match(
      result.output,
      /<\*\* 550 5\.1\.1 <dead@remote\.test>: Recipient address rejected: suppressed after a permanent failure on \d{4}-\d\d-\d\d \d\d:\d\d UTC \(550 5\.1\.1 <dead@remote\.test>: Recipient address rejected: User unknown\); see outpost suppress/,
    );
    assert.deepEqual((await rcptReplies(running.port(), ['alive@remote.test'])).map((text) => text.slice(0, 3)), ['250']);
  });

  it('lists, adds and removes through the running server', async () => {
    const running = serve as ServeProcess;
    const listed = await suppress('list', '--json');
    assert.equal(listed.code, 0, listed.stderr);
    const entries = JSON.parse(listed.stdout) as ListedEntry[];
    assert.deepEqual(entries.map(({ address, state, source }) => ({ address, state, source })), [{ address: 'dead@remote.test', state: 'suppressed', source: 'delivery' }]);
    assert.match(entries[0]?.reply ?? '', /^550 5\.1\.1/);

    const added = await suppress('add', 'manual@remote.test');
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^manual@remote\.test: suppressed until \d{4}-/);
    const removed = await suppress('remove', 'dead@remote.test');
    assert.equal(removed.code, 0, removed.stderr);
    const replies = await rcptReplies(running.port(), ['manual@remote.test', 'dead@remote.test']);
    assert.match(replies[0] ?? '', /^550 5\.1\.1 <manual@remote\.test>: Recipient address rejected: suppressed by the operator on /);
    assert.match(replies[1] ?? '', /^250 2\.1\.5/);

    const missing = await suppress('remove', 'never@remote.test');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /never@remote\.test is not on the list/);
    const table = await suppress('list');
    assert.match(table.stdout, /^ADDRESS +STATE +SINCE +EXPIRES +SOURCE +LAST REPLY\nmanual@remote\.test +suppressed +\S+ +\S+ +operator\s*$/);
  });

  it('changes the file while no server runs; the next server refuses what was added', async () => {
    const running = serve as ServeProcess;
    running.signal('SIGTERM');
    assert.equal(await running.exit(), 0);
    serve = undefined;
    // Four commands at once: the lock file orders their read-change-writes, none is lost.
    const results = await Promise.all([
      suppress('add', 'offline@remote.test'),
      suppress('add', 'second@remote.test'),
      suppress('add', 'third@remote.test'),
      suppress('remove', 'manual@remote.test'),
    ]);
    assert.deepEqual(results.map((result) => result.code), [0, 0, 0, 0], results.map((result) => result.stderr).join(''));
    assert.equal((await suppress('remove', 'second@remote.test')).code, 0);
    const listed = JSON.parse((await suppress('list', '--json')).stdout) as ListedEntry[];
    assert.deepEqual(listed.map((entry) => entry.address), ['offline@remote.test', 'third@remote.test']);

    serve = await ServeProcess.start(installation.configFile);
    const replies = await rcptReplies(serve.port(), ['offline@remote.test', 'manual@remote.test']);
    assert.match(replies[0] ?? '', /^550 5\.1\.1 <offline@remote\.test>: Recipient address rejected: suppressed by the operator/);
    assert.match(replies[1] ?? '', /^250 2\.1\.5/);
  });

  it('refuses a usage error with exit 2', async () => {
    const result = await suppress('add', 'not an address');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /not an address/);
  });
});
