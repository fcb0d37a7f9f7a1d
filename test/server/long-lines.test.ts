// Lines over 998 octets (RFC 5322 §2.1.1) on the real listener and spool:
// an authorized client's message (trusted network, or AUTH on submission) is
// re-encoded before it is signed and queued, and what is stored has short
// lines, the 7BIT/8BITMIME mark of what it now is, a DKIM signature dkimpy
// verifies, and parts Python's email package decodes to what was sent; an
// unauthorized client's message is refused with 554 5.6.0.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../src/core/clock.js';
import { generateKeyPem, parsePrivateKey, type DkimKey } from '../../src/dkim/keys.js';
import { keyringSigner } from '../../src/dkim/message-signer.js';
import { dkimRecord } from '../../src/dkim/record.js';
import { SigningKeyring } from '../../src/dkim/signing-keyring.js';
import { dkimpyInstalled, verifyWithDkimpy } from '../helpers/dkimpy-verify.js';
import { pythonLeaves } from '../helpers/python-mime.js';
import { startHarness, type Harness } from '../helpers/relay-harness.js';
import { SmtpTestClient } from '../helpers/smtp-client.js';
import { makeSelfSignedCertificate } from '../helpers/tls-cert.js';

const PASSWORD = 'correct horse';
const inCi = process.env['CI'] === 'true';

const crlf = (text: string): Buffer => Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'utf8');

/** One line of minified HTML, 8-bit, of `octets` octets. */
function htmlLine(octets: number): string {
  let line = '<!doctype html><html><body>';
  for (let n = 0; Buffer.byteLength(line) < octets - 40; n += 1) line += `<td class="c${n % 7}">Zeile ${n} – Grüße</td>`;
  return `${line}</body></html>`;
}

function newsletter(plainText = 'The plain version.'): Buffer {
  return crlf(
    [
      'From: News <news@example.org>',
      'To: reader@example.net',
      'Subject: Newsletter',
      'Date: Mon, 30 Nov 2026 10:00:00 +0000',
      'Message-ID: <n1@example.org>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative; boundary="alt"',
      '',
      '--alt',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      plainText,
      '--alt',
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      htmlLine(5000),
      '--alt--',
      '',
    ].join('\n'),
  );
}

async function send(client: SmtpTestClient, message: Buffer, from = 'news@example.org', to = 'reader@example.net'): Promise<{ code: number; text: string; id: string | undefined }> {
  assert.match((await client.command(`MAIL FROM:<${from}> BODY=8BITMIME`)).text, /^250 /);
  assert.match((await client.command(`RCPT TO:<${to}>`)).text, /^250 /);
  assert.match((await client.command('DATA')).text, /^354 /);
  client.write(Buffer.concat([message, Buffer.from('.\r\n')]));
  const reply = await client.reply(60_000);
  return { ...reply, id: /queued as (\w+)/.exec(reply.text)?.[1] };
}

async function stored(h: Harness, id: string): Promise<{ body: Buffer; signed: Buffer; record: NonNullable<Awaited<ReturnType<Harness['spool']['read']>>> }> {
  const record = await h.spool.read(id);
  assert.ok(record !== undefined);
  const chunks: Buffer[] = [];
  for await (const chunk of h.spool.openBody(id)) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return { body, signed: Buffer.concat([Buffer.from(record.dkimSignature ?? ''), body]), record };
}

function longestLine(message: Buffer): number {
  return message
    .toString('latin1')
    .split('\r\n')
    .reduce((longest, line) => Math.max(longest, line.length), 0);
}

/** The stored message minus our Received field decodes, part by part, to exactly what was sent. */
async function assertSameParts(sent: Buffer, storedBody: Buffer): Promise<void> {
  const [before, after] = await pythonLeaves([sent, storedBody]);
  assert.ok(before !== undefined && after !== undefined);
  assert.deepEqual(after.map((leaf) => leaf.type), before.map((leaf) => leaf.type));
  before.forEach((leaf, index) => assert.ok(after[index]?.payload.equals(leaf.payload), `part ${index} (${leaf.type}) decodes to what was sent`));
}

describe('lines over 998 octets from a trusted client', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ trustedNetworks: ['127.0.0.1/32'], limits: { maxMessageBytes: 30 * 1024 * 1024 } });
  });
  after(() => h.close());

  it('accepts a 5000-octet HTML line, stores it as quoted-printable lines of at most 76 characters, marked 7BIT', async () => {
    const client = await SmtpTestClient.connect(h.port);
    await client.reply();
    await client.command('EHLO app.example.org');
    const message = newsletter();
    const reply = await send(client, message);
    assert.match(reply.text, /^250 2\.0\.0/);
    assert.equal((await client.command('NOOP')).code, 250);
    client.close();
    const { body, record } = await stored(h, reply.id ?? '');
    assert.ok(longestLine(body) <= 998);
    const html = body.toString('latin1').split('Content-Transfer-Encoding: quoted-printable\r\n\r\n')[1]?.split('\r\n--alt--')[0] ?? '';
    assert.ok(html.length > 5000 && html.split('\r\n').every((line) => line.length <= 76), 'quoted-printable lines within 76 characters');
    assert.equal(record.body, '7BIT', 'the HTML was the only 8-bit part and is quoted-printable now');
    await assertSameParts(message, body);
    const { maxHeldBytes, ...summary } = h.log.messages('message queued').at(-1)?.['longLines'] as Record<string, number>;
    assert.deepEqual(summary, { reencodedParts: 1, rewrappedParts: 0, foldedHeaderLines: 0, cutStructureLines: 0 });
    assert.ok(typeof maxHeldBytes === 'number');
  });

  it('keeps the 8BITMIME mark when an 8-bit part without long lines remains', async () => {
    const client = await SmtpTestClient.connect(h.port);
    await client.reply();
    await client.command('EHLO app.example.org');
    const message = newsletter('Die Textfassung, mit Grüßen.');
    const reply = await send(client, message);
    client.close();
    const { body, record } = await stored(h, reply.id ?? '');
    assert.equal(record.body, '8BITMIME');
    assert.ok(body.toString('utf8').includes('Content-Transfer-Encoding: 8bit\r\n\r\nDie Textfassung, mit Grüßen.\r\n--alt\r\n'), 'the short part is stored as sent');
    await assertSameParts(message, body);
  });

  it('refuses a header line that cannot be folded with 554 5.6.3, and queues nothing', async () => {
    const client = await SmtpTestClient.connect(h.port);
    await client.reply();
    await client.command('EHLO app.example.org');
    const before = (await h.spool.list()).length;
    const reply = await send(client, crlf(`From: news@example.org\nX-Tracking: ${'t'.repeat(1500)}\nSubject: x\n\nbody\n`));
    assert.match(reply.text, /^554 5\.6\.3 Header line of 1512 octets has no white space to fold at/);
    assert.equal((await h.spool.list()).length, before);
    assert.equal((await client.command('NOOP')).code, 250, 'the session goes on');
    client.close();
    assert.equal(h.log.messages('message rejected').at(-1)?.['reason'], 'line-not-fixable');
  });

  it('re-encodes a 25 MB message of long lines as it streams (a few 64 KiB chunks held at most) and stores it whole', async () => {
    const line = `${'<tr><td>0123456789 abcdefghij</td><td>é</td></tr>'.repeat(400)}\r\n`;
    const lines = Math.ceil((25 * 1024 * 1024) / Buffer.byteLength(line));
    const message = Buffer.concat([crlf('From: news@example.org\nSubject: big\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n'), Buffer.from(line.repeat(lines))]);
    const client = await SmtpTestClient.connect(h.port);
    await client.reply();
    await client.command('EHLO app.example.org');
    const reply = await send(client, message);
    client.close();
    assert.match(reply.text, /^250 2\.0\.0/);
    const { body, record } = await stored(h, reply.id ?? '');
    assert.ok(record.size > message.length, `${record.size} octets stored for ${message.length} sent`);
    assert.ok(longestLine(body) <= 76, `a stored line of ${longestLine(body)} octets`);
    const summary = h.log.messages('message queued').at(-1)?.['longLines'] as { reencodedParts: number; maxHeldBytes: number };
    assert.equal(summary.reencodedParts, 1);
    assert.ok(summary.maxHeldBytes <= 256 * 1024, `${summary.maxHeldBytes} bytes held by the rewrite`);
    await assertSameParts(message, body);
  });
});

describe('lines over 998 octets from a client that is not authorized', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ trustedNetworks: ['192.0.2.0/24'] });
  });
  after(() => h.close());

  it('refuses the message with 554 5.6.0 after the dot, queues nothing, and the session goes on', async () => {
    const client = await SmtpTestClient.connect(h.port);
    await client.reply();
    await client.command('EHLO mx.sender.example');
    const reply = await send(client, newsletter(), 'someone@sender.example', 'reader@example.org');
    assert.match(reply.text, /^554 5\.6\.0 Message has lines longer than 998 octets/);
    assert.deepEqual(await h.spool.list(), []);
    assert.equal((await client.command('NOOP')).code, 250);
    client.close();
    assert.equal(h.log.messages('message rejected').at(-1)?.['reason'], 'line-too-long');
  });
});

describe('lines over 998 octets from an authenticated submission, DKIM-signed', () => {
  let h: Harness;
  let key: DkimKey;
  before(async () => {
    const parsed = parsePrivateKey(generateKeyPem('ed25519'));
    assert.ok(parsed.ok);
    key = { ...parsed, domain: 'example.org', selector: 'ed1', file: '/keys/example.org/ed1.pem', createdMs: 0 };
    const signer = keyringSigner({ keyring: () => new SigningKeyring([key]), isLocalDomain: (domain) => domain === 'example.org', clock: systemClock });
    const certificate = await makeSelfSignedCertificate('mx.example.org');
    h = await startHarness({ mode: 'submission', tls: certificate, users: { 'news@example.org': PASSWORD }, trustedNetworks: ['192.0.2.0/24'], dkimSigner: signer });
  });
  after(() => h.close());

  it('signs the fixed message: dkimpy verifies the stored signature over what is stored', { skip: !dkimpyInstalled() && !inCi ? 'python3-dkim not installed' : false }, async () => {
    const client = await SmtpTestClient.connect(h.port);
    await client.reply();
    await client.command('EHLO app.example.org');
    await client.command('STARTTLS');
    const secure = await client.startTls();
    await secure.command('EHLO app.example.org');
    assert.match((await secure.command(`AUTH PLAIN ${Buffer.from(`\0news@example.org\0${PASSWORD}`).toString('base64')}`)).text, /^235 /);
    const message = newsletter();
    const reply = await send(secure, message);
    secure.close();
    assert.match(reply.text, /^250 2\.0\.0/);
    const { body, signed, record } = await stored(h, reply.id ?? '');
    assert.ok(record.dkimSignature !== undefined);
    assert.ok(longestLine(body) <= 998);
    const published = dkimRecord(key);
    assert.deepEqual(await verifyWithDkimpy(signed, { [published.name]: published.value }), { signatures: 1, valid: [true] });
    await assertSameParts(message, body);
  });
});
