// TLS on the listener: STARTTLS (RFC 3207) on an mta listener, implicit TLS
// (RFC 8314) on an smtps listener, the command-injection defence
// (CVE-2011-0411) and the TLS details in the Received header.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SmtpTestClient } from '../helpers/smtp-client.js';
import { startHarness, type Harness } from '../helpers/relay-harness.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../helpers/tls-cert.js';

let certificate: TestCertificate;
let mta: Harness;
let plain: Harness;
let smtps: Harness;

before(async () => {
  certificate = await makeSelfSignedCertificate('mx.example.org');
  mta = await startHarness({ tls: certificate });
  plain = await startHarness();
  smtps = await startHarness({ tls: certificate, mode: 'smtps' });
});
after(async () => {
  await Promise.all([mta.close(), plain.close(), smtps.close()]);
});

async function greeted(h: Harness): Promise<SmtpTestClient> {
  const client = await SmtpTestClient.connect(h.port);
  assert.equal((await client.reply()).code, 220);
  return client;
}

async function bodyOf(h: Harness, id: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of h.spool.openBody(id)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

describe('STARTTLS', () => {
  it('is offered in EHLO only when a certificate is configured', async () => {
    const withTls = await greeted(mta);
    assert.ok((await withTls.command('EHLO c')).lines.includes('STARTTLS'));
    withTls.close();
    const withoutTls = await greeted(plain);
    assert.ok(!(await withoutTls.command('EHLO c')).lines.includes('STARTTLS'));
    assert.match((await withoutTls.command('STARTTLS')).text, /^502 5\.5\.1/);
    withoutTls.close();
  });

  it('upgrades the session, resets it to before EHLO, and records TLS in the Received header', async () => {
    const client = await greeted(mta);
    await client.command('EHLO c');
    assert.match((await client.command('STARTTLS')).text, /^220 2\.0\.0/);
    const secure = await client.startTls();
    assert.match(secure.tlsProtocol ?? '', /^TLSv1\.[23]$/);
    assert.match((await secure.command('MAIL FROM:<app@example.org>')).text, /^503 5\.5\.1/, 'EHLO is needed again');
    const ehlo = await secure.command('EHLO c');
    assert.ok(!ehlo.lines.includes('STARTTLS'), 'not offered twice');
    assert.match((await secure.command('STARTTLS')).text, /^503 5\.5\.1/);
    await secure.command('MAIL FROM:<app@example.org>');
    await secure.command('RCPT TO:<x@example.net>');
    await secure.command('DATA');
    secure.write('Subject: tls\r\n\r\nsecret\r\n.\r\n');
    const id = /queued as (\w+)/.exec((await secure.reply()).text)?.[1] ?? '';
    const body = await bodyOf(mta, id);
    assert.match(body, /\(using TLSv1\.[23] with cipher [A-Z0-9_-]+\) with ESMTPS id /);
    const record = await mta.spool.read(id);
    assert.match(record?.client.tls ?? '', /^TLSv1\.[23] /);
    secure.close();
  });

  it('discards commands pipelined after STARTTLS in the same packet (CVE-2011-0411)', async () => {
    const client = await greeted(mta);
    await client.command('EHLO c');
    client.write('STARTTLS\r\nMAIL FROM:<injected@example.org>\r\n');
    assert.match((await client.reply()).text, /^220 2\.0\.0/);
    const secure = await client.startTls();
    await secure.command('EHLO c');
    assert.match((await secure.command('RCPT TO:<x@example.net>')).text, /^503 5\.5\.1/, 'no MAIL transaction was started by the injected command');
    assert.match((await secure.command('MAIL FROM:<app@example.org>')).text, /^250 /);
    assert.ok(
      mta.log.entries.every((entry) => !(entry['msg'] === 'command' && String(entry['line']).includes('injected'))),
      'the injected command never reached the command handler',
    );
    secure.close();
  });

  it('refuses STARTTLS in the middle of a transaction and with an argument', async () => {
    const client = await greeted(mta);
    await client.command('EHLO c');
    assert.match((await client.command('STARTTLS now')).text, /^501 5\.5\.4/);
    await client.command('MAIL FROM:<app@example.org>');
    assert.match((await client.command('STARTTLS')).text, /^503 5\.5\.1/);
    client.close();
  });

  it('ends the session when the handshake fails', async () => {
    const client = await greeted(mta);
    await client.command('EHLO c');
    await client.command('STARTTLS');
    client.write('this is not a TLS ClientHello\r\n');
    await client.waitClosed();
  });
});

describe('implicit TLS (smtps)', () => {
  it('speaks TLS from the first byte and greets inside it', async () => {
    const client = await SmtpTestClient.connectTls(smtps.port);
    assert.equal((await client.reply()).code, 220);
    assert.match(client.tlsProtocol ?? '', /^TLSv1\.[23]$/);
    const ehlo = await client.command('EHLO c');
    assert.ok(!ehlo.lines.includes('STARTTLS'));
    client.close();
  });

  it('never greets a plaintext client', async () => {
    const client = await SmtpTestClient.connect(smtps.port);
    client.write('EHLO plain\r\n');
    await client.waitClosed();
  });
});
