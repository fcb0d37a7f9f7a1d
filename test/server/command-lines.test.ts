// Command lines on the real listener: only CRLF ends one (RFC 5321 §2.3.8); a line with a bare
// LF, a bare CR or a NUL is refused whole with 500 5.5.2, never split, cleaned or run.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SmtpTestClient } from '../helpers/smtp-client.js';
import { startHarness, writeAndWaitConsumed, type Harness } from '../helpers/relay-harness.js';

const BARE_LF = /^500 5\.5\.2 Bare LF in command line; lines end with CRLF/;
const NUL_OR_BARE_CR = /^500 5\.5\.2 Command line contains a NUL or bare CR/;

let harness: Harness;
before(async () => {
  harness = await startHarness({ limits: { idleTimeoutMs: 60_000 } });
});
after(async () => {
  await harness.close();
});

async function sessionAfterEhlo(): Promise<SmtpTestClient> {
  const client = await SmtpTestClient.connect(harness.port);
  assert.equal((await client.reply()).code, 220);
  assert.equal((await client.command('EHLO client.example.net')).code, 250);
  return client;
}

describe('NUL and bare CR in a command line', () => {
  it('refuses EHLO with a NUL with 500 5.5.2 and takes no greeting from it', async () => {
    const client = await SmtpTestClient.connect(harness.port);
    await client.reply();
    client.write('EHLO a\0b\r\n');
    assert.match((await client.reply()).text, NUL_OR_BARE_CR);
    assert.match((await client.command('MAIL FROM:<app@example.org>')).text, /^503 5\.5\.1/, 'still no EHLO');
    assert.equal((await client.command('EHLO client.example.net')).code, 250, 'the session goes on');
    client.close();
  });

  it('refuses RSET with a bare CR with 500 5.5.2 and keeps the transaction', async () => {
    const client = await sessionAfterEhlo();
    assert.equal((await client.command('MAIL FROM:<app@example.org>')).code, 250);
    client.write('RSET \r\r\n');
    assert.match((await client.reply()).text, NUL_OR_BARE_CR);
    assert.match((await client.command('RCPT TO:<a@example.org>')).text, /^250 2\.1\.5/, 'the transaction was not reset');
    client.close();
  });

  it('refuses a NUL inside a recipient line without adding the recipient', async () => {
    const client = await sessionAfterEhlo();
    await client.command('MAIL FROM:<app@example.org>');
    client.write('RCPT TO:<a@example.org>\0\r\n');
    assert.match((await client.reply()).text, NUL_OR_BARE_CR);
    assert.match((await client.command('DATA')).text, /^554 5\.5\.1/, 'no recipient in the transaction');
    client.close();
  });
});

describe('bare LF in a command line', () => {
  it('never splits pipelined RCPT commands at a bare LF: neither recipient is added', async () => {
    const client = await sessionAfterEhlo();
    assert.equal((await client.command('MAIL FROM:<app@example.org>')).code, 250);
    client.write('RCPT TO:<a@example.org>\nRCPT TO:<b@example.org>\r\nDATA\r\n');
    assert.match((await client.reply()).text, BARE_LF);
    assert.match((await client.reply()).text, /^554 5\.5\.1/, 'DATA finds no recipients');
    assert.ok(harness.log.messages('command line refused').some((entry) => entry['reason'] === 'bare-lf'), 'the refusal is logged');
    client.close();
  });

  it('keeps the recipients accepted before a refused bare-LF line, and only those', async () => {
    const client = await sessionAfterEhlo();
    await client.command('MAIL FROM:<app@example.org>');
    assert.equal((await client.command('RCPT TO:<first@example.org>')).code, 250);
    client.write('RCPT TO:<a@example.org>\nRCPT TO:<b@example.org>\r\nDATA\r\n');
    assert.match((await client.reply()).text, BARE_LF);
    assert.equal((await client.reply()).code, 354);
    client.write('Subject: x\r\n\r\nbody\r\n.\r\n');
    const queued = /queued as ([0-9A-Za-z]+)/.exec((await client.reply()).text)?.[1];
    assert.ok(queued);
    const record = await harness.spool.read(queued);
    assert.deepEqual(record?.recipients.map((r) => r.address), ['first@example.org']);
    client.close();
  });

  it('refuses "MAIL FROM:<x@y>\\nRSET" as one line: no MAIL, no RSET', async () => {
    const client = await sessionAfterEhlo();
    client.write('MAIL FROM:<x@example.org>\nRSET\r\nNOOP\r\n');
    assert.match((await client.reply()).text, BARE_LF);
    assert.match((await client.reply()).text, /^250 2\.0\.0 Ok/, 'the next reply is the NOOP, not an RSET');
    assert.match((await client.command('RCPT TO:<a@example.org>')).text, /^503 5\.5\.1/, 'no transaction was opened');
    client.close();
  });

  it('refuses a line of only a bare LF once its CRLF arrives', async () => {
    const client = await sessionAfterEhlo();
    client.write('\n\r\n');
    assert.match((await client.reply()).text, BARE_LF);
    assert.equal((await client.command('NOOP')).code, 250);
    client.close();
  });

  it('never runs "QUIT\\n": it waits for a CRLF and is refused whole when one comes', async () => {
    const client = await sessionAfterEhlo();
    await writeAndWaitConsumed(harness, client, 'QUIT\n');
    client.write('\r\n');
    assert.match((await client.reply()).text, BARE_LF);
    assert.equal(client.closed, false);
    assert.equal((await client.command('NOOP')).code, 250);
    client.close();
  });

  it('answers an idle client that sent only "QUIT\\n" with the idle timeout, 421 4.4.2', async () => {
    const client = await sessionAfterEhlo();
    await writeAndWaitConsumed(harness, client, 'QUIT\n');
    harness.clock.advance(60_000);
    assert.match((await client.reply()).text, /^421 4\.4\.2/);
    await client.waitClosed();
  });

  it('counts the length of a line with a bare LF up to its CRLF: an over-long one is refused once', async () => {
    const client = await sessionAfterEhlo();
    client.write(`NOOP\n${'a'.repeat(20_000)}\r\nNOOP\r\n`);
    assert.match((await client.reply()).text, /^500 5\.5\.2 Line too long/);
    assert.equal((await client.reply()).code, 250);
    client.close();
  });
});
