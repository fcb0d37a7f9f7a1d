// No backscatter with the real `outpost serve`: mail for a local domain from
// an untrusted client is verified with the domain's next hop (a fake MTA behind
// delivery.routes) at RCPT. An unknown user is refused there, so nothing is
// queued and no bounce goes to the (forged) sender; a known user is delivered.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeMta } from '../helpers/fake-mta.js';
import { makeInstallation, runOutpost, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';
import { SmtpTestClient } from '../helpers/smtp-client.js';

const UNTRUSTED = '127.0.0.2';

async function queueLength(installation: TestInstallation): Promise<number> {
  const result = await runOutpost(['queue', 'list', '--json', '--config', installation.configFile]);
  assert.equal(result.code, 0, result.stderr);
  return (JSON.parse(result.stdout) as unknown[]).length;
}

/** One transaction from an untrusted address; the replies to RCPT, and to the message when one was accepted. */
async function send(port: number, from: string, to: string): Promise<{ rcpt: string; data: string | undefined }> {
  const client = await SmtpTestClient.connect(port, UNTRUSTED);
  await client.reply();
  await client.command('EHLO spammer.example.com');
  assert.equal((await client.command(`MAIL FROM:<${from}>`)).code, 250);
  const rcpt = await client.command(`RCPT TO:<${to}>`);
  const dataStart = await client.command('DATA');
  let data: string | undefined;
  if (dataStart.code === 354) {
    client.write('Subject: hello\r\n\r\nbuy now\r\n.\r\n');
    data = (await client.reply()).text;
  }
  await client.command('QUIT');
  client.close();
  return { rcpt: rcpt.text, data };
}

describe('recipient verification with outpost serve', () => {
  let mailstore: FakeMta;
  let installation: TestInstallation;
  let serve: ServeProcess;

  before(async () => {
    mailstore = await FakeMta.start({
      host: '127.0.0.3',
      name: 'mailstore.test',
      script: { rcpt: ({ argument }) => (argument.toLowerCase() === 'alice@example.org' ? undefined : `550 5.1.1 <${argument}>: Recipient address rejected: User unknown`) },
    });
    installation = await makeInstallation({
      domains: ['example.org', 'listed.example'],
      extraYaml: [
        'trustedNetworks: [127.0.0.1/32]',
        `delivery: { routes: { example.org: "127.0.0.3:${mailstore.port}", listed.example: "127.0.0.3:${mailstore.port}" }, retry: [1s], connectTimeout: 2s, commandTimeout: 10s }`,
        'verifyRecipients: { file: recipients }',
      ].join('\n'),
    });
    await writeFile(join(installation.dir, 'recipients'), '# listed.example takes only these\nalice@listed.example\n');
    serve = await ServeProcess.start(installation.configFile);
  });

  after(async () => {
    serve.signal('SIGTERM');
    await serve.exit();
    await mailstore.close();
    await installation.remove();
  });

  it('refuses an unknown user at RCPT with 550 5.1.1: nothing is queued and no bounce is sent', async () => {
    const result = await send(serve.port(), 'innocent@example.com', 'nobody@example.org');
    assert.equal(result.rcpt, '550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown (verified with the next hop)');
    assert.equal(result.data, undefined, 'DATA refused: no valid recipients');
    assert.equal(await queueLength(installation), 0, 'no message and no DSN in the queue');
    assert.equal(mailstore.messages.length, 0);
    assert.deepEqual(mailstore.sessions[0]?.commands.slice(1), ['MAIL FROM:<>', 'RCPT TO:<nobody@example.org>', 'RSET', 'QUIT']);
    const logged = await serve.waitForLog((line) => line['msg'] === 'recipient verified' && line['rcpt'] === 'nobody@example.org');
    assert.deepEqual([logged['level'], logged['client'], logged['decision']], ['info', UNTRUSTED, 'reject']);
  });

  it('accepts a known user and delivers the message to the next hop', async () => {
    const result = await send(serve.port(), 'friend@example.com', 'alice@example.org');
    assert.match(result.rcpt, /^250 2\.1\.5/);
    assert.match(result.data ?? '', /^250 2\.0\.0 .*queued as/);
    await mailstore.until(() => mailstore.messages.some((message) => message.recipients.includes('alice@example.org')));
    assert.equal(mailstore.messages.length, 1);
  });

  it('answers the same unknown user from the cache', async () => {
    const probesBefore = mailstore.sessions.filter((session) => session.commands.includes('MAIL FROM:<>')).length;
    assert.match((await send(serve.port(), 'innocent@example.com', 'nobody@example.org')).rcpt, /^550 5\.1\.1/);
    assert.equal(mailstore.sessions.filter((session) => session.commands.includes('MAIL FROM:<>')).length, probesBefore);
  });

  it('judges a domain of the recipients file by the file alone, and reloads it on SIGHUP', async () => {
    const sessionsBefore = mailstore.sessions.length;
    assert.equal((await send(serve.port(), 'x@example.com', 'bob@listed.example')).rcpt, '550 5.1.1 <bob@listed.example>: Recipient address rejected: User unknown in the recipients file');
    await appendFile(join(installation.dir, 'recipients'), 'bob@listed.example\n');
    const from = serve.logLines.length;
    serve.signal('SIGHUP');
    const reloaded = await serve.waitForLog((line) => line['msg'] === 'reloaded', 10_000, from);
    assert.ok((reloaded['reloaded'] as string[]).includes('recipients'));
    assert.match((await send(serve.port(), 'x@example.com', 'bob@listed.example')).rcpt, /^250 2\.1\.5/);
    assert.equal(mailstore.sessions.slice(sessionsBefore).filter((session) => session.commands.includes('MAIL FROM:<>')).length, 0, 'never probed');
  });

  it('never verifies for a trusted client', async () => {
    const client = await SmtpTestClient.connect(serve.port());
    await client.reply();
    await client.command('EHLO app.example.org');
    await client.command('MAIL FROM:<app@example.org>');
    assert.match((await client.command('RCPT TO:<ghost@example.org>')).text, /^250/);
    client.close();
    assert.ok(!mailstore.sessions.some((session) => session.commands.includes('RCPT TO:<ghost@example.org>')));
  });

  it('counts verifications in /metrics', async () => {
    const http = await serve.waitForLog((line) => line['msg'] === 'http listening');
    const text = await (await fetch(`http://127.0.0.1:${String(http['port'])}/metrics`)).text();
    assert.match(text, /^outpost_recipient_verifications_total\{result="invalid",source="probe"\} 1$/m);
    assert.match(text, /^outpost_recipient_verifications_total\{result="invalid",source="cache"\} 1$/m);
    assert.match(text, /^outpost_recipient_verifications_total\{result="valid",source="probe"\} 1$/m);
    assert.match(text, /^outpost_messages_rejected_total\{reason="unknown-recipient"\} [1-9]/m);
  });
});
