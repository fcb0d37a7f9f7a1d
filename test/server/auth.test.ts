// AUTH on the listeners (RFC 4954, PLAIN RFC 4616, LOGIN), only over TLS
// (RFC 8314), the submission rules (RFC 6409: AUTH required, own senders
// only, Date / Message-ID added) and the failed-AUTH limiter.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SmtpTestClient } from '../helpers/smtp-client.js';
import { startHarness, type Harness } from '../helpers/relay-harness.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../helpers/tls-cert.js';

const USERS = { 'app@example.org': 'correct horse battery staple' };
const plain = (authzid: string, authcid: string, password: string): string => Buffer.from(`${authzid}\0${authcid}\0${password}`).toString('base64');
const b64 = (text: string): string => Buffer.from(text).toString('base64');

let certificate: TestCertificate;
let submission: Harness;
let smtps: Harness;
let mta: Harness;

before(async () => {
  certificate = await makeSelfSignedCertificate('mx.example.org');
  submission = await startHarness({ mode: 'submission', tls: certificate, users: USERS, trustedNetworks: ['192.0.2.0/24'], authLimits: { maxFailures: 3, baseDelayMs: 1000 } });
  smtps = await startHarness({ mode: 'smtps', tls: certificate, users: USERS, trustedNetworks: ['192.0.2.0/24'] });
  mta = await startHarness({ mode: 'mta', tls: certificate, users: USERS, trustedNetworks: ['192.0.2.0/24'] });
});
after(async () => {
  await Promise.all([submission.close(), smtps.close(), mta.close()]);
});

/** Connects, says EHLO, STARTTLS, EHLO again; from another loopback address so limiter counts stay apart. */
async function secureSession(h: Harness, from = '127.0.0.1'): Promise<SmtpTestClient> {
  const client = await SmtpTestClient.connect(h.port, from);
  await client.reply();
  await client.command('EHLO client.example.org');
  assert.match((await client.command('STARTTLS')).text, /^220 2\.0\.0/);
  const secure = await client.startTls();
  await secure.command('EHLO client.example.org');
  return secure;
}

async function bodyOf(h: Harness, id: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of h.spool.openBody(id)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

describe('submission before TLS', () => {
  it('offers no AUTH, refuses AUTH with 538 5.7.11 and MAIL with 530 5.7.0', async () => {
    const client = await SmtpTestClient.connect(submission.port);
    await client.reply();
    const ehlo = await client.command('EHLO c');
    assert.ok(ehlo.lines.includes('STARTTLS'));
    assert.ok(!ehlo.lines.some((line) => line.startsWith('AUTH')));
    assert.match((await client.command(`AUTH PLAIN ${plain('', 'app@example.org', USERS['app@example.org'])}`)).text, /^538 5\.7\.11/);
    assert.match((await client.command('MAIL FROM:<app@example.org>')).text, /^530 5\.7\.0/);
    client.close();
  });
});

describe('submission after STARTTLS', () => {
  it('offers AUTH PLAIN LOGIN and still wants AUTH before MAIL', async () => {
    const client = await secureSession(submission);
    const ehlo = await client.command('EHLO again');
    assert.ok(ehlo.lines.includes('AUTH PLAIN LOGIN'));
    assert.match((await client.command('MAIL FROM:<app@example.org>')).text, /^530 5\.7\.0/);
    client.close();
  });

  it('accepts AUTH PLAIN, relays for an own sender, refuses a foreign sender, and completes the message', async () => {
    const client = await secureSession(submission);
    assert.match((await client.command(`AUTH PLAIN ${plain('', 'app@example.org', USERS['app@example.org'])}`)).text, /^235 2\.7\.0/);
    assert.match((await client.command('MAIL FROM:<someone@example.com>')).text, /^553 5\.7\.1/);
    assert.match((await client.command('MAIL FROM:<app@example.org>')).text, /^250 /);
    assert.match((await client.command('RCPT TO:<friend@example.net>')).text, /^250 /);
    await client.command('DATA');
    client.write('Subject: from the app\r\n\r\nhello\r\n.\r\n');
    const id = /queued as (\w+)/.exec((await client.reply()).text)?.[1] ?? '';
    const record = await submission.spool.read(id);
    assert.equal(record?.client.auth, 'app@example.org');
    const body = await bodyOf(submission, id);
    assert.match(body, / with ESMTPSA id /);
    assert.doesNotMatch(body.slice(0, body.indexOf('\r\n\r\n')), /app@example\.org.*\(authenticated|auth=/i, 'the user is not in the Received header');
    assert.match(body, new RegExp(`\\r\\nDate: \\w{3}, \\d{1,2} \\w{3} \\d{4} \\d\\d:\\d\\d:\\d\\d \\+0000\\r\\nMessage-ID: <${id}@mx\\.example\\.org>\\r\\n\\r\\nhello\\r\\n$`));
    client.close();
  });

  it('never rewrites an existing Date or Message-ID', async () => {
    const client = await secureSession(submission);
    await client.command(`AUTH PLAIN ${plain('', 'app@example.org', USERS['app@example.org'])}`);
    await client.command('MAIL FROM:<app@example.org>');
    await client.command('RCPT TO:<friend@example.net>');
    await client.command('DATA');
    client.write('Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <own@app.example.org>\r\nSubject: x\r\n\r\nbody\r\n.\r\n');
    const id = /queued as (\w+)/.exec((await client.reply()).text)?.[1] ?? '';
    const body = await bodyOf(submission, id);
    assert.equal(body.match(/^Date:/gm)?.length, 1);
    assert.equal(body.match(/^Message-ID:/gim)?.length, 1);
    assert.match(body, /Message-ID: <own@app\.example\.org>/);
    client.close();
  });

  it('runs the LOGIN exchange', async () => {
    const client = await secureSession(submission);
    assert.equal((await client.command('AUTH LOGIN')).text, '334 VXNlcm5hbWU6');
    assert.equal((await client.command(b64('app@example.org'))).text, '334 UGFzc3dvcmQ6');
    assert.match((await client.command(b64(USERS['app@example.org']))).text, /^235 2\.7\.0/);
    assert.match((await client.command(`AUTH PLAIN ${plain('', 'app@example.org', 'x')}`)).text, /^503 5\.5\.1/, 'AUTH only once');
    client.close();
  });

  const refusals: [string, string[], RegExp][] = [
    ['a wrong password', [`AUTH PLAIN ${plain('', 'app@example.org', 'wrong')}`], /^535 5\.7\.8/],
    ['an unknown user', [`AUTH PLAIN ${plain('', 'nobody@example.org', 'whatever')}`], /^535 5\.7\.8/],
    ['another authorization identity', [`AUTH PLAIN ${plain('admin@example.org', 'app@example.org', USERS['app@example.org'])}`], /^535 5\.7\.8/],
    ['malformed base64', ['AUTH PLAIN !!!notbase64!!!'], /^501 5\.5\.2/],
    ['a cancelled exchange', ['AUTH LOGIN', '*'], /^501 5\.0\.0/],
    ['an unknown mechanism', ['AUTH CRAM-MD5'], /^504 5\.5\.4/],
  ];
  refusals.forEach(([name, lines, expected], index) => {
    it(`refuses ${name}`, async () => {
      const client = await secureSession(submission, `127.0.1.${index + 1}`);
      let last = '';
      for (const line of lines) last = (await client.command(line)).text;
      assert.match(last, expected);
      assert.match((await client.command('MAIL FROM:<app@example.org>')).text, /^530 5\.7\.0/, 'still not authenticated');
      client.close();
    });
  });

  it('refuses an AUTH continuation line with a NUL with 500 5.5.2 and ends the exchange', async () => {
    const client = await secureSession(submission, '127.0.3.1');
    assert.equal((await client.command('AUTH LOGIN')).code, 334);
    client.write(`${b64('app@example.org')}\0\r\n`);
    assert.match((await client.reply()).text, /^500 5\.5\.2 Command line contains a NUL or bare CR/);
    assert.equal((await client.command('NOOP')).code, 250, 'the next line is a command again, not SASL');
    client.close();
  });

  it('never splits AUTH continuation lines at a bare LF: username and password in one line are refused', async () => {
    const client = await secureSession(submission, '127.0.3.2');
    assert.equal((await client.command('AUTH LOGIN')).code, 334);
    client.write(`${b64('app@example.org')}\n${b64(USERS['app@example.org'])}\r\n`);
    assert.match((await client.reply()).text, /^500 5\.5\.2 Bare LF in command line/);
    assert.match((await client.command('MAIL FROM:<app@example.org>')).text, /^530 5\.7\.0/, 'not authenticated');
    client.close();
  });

  it('never logs the password or the SASL lines', async () => {
    const logged = JSON.stringify(submission.log.entries);
    assert.ok(!logged.includes(USERS['app@example.org']));
    assert.ok(!logged.includes(plain('', 'app@example.org', USERS['app@example.org'])));
    assert.ok(submission.log.messages('authentication failed').length > 0);
  });

  it('slows down repeated failures and then locks the address out with 421 4.7.0', async () => {
    const client = await secureSession(submission, '127.0.2.1');
    const wrong = `AUTH PLAIN ${plain('', 'app@example.org', 'wrong')}`;
    assert.match((await client.command(wrong)).text, /^535 5\.7\.8/, 'first failure answered at once');
    const timersBefore = submission.clock.pendingTimers;
    client.send(wrong);
    await submission.clock.waitForTimers(timersBefore + 1);
    submission.clock.advance(1000);
    assert.match((await client.reply()).text, /^535 5\.7\.8/, 'second failure held back by the delay');
    assert.match((await client.command(wrong)).text, /^421 4\.7\.0/);
    await client.waitClosed();
    const again = await secureSession(submission, '127.0.2.1');
    assert.match((await again.command(`AUTH PLAIN ${plain('', 'app@example.org', USERS['app@example.org'])}`)).text, /^421 4\.7\.0/, 'locked out even with the right password');
    await again.waitClosed();
  });
});

describe('smtps and mta', () => {
  it('authenticates on smtps (implicit TLS)', async () => {
    const client = await SmtpTestClient.connectTls(smtps.port);
    await client.reply();
    assert.ok((await client.command('EHLO c')).lines.includes('AUTH PLAIN LOGIN'));
    assert.match((await client.command(`AUTH PLAIN ${plain('', 'APP@EXAMPLE.ORG'.toLowerCase(), USERS['app@example.org'])}`)).text, /^235/);
    assert.match((await client.command('MAIL FROM:<app@example.org>')).text, /^250/);
    client.close();
  });

  it('lets an authenticated client relay on mta after STARTTLS', async () => {
    const client = await secureSession(mta);
    assert.match((await client.command('MAIL FROM:<app@example.org>')).text, /^550 5\.7\.1/, 'unauthenticated: spoofing');
    await client.command('RSET');
    assert.match((await client.command(`AUTH PLAIN ${plain('', 'app@example.org', USERS['app@example.org'])}`)).text, /^235/);
    assert.match((await client.command('MAIL FROM:<app@example.org>')).text, /^250/);
    assert.match((await client.command('RCPT TO:<far@example.com>')).text, /^250/);
    client.close();
  });
});
