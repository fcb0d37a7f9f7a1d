// DKIM end to end: keys made by `outpost dkim keygen`, messages from an
// authorized client signed once at acceptance and delivered through the real
// outbound path to aiosmtpd, then verified by dkimpy (an independent
// implementation); rotation signs with a new key only once DNS shows it.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadDkimKeys } from '../../src/dkim/keys.js';
import { dkimRecord } from '../../src/dkim/record.js';
import { AiosmtpdCapture, aiosmtpdInstalled, type CapturedMessage } from '../helpers/aiosmtpd-capture.js';
import { dkimpyInstalled, verifyWithDkimpy } from '../helpers/dkimpy-verify.js';
import { startDnsServer, type TestDnsServer, type Zones } from '../helpers/dns-server.js';
import { makeInstallation, runOutpost, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';
import { SmtpTestClient } from '../helpers/smtp-client.js';

const inCi = process.env['CI'] === 'true';
const missing = !aiosmtpdInstalled() ? 'python3-aiosmtpd' : !dkimpyInstalled() ? 'python3-dkim / python3-nacl' : undefined;
const skip = missing !== undefined && !inCi ? `${missing} not installed` : false;

/** One SMTP transaction from `localAddress` (127.0.0.1 is trusted here, 127.0.0.2 is not). */
async function send(port: number, message: string, options: { from?: string; to?: string; localAddress?: string; smtputf8?: boolean } = {}): Promise<string> {
  const client = await SmtpTestClient.connect(port, options.localAddress);
  await client.reply();
  await client.command('EHLO app.example.org');
  const mail = await client.command(`MAIL FROM:<${options.from ?? 'app@example.org'}>${options.smtputf8 === true ? ' SMTPUTF8 BODY=8BITMIME' : ''}`);
  assert.equal(mail.code, 250, mail.text);
  const rcpt = await client.command(`RCPT TO:<${options.to ?? 'user@sink.test'}>`);
  assert.equal(rcpt.code, 250, rcpt.text);
  assert.equal((await client.command('DATA')).code, 354);
  client.write(`${message}.\r\n`);
  const reply = await client.reply();
  client.close();
  const id = /queued as (\w+)/.exec(reply.text)?.[1];
  assert.ok(id, reply.text);
  return id;
}

function header(message: Buffer, name: string): string[] {
  const head = message.toString('utf8').split('\r\n\r\n')[0] ?? '';
  return head
    .replace(/\r\n[ \t]/g, ' ')
    .split('\r\n')
    .filter((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`));
}

function selectors(message: Buffer): string[] {
  return header(message, 'DKIM-Signature').map((field) => /\bs=([^;\s]+)/.exec(field)?.[1] ?? '?');
}

describe('DKIM signing end to end (dkimpy verifies what aiosmtpd received)', { skip }, () => {
  let capture: AiosmtpdCapture;
  let dns: TestDnsServer;
  let installation: TestInstallation;
  let serve: ServeProcess;
  let port: number;
  const records: Record<string, string> = {};
  let zones: Zones;

  async function publishKeys(): Promise<void> {
    const loaded = await loadDkimKeys(`${installation.dir}/dkim`);
    assert.deepEqual(loaded.problems, []);
    for (const key of loaded.keys) {
      const record = dkimRecord(key);
      records[record.name] = record.value;
      zones[record.name] = { TXT: [record.strings] };
    }
    dns.zones = { ...zones };
  }

  /** Waits for the next captured message after `count` and returns it. */
  async function captured(count: number): Promise<CapturedMessage> {
    const messages = await capture.waitForMessages(count + 1);
    return messages[count] as CapturedMessage;
  }

  before(async () => {
    capture = await AiosmtpdCapture.start('127.0.0.1');
    zones = {
      'sink.test': { MX: [{ preference: 10, exchange: 'capture.mx.test' }] },
      'example.org': { MX: [{ preference: 10, exchange: 'capture.mx.test' }] },
      'capture.mx.test': { A: ['127.0.0.1'] },
    };
    // Negative answers uncached: the rotation test publishes a record that was missing a moment before.
    dns = await startDnsServer({ zones: { ...zones }, negativeTtlSeconds: 0 });
    installation = await makeInstallation({
      dns,
      extraYaml: [
        'trustedNetworks: [127.0.0.1/32]',
        `delivery: { port: ${capture.port}, retry: [1s] }`,
        'limits: { maxMessageSize: 40MB }',
      ].join('\n'),
    });
    for (const algorithm of ['rsa', 'ed25519']) {
      const made = await runOutpost(['dkim', 'keygen', 'example.org', '--algorithm', algorithm, '--config', installation.configFile]);
      assert.equal(made.code, 0, made.stderr);
      assert.match(made.stdout, /_domainkey\.example\.org/);
    }
    await publishKeys();
    serve = await ServeProcess.start(installation.configFile);
    port = serve.port('mta');
    await serve.waitForLog((line) => line['msg'] === 'dkim key record checked' && line['record'] === 'published', 10_000);
  });

  after(async () => {
    serve?.signal('SIGTERM');
    await serve?.exit();
    await installation?.remove();
    await dns?.close();
    await capture?.stop();
  });

  let sent = 0;
  async function roundTrip(message: string, options: Parameters<typeof send>[2] = {}): Promise<CapturedMessage> {
    await send(port, message, options);
    const received = await captured(sent);
    sent += 1;
    return received;
  }

  const cases: ReadonlyArray<{ name: string; message: string; smtputf8?: boolean }> = [
    { name: 'plain ASCII', message: 'From: App <app@example.org>\r\nTo: user@sink.test\r\nSubject: plain\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\nMessage-ID: <p1@example.org>\r\n\r\nHello.\r\n' },
    {
      name: '8-bit body and UTF-8 headers',
      message: 'From: =?utf-8?q?J=C3=BCrgen?= <app@example.org>\r\nTo: Zoë <user@sink.test>\r\nSubject: Grüße aus Köln\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nSchöne Grüße — ½ € ✓\r\n',
      smtputf8: true,
    },
    { name: 'folded headers and odd whitespace', message: 'From: app@example.org\r\nTo: a@sink.test,\r\n\tb@sink.test,\r\n   c@sink.test\r\nSubject:   lots   of\t space  \r\n  folded  here \r\n\r\nline with trailing space   \r\n\t tabbed\r\n' },
    { name: 'trailing blank lines', message: 'From: app@example.org\r\nSubject: trailing\r\n\r\nbody\r\n\r\n\r\n\r\n' },
    { name: 'bare-LF input', message: 'From: app@example.org\nSubject: bare LF\n\nfirst\nsecond\r\n' },
    { name: 'lines starting with dots', message: 'From: app@example.org\r\nSubject: dots\r\n\r\n..one dot stuffed\r\n...two\r\n. \r\n.\tx\r\n' },
  ];

  for (const { name, message, smtputf8 } of cases) {
    it(`signs with RSA and Ed25519 and both verify: ${name}`, async () => {
      const received = await roundTrip(message, smtputf8 === undefined ? {} : { smtputf8 });
      const verdict = await verifyWithDkimpy(received.data, records);
      assert.equal(verdict.signatures, 2, received.data.toString('utf8').slice(0, 600));
      assert.deepEqual(verdict.valid, [true, true]);
      const algorithms = header(received.data, 'DKIM-Signature').map((field) => /\ba=([^;\s]+)/.exec(field)?.[1]);
      assert.deepEqual(algorithms, ['rsa-sha256', 'ed25519-sha256']);
    });
  }

  it('a tampered header, an added From: or a tampered body fails verification', async () => {
    const received = await roundTrip('From: app@example.org\r\nTo: user@sink.test\r\nSubject: original\r\n\r\nthe body\r\n');
    assert.deepEqual((await verifyWithDkimpy(received.data, records)).valid, [true, true]);
    const text = received.data.toString('latin1');
    const tamperedHeader = Buffer.from(text.replace('Subject: original', 'Subject: changed'), 'latin1');
    assert.deepEqual((await verifyWithDkimpy(tamperedHeader, records)).valid, [false, false]);
    const addedFrom = Buffer.from(text.replace('\r\n\r\n', '\r\nFrom: evil@attacker.test\r\n\r\n'), 'latin1');
    assert.deepEqual((await verifyWithDkimpy(addedFrom, records)).valid, [false, false]);
    const tamperedBody = Buffer.from(text.replace('the body', 'the b0dy'), 'latin1');
    assert.deepEqual((await verifyWithDkimpy(tamperedBody, records)).valid, [false, false]);
  });

  it('signs and verifies a 25 MB message', async () => {
    const line = `${'0123456789abcdefghijklmnopqrstuvwxyz'.repeat(2)}\r\n`;
    const body = line.repeat(Math.ceil((25 * 1024 * 1024) / line.length));
    const received = await roundTrip(`From: app@example.org\r\nSubject: big\r\n\r\n${body}`);
    assert.ok(received.data.length > 25 * 1024 * 1024);
    assert.deepEqual((await verifyWithDkimpy(received.data, records)).valid, [true, true]);
  });

  it('never signs mail that merely arrives for a local domain from an unauthorized client', async () => {
    const received = await roundTrip('From: someone@example.org\r\nTo: user@example.org\r\nSubject: inbound\r\n\r\nhi\r\n', {
      localAddress: '127.0.0.2',
      from: 'outsider@sink.test',
      to: 'user@example.org',
    });
    assert.deepEqual(header(received.data, 'DKIM-Signature'), []);
  });

  it('does not sign a message without a usable From:, and logs why', async () => {
    const received = await roundTrip('From: a@example.org, b@example.org\r\nSubject: two authors\r\n\r\nhi\r\n');
    assert.deepEqual(header(received.data, 'DKIM-Signature'), []);
    await serve.waitForLog((line) => line['msg'] === 'message not signed' && String(line['reason']).includes('From'));
  });

  it('signs a subdomain author with the parent domain keys (d= the parent)', async () => {
    const received = await roundTrip('From: alerts@eu.example.org\r\nSubject: sub\r\n\r\nhi\r\n');
    assert.equal(header(received.data, 'DKIM-Signature').filter((field) => /\bd=example\.org;/.test(field)).length, 2);
    assert.deepEqual((await verifyWithDkimpy(received.data, records)).valid, [true, true]);
  });

  it('rotation: a new key signs only once its record is visible in DNS', async () => {
    const before = selectors((await roundTrip('From: app@example.org\r\nSubject: before rotation\r\n\r\nhi\r\n')).data);
    const rotated = await runOutpost(['dkim', 'rotate', 'example.org', '--config', installation.configFile]);
    assert.equal(rotated.code, 0, rotated.stderr);
    serve.signal('SIGHUP');
    await serve.waitForLog((line) => line['msg'] === 'reloaded' && line['dkimKeys'] === 4);
    const unpublished = await roundTrip('From: app@example.org\r\nSubject: new key not published\r\n\r\nhi\r\n');
    assert.deepEqual(selectors(unpublished.data), before);
    await publishKeys();
    const checked = serve.logLines.length;
    serve.signal('SIGHUP');
    let seen = 0; // the new records are seen: two lines from here on
    await serve.waitForLog((line) => line['msg'] === 'dkim key record checked' && line['record'] === 'published' && ++seen === 2, 10_000, checked);
    const published = await roundTrip('From: app@example.org\r\nSubject: new key published\r\n\r\nhi\r\n');
    const now = selectors(published.data);
    assert.equal(now.length, 2);
    assert.ok(now.every((selector) => !before.includes(selector)), `${now.join(',')} vs ${before.join(',')}`);
    assert.deepEqual((await verifyWithDkimpy(published.data, records)).valid, [true, true]);
  });
});
