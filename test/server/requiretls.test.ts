// Receiving REQUIRETLS (RFC 8689 §2, §4.1): the EHLO keyword and the MAIL option
// only inside TLS (530 5.7.10 outside), the tag stored in the spool record; a
// "TLS-Required: No" header field tags the message unless REQUIRETLS came with it.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderScanner } from '../../src/server/header-scanner.js';
import { SmtpTestClient } from '../helpers/smtp-client.js';
import { startHarness, type Harness } from '../helpers/relay-harness.js';
import { makeSelfSignedCertificate } from '../helpers/tls-cert.js';

let mta: Harness;
let smtps: Harness;
let plain: Harness;

before(async () => {
  const certificate = await makeSelfSignedCertificate('mx.example.org');
  mta = await startHarness({ tls: certificate });
  smtps = await startHarness({ tls: certificate, mode: 'smtps', users: { 'app@example.org': 'secret' } });
  plain = await startHarness();
});
after(async () => {
  await Promise.all([mta.close(), smtps.close(), plain.close()]);
});

/** A client on the mta listener after STARTTLS and a fresh EHLO. */
async function secured(): Promise<SmtpTestClient> {
  const client = await SmtpTestClient.connect(mta.port);
  await client.reply();
  await client.command('EHLO c');
  assert.equal((await client.command('STARTTLS')).code, 220);
  const secure = await client.startTls();
  await secure.command('EHLO c');
  return secure;
}

/** MAIL (with `mailParams`), one RCPT, DATA with `content`; resolves with the queue id. */
async function send(client: SmtpTestClient, mailParams: string, content: string): Promise<string> {
  assert.equal((await client.command(`MAIL FROM:<app@example.org>${mailParams}`)).code, 250);
  assert.equal((await client.command('RCPT TO:<someone@example.net>')).code, 250);
  assert.equal((await client.command('DATA')).code, 354);
  client.write(`${content}.\r\n`);
  const reply = await client.reply();
  const id = /queued as (\w+)/.exec(reply.text)?.[1];
  assert.ok(id, reply.text);
  return id;
}

describe('the REQUIRETLS EHLO keyword', () => {
  it('is not offered before STARTTLS, nor by a listener without TLS', async () => {
    for (const harness of [mta, plain]) {
      const client = await SmtpTestClient.connect(harness.port);
      await client.reply();
      assert.ok(!(await client.command('EHLO c')).lines.includes('REQUIRETLS'));
      client.close();
    }
  });

  it('is offered after STARTTLS and on an smtps listener', async () => {
    const secure = await secured();
    assert.ok((await secure.command('EHLO c')).lines.includes('REQUIRETLS'));
    secure.close();
    const implicit = await SmtpTestClient.connectTls(smtps.port);
    await implicit.reply();
    assert.ok((await implicit.command('EHLO c')).lines.includes('REQUIRETLS'));
    implicit.close();
  });
});

describe('MAIL FROM with REQUIRETLS', () => {
  it('is refused outside TLS with 530 5.7.10, and no transaction starts', async () => {
    const client = await SmtpTestClient.connect(mta.port);
    await client.reply();
    await client.command('EHLO c');
    assert.match((await client.command('MAIL FROM:<app@example.org> REQUIRETLS')).text, /^530 5\.7\.10 REQUIRETLS needs TLS/);
    assert.match((await client.command('RCPT TO:<someone@example.net>')).text, /^503 5\.5\.1/);
    assert.equal((await client.command('MAIL FROM:<app@example.org>')).code, 250, 'the same sender without the option is fine');
    client.close();
  });

  it('is accepted inside TLS and tags the stored message', async () => {
    const secure = await secured();
    const id = await send(secure, ' REQUIRETLS', 'Subject: secret\r\n\r\nbody\r\n');
    secure.close();
    assert.equal((await mta.spool.read(id))?.tlsRequirement, 'requiretls');
    assert.equal(mta.log.messages('message queued').find((line) => line['qid'] === id)?.['tlsRequirement'], 'requiretls');
  });

  it('takes no value (501) and the keyword case-insensitively', async () => {
    const secure = await secured();
    assert.match((await secure.command('MAIL FROM:<app@example.org> REQUIRETLS=YES')).text, /^501 5\.5\.4 Bad REQUIRETLS parameter/);
    const id = await send(secure, ' requiretls', 'Subject: lower\r\n\r\nbody\r\n');
    secure.close();
    assert.equal((await mta.spool.read(id))?.tlsRequirement, 'requiretls');
  });

  it('wins over a "TLS-Required: No" header field, which is then only kept in the message', async () => {
    const secure = await secured();
    const id = await send(secure, ' REQUIRETLS', 'TLS-Required: No\r\nSubject: both\r\n\r\nbody\r\n');
    secure.close();
    assert.equal((await mta.spool.read(id))?.tlsRequirement, 'requiretls');
  });
});

describe('the TLS-Required header field', () => {
  it('"No" tags the message, also folded or in another case, in plaintext sessions too', async () => {
    const contents = ['TLS-Required: No\r\nSubject: a\r\n\r\nb\r\n', 'Subject: a\r\ntls-required:\r\n  NO \r\n\r\nb\r\n'];
    for (const content of contents) {
      const client = await SmtpTestClient.connect(mta.port);
      await client.reply();
      await client.command('EHLO c');
      const id = await send(client, '', content);
      client.close();
      assert.equal((await mta.spool.read(id))?.tlsRequirement, 'tls-required-no', JSON.stringify(content));
    }
  });

  it('any other value, or the field only in the body, leaves the message untagged', async () => {
    const contents = ['TLS-Required: Yes\r\n\r\nb\r\n', 'TLS-Required: No\r\nTLS-Required: maybe\r\n\r\nb\r\n', 'Subject: a\r\n\r\nTLS-Required: No\r\n'];
    for (const content of contents) {
      const client = await SmtpTestClient.connect(mta.port);
      await client.reply();
      await client.command('EHLO c');
      const id = await send(client, '', content);
      client.close();
      const record = await mta.spool.read(id);
      assert.equal(record?.tlsRequirement, undefined, JSON.stringify(content));
      assert.ok(record !== undefined && !('tlsRequirement' in record), 'the record has no such field');
    }
  });
});

describe('HeaderScanner reading TLS-Required', () => {
  const cases: readonly (readonly [string, string])[] = [
    ['Subject: x\r\n\r\n', 'absent'],
    ['TLS-Required: No\r\n\r\n', 'no'],
    ['TLS-Required:No\r\n\r\n', 'no'],
    ['TLS-REQUIRED: no \r\n\r\n', 'no'],
    ['TLS-Required:\r\n\tNo\r\n\r\n', 'no'],
    ['TLS-Required: No\r\nTLS-Required: No\r\n\r\n', 'no'],
    ['TLS-Required: No\r\n', 'no'],
    ['TLS-Required: No thanks\r\n\r\n', 'invalid'],
    ['TLS-Required: Yes\r\nTLS-Required: No\r\n\r\n', 'invalid'],
    ['TLS-Required: N\r\n o\r\n\r\n', 'invalid'],
    [`TLS-Required: ${' '.repeat(40)}No\r\n\r\n`, 'invalid'],
    ['X-TLS-Required: No\r\n\r\n', 'absent'],
    ['Subject: x\r\n\r\nTLS-Required: No\r\n', 'absent'],
  ];
  for (const [header, expected] of cases) {
    it(`reads ${JSON.stringify(header)} as ${expected}, in one chunk or byte by byte`, () => {
      const whole = new HeaderScanner();
      whole.push(Buffer.from(header, 'latin1'));
      assert.equal(whole.tlsRequired, expected);
      const bytewise = new HeaderScanner();
      for (const byte of Buffer.from(header, 'latin1')) bytewise.push(Buffer.from([byte]));
      assert.equal(bytewise.tlsRequired, expected);
    });
  }
});
