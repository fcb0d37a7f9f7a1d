// Who gets signed, on the real listener with a real spool: an authenticated
// submission (after the RFC 6409 Date / Message-ID fixes, which the signature
// covers; dkimpy verifies the stored signature and message), never an
// unauthorized client's mail for a local domain.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPem, parsePrivateKey, type DkimKey } from '../../src/dkim/keys.js';
import { keyringSigner, type MessageSigner } from '../../src/dkim/message-signer.js';
import { dkimRecord } from '../../src/dkim/record.js';
import { SigningKeyring } from '../../src/dkim/signing-keyring.js';
import { dkimpyInstalled, verifyWithDkimpy } from '../helpers/dkimpy-verify.js';
import { startHarness, type Harness } from '../helpers/relay-harness.js';
import { SmtpTestClient } from '../helpers/smtp-client.js';
import { makeSelfSignedCertificate } from '../helpers/tls-cert.js';
import { systemClock } from '../../src/core/clock.js';

const PASSWORD = 'correct horse';
const plain = Buffer.from(`\0app@example.org\0${PASSWORD}`).toString('base64');
const inCi = process.env['CI'] === 'true';

function edKey(): DkimKey {
  const parsed = parsePrivateKey(generateKeyPem('ed25519'));
  assert.ok(parsed.ok);
  return { ...parsed, domain: 'example.org', selector: 'ed1', file: '/keys/example.org/ed1.pem', createdMs: 0 };
}

async function stored(h: Harness, id: string): Promise<{ signature: string | undefined; message: Buffer }> {
  const record = await h.spool.read(id);
  const chunks: Buffer[] = [];
  for await (const chunk of h.spool.openBody(id)) chunks.push(chunk as Buffer);
  return { signature: record?.dkimSignature, message: Buffer.concat([Buffer.from(record?.dkimSignature ?? ''), ...chunks]) };
}

async function sendOne(client: SmtpTestClient, from: string, to: string, content: string): Promise<string> {
  assert.match((await client.command(`MAIL FROM:<${from}>`)).text, /^250 /);
  assert.match((await client.command(`RCPT TO:<${to}>`)).text, /^250 /);
  assert.match((await client.command('DATA')).text, /^354 /);
  client.write(`${content}.\r\n`);
  const reply = await client.reply();
  const id = /queued as (\w+)/.exec(reply.text)?.[1];
  assert.ok(id, reply.text);
  return id;
}

describe('DKIM signing on the listeners', () => {
  const key = edKey();
  const signer = keyringSigner({ keyring: () => new SigningKeyring([key]), isLocalDomain: (domain) => domain === 'example.org', clock: systemClock });
  /** The same signer, counting what the receiver asks of it. */
  const asked = { unsignedOutcome: 0, sign: 0 };
  const counting: MessageSigner = {
    unsignedOutcome: (headers) => (asked.unsignedOutcome++, signer.unsignedOutcome?.(headers)),
    sign: (headers, bodyHash) => (asked.sign++, signer.sign(headers, bodyHash)),
  };
  let submission: Harness;
  let mta: Harness;
  let trusted: Harness;

  before(async () => {
    const certificate = await makeSelfSignedCertificate('mx.example.org');
    const common = { tls: certificate, users: { 'app@example.org': PASSWORD }, trustedNetworks: ['192.0.2.0/24'], dkimSigner: signer };
    submission = await startHarness({ ...common, mode: 'submission' });
    mta = await startHarness({ ...common, mode: 'mta' });
    trusted = await startHarness({ dkimSigner: counting, trustedNetworks: ['127.0.0.0/8'], mode: 'mta' });
  });
  after(async () => {
    await Promise.all([submission.close(), mta.close(), trusted.close()]);
  });

  it('signs an authenticated submission after adding Date and Message-ID, and the signature covers them', { skip: !dkimpyInstalled() && !inCi ? 'python3-dkim not installed' : false }, async () => {
    const client = await SmtpTestClient.connect(submission.port);
    await client.reply();
    await client.command('EHLO app.example.org');
    await client.command('STARTTLS');
    const secure = await client.startTls();
    await secure.command('EHLO app.example.org');
    assert.match((await secure.command(`AUTH PLAIN ${plain}`)).text, /^235 /);
    const id = await sendOne(secure, 'app@example.org', 'friend@example.net', 'From: App <app@example.org>\r\nTo: friend@example.net\r\nSubject: no date, no id\r\n\r\nhello\r\n');
    secure.close();
    const { signature, message } = await stored(submission, id);
    assert.ok(signature !== undefined);
    const signedNames = /\bh=([^;]+);/.exec(signature.replace(/\r\n\s+/g, ''))?.[1]?.toLowerCase().split(':') ?? [];
    assert.ok(signedNames.includes('date') && signedNames.includes('message-id'), signedNames.join(':'));
    assert.match(message.toString('utf8'), /\r\nDate: .*\r\nMessage-ID: </);
    const record = dkimRecord(key);
    assert.deepEqual(await verifyWithDkimpy(message, { [record.name]: record.value }), { signatures: 1, valid: [true] });
    assert.equal(submission.log.messages('message queued').at(-1)?.['dkim'], 'd=example.org s=ed1');
  });

  it('never signs mail that an unauthorized client sends to a local domain', async () => {
    const client = await SmtpTestClient.connect(mta.port);
    await client.reply();
    await client.command('EHLO outside.example.net');
    const id = await sendOne(client, 'someone@example.net', 'app@example.org', 'From: Boss <boss@example.org>\r\nSubject: looks local\r\n\r\nhi\r\n');
    client.close();
    assert.equal((await stored(mta, id)).signature, undefined);
    assert.equal(mta.log.messages('message queued').at(-1)?.['dkim'], null);
  });

  it('a trusted client: the signer is asked at the end of the header; a message it cannot sign is queued unsigned without signing, one it can is signed', async () => {
    const client = await SmtpTestClient.connect(trusted.port);
    await client.reply();
    await client.command('EHLO app.example.org');
    const before = { ...asked };
    const noKey = await sendOne(client, 'app@example.org', 'friend@example.net', 'From: App <app@example.net>\r\nSubject: no key\r\n\r\nhello\r\n');
    assert.deepEqual(asked, { unsignedOutcome: before.unsignedOutcome + 1, sign: before.sign });
    assert.equal((await stored(trusted, noKey)).signature, undefined);
    assert.equal(trusted.log.messages('message queued').at(-1)?.['dkim'], 'unsigned');
    assert.equal(trusted.log.messages('message not signed').length, 0);

    const noFrom = await sendOne(client, 'app@example.org', 'friend@example.net', 'Subject: no From\r\n\r\nhello\r\n');
    assert.deepEqual(asked, { unsignedOutcome: before.unsignedOutcome + 2, sign: before.sign });
    assert.equal((await stored(trusted, noFrom)).signature, undefined);
    assert.deepEqual(trusted.log.messages('message not signed').map((entry) => [entry['qid'], entry['reason']]), [[noFrom, 'no usable From: no From header field']]);

    const keyed = await sendOne(client, 'app@example.org', 'friend@example.net', 'From: App <app@example.org>\r\nSubject: signed\r\n\r\nhello\r\n');
    client.close();
    assert.deepEqual(asked, { unsignedOutcome: before.unsignedOutcome + 3, sign: before.sign + 1 });
    assert.match((await stored(trusted, keyed)).signature ?? '', /^DKIM-Signature: .*d=example\.org/s);
    assert.equal(trusted.log.messages('message queued').at(-1)?.['dkim'], 'd=example.org s=ed1');
  });
});
