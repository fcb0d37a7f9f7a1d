// The real `outpost serve` process with real clients: Debian's swaks and
// Python's smtplib submit mail; the relay rule holds for trusted and
// untrusted sources; signals and startup failures behave as INTERFACE.md says.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { swaks } from '../helpers/e2e-clients.js';
import { makeInstallation, runOutpost, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';
import { SmtpTestClient } from '../helpers/smtp-client.js';

const run = promisify(execFile);

interface QueueEntry {
  id: string;
  from: string;
  size: number;
  recipients: { address: string; state: string }[];
}

async function queueList(installation: TestInstallation): Promise<QueueEntry[]> {
  const result = await runOutpost(['queue', 'list', '--json', '--config', installation.configFile]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as QueueEntry[];
}

describe('outpost serve with real clients', () => {
  let installation: TestInstallation;
  let serve: ServeProcess;
  before(async () => {
    // Not about recipient verification: untrusted clients send to held domains (SERVFAIL), which could not be probed.
    installation = await makeInstallation({ extraYaml: 'trustedNetworks: [127.0.0.1/32]\nverifyRecipients: { probe: false }' });
    serve = await ServeProcess.start(installation.configFile);
  });
  after(async () => {
    serve.signal('SIGTERM');
    await serve.exit();
    await installation.remove();
  });

  it('queues mail to a foreign domain from a trusted address (swaks)', async () => {
    const result = await swaks([
      '--server', `127.0.0.1:${serve.port()}`,
      '--from', 'app@example.org', '--to', 'someone@example.net',
      '--header', 'Subject: swaks e2e', '--body', 'hello via swaks',
    ]);
    assert.ok(result.ok, result.output);
    assert.match(result.output, /<- {1,2}250 2\.0\.0 Ok: queued as/);
    const queued = await queueList(installation);
    assert.ok(queued.some((entry) => entry.from === 'app@example.org' && entry.recipients[0]?.address === 'someone@example.net'));
  });

  it('refuses to relay for an untrusted address: 554 5.7.1, and 550 5.7.1 for a spoofed local sender', async () => {
    const foreign = await swaks([
      '--server', `127.0.0.1:${serve.port()}`, '--local-interface', '127.0.0.2',
      '--from', 'someone@example.com', '--to', 'someone@example.net',
    ]);
    assert.equal(foreign.ok, false);
    assert.match(foreign.output, /<\*\* {1,2}554 5\.7\.1/);
    const spoofed = await swaks([
      '--server', `127.0.0.1:${serve.port()}`, '--local-interface', '127.0.0.2',
      '--from', 'app@example.org', '--to', 'someone@example.net',
    ]);
    assert.equal(spoofed.ok, false);
    assert.match(spoofed.output, /<\*\* {1,2}550 5\.7\.1/);
  });

  it('accepts mail for a local domain from an untrusted address (swaks)', async () => {
    const result = await swaks([
      '--server', `127.0.0.1:${serve.port()}`, '--local-interface', '127.0.0.2',
      '--from', 'someone@example.com', '--to', 'postmaster@example.org',
    ]);
    assert.ok(result.ok, result.output);
  });

  it('queues a message sent with Python smtplib, pipelined and 8-bit', async () => {
    const script = [
      'import smtplib, sys',
      'from email.message import EmailMessage',
      'm = EmailMessage()',
      'm["From"] = "app@example.org"; m["To"] = "py@example.net"; m["Subject"] = "smtplib e2e"',
      'm.set_content("Grüße aus Python\\n.\\nthe line above is a lone dot\\n", cte="8bit")',
      `with smtplib.SMTP("127.0.0.1", ${serve.port()}, local_hostname="py.example.net") as s:`,
      '    s.send_message(m)',
      'print("sent")',
    ].join('\n');
    const { stdout } = await run('python3', ['-c', script], { timeout: 20_000 });
    assert.equal(stdout.trim(), 'sent');
    const queued = await queueList(installation);
    const entry = queued.find((candidate) => candidate.recipients[0]?.address === 'py@example.net');
    assert.ok(entry);
    const shown = await runOutpost(['queue', 'show', entry.id, '--config', installation.configFile]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /smtplib e2e/);
  });

  it('says once at startup that DANE is off (dns.dnssec false)', async () => {
    await serve.waitForLog((line) => line['msg'] === 'outpost started');
    const dane = serve.logLines.filter((line) => String(line['msg']).startsWith('dane '));
    assert.deepEqual(dane.map((line) => line['msg']), ['dane off: dns.dnssec is false (DNSSEC-secure TLSA records need a validating resolver such as a local unbound)']);
  });

  it('serves /healthz and /metrics, and the metrics move after traffic', async () => {
    const http = await serve.waitForLog((line) => line['msg'] === 'http listening');
    const base = `http://127.0.0.1:${String(http['port'])}`;
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    const body = (await health.json()) as { status: string; checks: unknown; details: { disk: { freeBytes: number; minFreeBytes: number } } };
    assert.deepEqual({ status: body.status, checks: body.checks }, { status: 'ok', checks: { listeners: 'ok', spool: 'ok', disk: 'ok' } });
    assert.ok(body.details.disk.freeBytes >= body.details.disk.minFreeBytes, 'the free bytes of the spool disk are shown');
    const metrics = await fetch(`${base}/metrics`);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    const accepted = Number(/^outpost_messages_accepted_total\{listener="mta"\} (\d+)$/m.exec(text)?.[1]);
    assert.ok(accepted >= 2, `accepted messages counted (${accepted})`);
    assert.match(text, /^outpost_messages_rejected_total\{reason="relay-denied"\} [1-9]/m);
    assert.match(text, /^outpost_queue_messages [1-9]/m);
    assert.match(text, /^outpost_smtp_sessions_total\{listener="mta"\} [1-9]/m);
  });

  it('reloads the domains file on SIGHUP', async () => {
    const attempt = async (): Promise<number> => {
      const client = await SmtpTestClient.connect(serve.port(), '127.0.0.2');
      await client.reply();
      await client.command('EHLO c');
      await client.command('MAIL FROM:<x@example.com>');
      const { code } = await client.command('RCPT TO:<someone@example.info>');
      client.close();
      return code;
    };
    assert.equal(await attempt(), 554);
    await writeFile(join(installation.dir, 'domains'), 'example.org\nexample.info\n');
    serve.signal('SIGHUP');
    await serve.waitForLog((line) => line['msg'] === 'reloaded');
    assert.equal(await attempt(), 250);

    await writeFile(join(installation.dir, 'domains'), 'example.org\nnot a domain!\n');
    serve.signal('SIGHUP');
    const failure = await serve.waitForLog((line) => line['msg'] === 'domains reload failed, keeping the old list');
    assert.match(JSON.stringify(failure['err']), /domains:2/);
    assert.equal(await attempt(), 250, 'the old list (with example.info) is still in force');
    assert.equal(serve.child.exitCode, null, 'still running');
  });
});

describe('outpost serve lifecycle', () => {
  it('exits 0 on SIGTERM after answering an open session 421 4.3.2', async () => {
    const installation = await makeInstallation();
    const serve = await ServeProcess.start(installation.configFile);
    const client = await SmtpTestClient.connect(serve.port());
    await client.reply();
    serve.signal('SIGTERM');
    assert.match((await client.reply()).text, /^421 4\.3\.2/);
    assert.equal(await serve.exit(), 0);
    await installation.remove();
  });

  it('exits 1 with one clear line when the port is in use', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    assert.ok(address !== null && typeof address === 'object');
    const installation = await makeInstallation();
    const result = await runOutpost(['serve', '--config', installation.configFile], {
      OUTPOST_LISTEN: `127.0.0.1:${address.port}/mta`,
    });
    blocker.close();
    await installation.remove();
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${address.port} \\(mta\\): the port is already in use`));
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  });

  it('exits 1 naming the file and key for a broken config, without a stack trace', async () => {
    const installation = await makeInstallation({ extraYaml: 'limits: { maxMessageSize: lots }' });
    const result = await runOutpost(['serve', '--config', installation.configFile]);
    await installation.remove();
    assert.equal(result.code, 1);
    assert.match(result.stderr, /outpost\.yaml.*limits\.maxMessageSize/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });
});
