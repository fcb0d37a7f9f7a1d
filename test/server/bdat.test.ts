// CHUNKING / BDAT (RFC 3030) on the real listener with a real spool, over
// loopback: chunks are octets never commands, pipelined and split anywhere;
// the size limit across chunks; misuse answered while the octets are still
// consumed; deadlines, shutdown, disk reserve, and the mta / submission / smtps
// commit path (Received, RFC 6409 fixes, DKIM verified by dkimpy).

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { SmtpTestClient, type ParsedReply } from '../helpers/smtp-client.js';
import { startHarness, writeAndWaitConsumed, type Harness, type HarnessOptions } from '../helpers/relay-harness.js';
import { makeSelfSignedCertificate } from '../helpers/tls-cert.js';
import { generateKeyPem, parsePrivateKey, type DkimKey } from '../../src/dkim/keys.js';
import { keyringSigner } from '../../src/dkim/message-signer.js';
import { dkimRecord } from '../../src/dkim/record.js';
import { SigningKeyring } from '../../src/dkim/signing-keyring.js';
import { systemClock } from '../../src/core/clock.js';
import { dkimpyInstalled, verifyWithDkimpy } from '../helpers/dkimpy-verify.js';

const inCi = process.env['CI'] === 'true';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(options: HarnessOptions = {}): Promise<Harness> {
  harness = await startHarness(options);
  return harness;
}

async function greeted(h: Harness): Promise<SmtpTestClient> {
  const client = await SmtpTestClient.connect(h.port);
  await client.reply();
  assert.equal((await client.command('EHLO client.example.net')).code, 250);
  return client;
}

async function openTransaction(h: Harness, recipients = ['r@example.net']): Promise<SmtpTestClient> {
  const client = await greeted(h);
  assert.equal((await client.command('MAIL FROM:<app@example.org>')).code, 250);
  for (const rcpt of recipients) assert.equal((await client.command(`RCPT TO:<${rcpt}>`)).code, 250);
  return client;
}

/** A BDAT command with its chunk: the size counted in octets. */
function chunk(content: string | Buffer, last = false): Buffer {
  const octets = typeof content === 'string' ? Buffer.from(content, 'latin1') : content;
  return Buffer.concat([Buffer.from(`BDAT ${octets.length}${last ? ' LAST' : ''}\r\n`, 'latin1'), octets]);
}

async function replies(client: SmtpTestClient, count: number): Promise<ParsedReply[]> {
  const out: ParsedReply[] = [];
  for (let k = 0; k < count; k++) out.push(await client.reply());
  return out;
}

function queuedId(reply: ParsedReply): string {
  const id = /^250 2\.0\.0 Ok: queued as (\w+)$/.exec(reply.text)?.[1];
  assert.ok(id, reply.text);
  return id;
}

/** The stored message: our Received header, then the client's content. */
async function stored(h: Harness, id: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const piece of h.spool.openBody(id)) chunks.push(piece as Buffer);
  return Buffer.concat(chunks).toString('latin1');
}

/** The client's content as stored: without our Received header (the first field, folded). */
async function content(h: Harness, id: string): Promise<string> {
  const text = await stored(h, id);
  assert.match(text, /^Received: from /);
  return text.slice(text.search(/\r\n(?![\t ])/) + 2);
}

/** Files left in the spool's body and temp folders. */
async function spoolFiles(h: Harness): Promise<string[]> {
  return [...(await readdir(join(h.spoolDir, 'body'))), ...(await readdir(join(h.spoolDir, 'tmp')))];
}



describe('BDAT transactions', () => {
  it('queues a message sent as one BDAT LAST and answers with the queue id after the commit', async () => {
    const h = await start();
    const client = await openTransaction(h);
    client.write(chunk('Subject: one chunk\r\n\r\nhello\r\n', true));
    const id = queuedId(await client.reply());
    assert.equal(await content(h, id), 'Subject: one chunk\r\n\r\nhello\r\n');
    const record = await h.spool.read(id);
    assert.deepEqual(record?.recipients.map((r) => r.address), ['r@example.net']);
    assert.equal(record?.body, '7BIT');
    assert.equal((await client.command('NOOP')).code, 250);
    client.close();
  });

  it('runs a whole pipelined transaction whose chunks hold "<CRLF>.<CRLF>", RSET and MAIL as content', async () => {
    const h = await start();
    const client = await greeted(h);
    const first = 'Subject: smuggle\r\n\r\nhello\r\n.\r\nRSET\r\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\n';
    const second = '.\r\nQUIT\r\n';
    client.write(Buffer.concat([
      Buffer.from('MAIL FROM:<app@example.org>\r\nRCPT TO:<r@example.net>\r\n'),
      chunk(first),
      chunk(second),
      chunk('', true),
      Buffer.from('NOOP\r\n'),
    ]));
    const [mail, rcpt, one, two, last, noop] = await replies(client, 6);
    assert.deepEqual([mail?.code, rcpt?.code], [250, 250]);
    assert.equal(one?.text, `250 2.0.0 Ok: ${first.length} octets received`);
    assert.equal(two?.text, `250 2.0.0 Ok: ${second.length} octets received`);
    const id = queuedId(last as ParsedReply);
    assert.equal(noop?.code, 250);
    const messages = await h.spool.list();
    assert.equal(messages.length, 1, 'exactly one message queued');
    assert.deepEqual(messages[0]?.recipients.map((r) => r.address), ['r@example.net']);
    assert.equal(await content(h, id), first + second, 'stored as sent: no dot removed, nothing run');
    client.close();
  });

  it('takes two messages pipelined back to back in one write', async () => {
    const h = await start();
    const client = await greeted(h);
    const message = (n: number): Buffer => Buffer.concat([Buffer.from(`MAIL FROM:<app@example.org>\r\nRCPT TO:<r${n}@example.net>\r\n`), chunk(`Subject: ${n}\r\n\r\nbody ${n}\r\n`, true)]);
    client.write(Buffer.concat([message(1), message(2)]));
    const answers = await replies(client, 6);
    const ids = [answers[2], answers[5]].map((reply) => queuedId(reply as ParsedReply));
    assert.equal(await content(h, ids[0] ?? ''), 'Subject: 1\r\n\r\nbody 1\r\n');
    assert.equal(await content(h, ids[1] ?? ''), 'Subject: 2\r\n\r\nbody 2\r\n');
    client.close();
  });

  it('reads chunk octets that arrive after the command, in another segment', async () => {
    const h = await start();
    const client = await openTransaction(h);
    await writeAndWaitConsumed(h, client, 'BDAT 23 LAST\r\nSubject: late');
    client.write('\r\n\r\nbody\r\nNOOP\r\n');
    const id = queuedId(await client.reply());
    assert.equal((await client.reply()).code, 250, 'NOOP after the chunk is a command again');
    assert.equal(await content(h, id), 'Subject: late\r\n\r\nbody\r\n');
    client.close();
  });

  it('takes a pipelined transaction written one octet at a time (commands, chunks and CRLFs split everywhere)', async () => {
    const h = await start();
    const client = await greeted(h);
    client.socket.setNoDelay(true);
    const all = Buffer.concat([
      Buffer.from('MAIL FROM:<app@example.org>\r\nRCPT TO:<r@example.net>\r\n'),
      chunk('Subject: split\r\n\r\nline one\r'),
      chunk('\nline two\nline three\r\n', true),
    ]);
    for (const octet of all) await new Promise<void>((resolve) => client.socket.write(Buffer.of(octet), () => resolve()));
    const [mail, rcpt, one, last] = await replies(client, 4);
    assert.deepEqual([mail?.code, rcpt?.code, one?.code], [250, 250, 250]);
    const id = queuedId(last as ParsedReply);
    assert.equal(await content(h, id), 'Subject: split\r\n\r\nline one\r\nline two\r\nline three\r\n', 'CRLF across chunks joined, bare LF normalised');
    client.close();
  });

  it('stores bare CR / NUL as spaces and ends an open last line with CRLF; 8-bit marks the body 8BITMIME', async () => {
    const h = await start();
    const client = await openTransaction(h);
    client.write(chunk('Subject: odd\r\n\r\ncaf\xe9\rx\0y\r\n..dot\r\nno end', true));
    const id = queuedId(await client.reply());
    assert.equal(await content(h, id), 'Subject: odd\r\n\r\ncaf\xe9 x y\r\n..dot\r\nno end\r\n');
    assert.equal((await h.spool.read(id))?.body, '8BITMIME');
    client.close();
  });

  it('accepts BDAT 0 LAST: an empty message, or the end of a chunked one', async () => {
    const h = await start();
    const client = await openTransaction(h);
    client.write(chunk('', true));
    const empty = queuedId(await client.reply());
    assert.equal(await content(h, empty), '');
    assert.equal((await client.command('MAIL FROM:<app@example.org>')).code, 250);
    assert.equal((await client.command('RCPT TO:<r@example.net>')).code, 250);
    client.write(Buffer.concat([chunk('Subject: x\r\n\r\nhello\r\n'), chunk('', true)]));
    assert.match((await client.reply()).text, /^250 2\.0\.0 Ok: 21 octets received$/);
    const id = queuedId(await client.reply());
    assert.equal(await content(h, id), 'Subject: x\r\n\r\nhello\r\n');
    client.close();
  });

  it('prepends the Received header and logs the message queued, as DATA does', async () => {
    const h = await start();
    const client = await openTransaction(h);
    client.write(chunk('Subject: x\r\n\r\nhello\r\n', true));
    const id = queuedId(await client.reply());
    assert.match(await stored(h, id), new RegExp(`^Received: from client\\.example\\.net \\(.*\\)\\r\\n\\tby mx\\.example\\.org .*with ESMTP id ${id}`));
    assert.equal(h.log.messages('message queued').at(-1)?.['qid'], id);
    client.close();
  });
});

describe('BDAT size limit', () => {
  it('refuses the chunk that passes maxMessageSize with 552 5.3.4 (as Postfix), discards it and the rest, queues nothing', async () => {
    const h = await start({ limits: { maxMessageBytes: 2000 } });
    const client = await openTransaction(h);
    client.write(Buffer.concat([chunk('a'.repeat(1500)), chunk('b'.repeat(600)), chunk('MAIL FROM:<x@example.org>\r\n', true), Buffer.from('NOOP\r\n')]));
    const [first, over, last, noop] = await replies(client, 4);
    assert.equal(first?.code, 250);
    assert.equal(over?.text, '552 5.3.4 Message size exceeds fixed maximum message size');
    assert.match(last?.text ?? '', /^552 5\.3\.4 .*\(chunk of 27 octets discarded\)$/);
    assert.equal(noop?.code, 250, 'in step: the discarded octets were not read as commands');
    assert.equal((await h.spool.list()).length, 0);
    assert.deepEqual(await spoolFiles(h), [], 'the open message was removed from the spool');
    assert.equal((await client.command('MAIL FROM:<app@example.org>')).code, 250, 'LAST ended the failed transaction');
    client.close();
  });

  it('refuses at LAST with 552 5.3.4 when normalising bare LFs takes the stored message past the limit', async () => {
    const h = await start({ limits: { maxMessageBytes: 100 } });
    const client = await openTransaction(h);
    client.write(chunk(`Subject: lf\n\n${'x\n'.repeat(40)}`, true));
    assert.equal((await client.reply()).text, '552 5.3.4 Message size exceeds fixed maximum message size');
    assert.equal((await h.spool.list()).length, 0);
    client.close();
  });

  it('refuses a text line over 1000 octets from a client that is not authorized with 554 5.6.0 at LAST, as DATA does', async () => {
    const h = await start({ trustedNetworks: ['192.0.2.0/24'] });
    const client = await greeted(h);
    assert.equal((await client.command('MAIL FROM:<someone@sender.example>')).code, 250);
    assert.equal((await client.command('RCPT TO:<r@example.org>')).code, 250);
    client.write(Buffer.concat([chunk(`Subject: long\r\n\r\n${'x'.repeat(600)}`), chunk(`${'y'.repeat(401)}\r\n`, true)]));
    assert.equal((await client.reply()).code, 250);
    assert.match((await client.reply()).text, /^554 5\.6\.0/);
    assert.equal((await h.spool.list()).length, 0);
    client.close();
  });

  it('re-encodes a text line over 1000 octets from a trusted client spread over two chunks, as DATA does', async () => {
    const h = await start();
    const client = await openTransaction(h);
    client.write(Buffer.concat([chunk(`Subject: long\r\n\r\n${'x'.repeat(600)}`), chunk(`${'y'.repeat(401)}\r\n`, true)]));
    assert.equal((await client.reply()).code, 250);
    const id = queuedId(await client.reply());
    const text = await content(h, id);
    assert.match(text, /Content-Transfer-Encoding: quoted-printable\r\n/);
    assert.ok(text.split('\r\n').every((line) => line.length <= 998));
    assert.equal(text.replace(/=\r\n/g, '').split('\r\n\r\n').slice(1).join('\r\n\r\n'), `${'x'.repeat(600)}${'y'.repeat(401)}\r\n`);
    client.close();
  });

  it('closes the connection, unread, after refusing a chunk over 1.5 times the limit (no allocation, no endless discard)', async () => {
    const h = await start({ limits: { maxMessageBytes: 2000 } });
    const client = await openTransaction(h);
    const before = process.memoryUsage().arrayBuffers;
    client.write('BDAT 9007199254740991 LAST\r\nxyz');
    assert.equal((await client.reply()).text, '552 5.3.4 Message size exceeds fixed maximum message size');
    await client.waitClosed();
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024, 'nothing sized by the declared count');
    assert.equal(h.log.messages('BDAT chunk not read, closing').at(-1)?.['reason'], 'discard-limit');
  });

  it('reads and discards a refused chunk up to 1.5 times the limit and stays in step', async () => {
    const h = await start({ limits: { maxMessageBytes: 2000 } });
    const client = await openTransaction(h);
    client.write(Buffer.concat([chunk('z'.repeat(2900), true), Buffer.from('NOOP\r\n')]));
    assert.match((await client.reply()).text, /^552 5\.3\.4/);
    assert.equal((await client.reply()).code, 250);
    client.close();
  });
});

describe('BDAT misuse', () => {
  it('answers BDAT without MAIL 503 5.5.1 and consumes its octets, though they look like commands', async () => {
    const h = await start();
    const client = await greeted(h);
    client.write(Buffer.concat([chunk('MAIL FROM:<evil@example.org>\r\nQUIT\r\n'), Buffer.from('NOOP\r\n')]));
    assert.equal((await client.reply()).text, '503 5.5.1 Need MAIL command first');
    assert.equal((await client.reply()).code, 250);
    assert.equal(client.closed, false);
    client.close();
  });

  it('answers BDAT with no accepted recipient 554 5.5.1, as DATA does, and later chunks the same', async () => {
    const h = await start({ trustedNetworks: [] });
    const client = await greeted(h);
    client.write(Buffer.concat([
      Buffer.from('MAIL FROM:<someone@example.com>\r\nRCPT TO:<far@example.net>\r\n'),
      chunk('Subject: x\r\n\r\n'),
      chunk('body\r\n', true),
      Buffer.from('MAIL FROM:<someone@example.com>\r\n'),
    ]));
    const [mail, rcpt, first, last, again] = await replies(client, 5);
    assert.deepEqual([mail?.code, rcpt?.text.slice(0, 9)], [250, '554 5.7.1']);
    assert.equal(first?.text, '554 5.5.1 No valid recipients');
    assert.match(last?.text ?? '', /^554 5\.5\.1 No valid recipients \(chunk of 6 octets discarded\)$/);
    assert.equal(again?.code, 250, 'the refused LAST ended the transaction');
    client.close();
  });

  it('answers DATA and RCPT after a BDAT in the same transaction 503 5.5.1; the message still completes', async () => {
    const h = await start();
    const client = await openTransaction(h);
    client.write(chunk('Subject: x\r\n\r\n'));
    assert.equal((await client.reply()).code, 250);
    assert.equal((await client.command('DATA')).text, '503 5.5.1 DATA after BDAT in the same transaction');
    assert.equal((await client.command('RCPT TO:<other@example.net>')).text, '503 5.5.1 RCPT after BDAT in the same transaction');
    assert.equal((await client.command('MAIL FROM:<app@example.org>')).text.slice(0, 9), '503 5.5.1');
    assert.equal((await client.command('NOOP')).code, 250);
    client.write(chunk('body\r\n', true));
    const id = queuedId(await client.reply());
    assert.equal(await content(h, id), 'Subject: x\r\n\r\nbody\r\n');
    assert.deepEqual((await h.spool.read(id))?.recipients.map((r) => r.address), ['r@example.net']);
    client.close();
  });

  it('answers a junk argument after a readable size 501 5.5.4, consumes the octets and fails the transaction', async () => {
    const h = await start();
    const client = await openTransaction(h);
    client.write(Buffer.concat([Buffer.from('BDAT 6 FIRST\r\nRSET\r\n'), chunk('body\r\n', true), Buffer.from('NOOP\r\n')]));
    const [junk, last, noop] = await replies(client, 3);
    assert.equal(junk?.text, '501 5.5.4 Syntax: BDAT chunk-size [LAST]');
    assert.match(last?.text ?? '', /^501 5\.5\.4 .*\(chunk of 6 octets discarded\)$/);
    assert.equal(noop?.code, 250);
    assert.equal((await h.spool.list()).length, 0);
    client.close();
  });

  for (const line of ['BDAT', 'BDAT abc', 'BDAT -5 LAST', 'BDAT 99999999999999999999 LAST', 'BDAT LAST']) {
    it(`closes with 521 5.5.4 on "${line}": where the chunk ends cannot be known (as Postfix does)`, async () => {
      const h = await start();
      const client = await openTransaction(h);
      client.write(`${line}\r\nNOOP\r\n`);
      assert.match((await client.reply()).text, /^521 5\.5\.4 Syntax: BDAT chunk-size \[LAST\]/);
      await client.waitClosed();
      assert.equal((await h.spool.list()).length, 0);
    });
  }

  it('treats a chunk after LAST as a BDAT without a transaction: 503 5.5.1, octets consumed', async () => {
    const h = await start();
    const client = await openTransaction(h);
    client.write(Buffer.concat([chunk('Subject: x\r\n\r\nbody\r\n', true), chunk('NOOP\r\n'), Buffer.from('NOOP\r\n')]));
    queuedId(await client.reply());
    assert.equal((await client.reply()).text, '503 5.5.1 Need MAIL command first');
    assert.equal((await client.reply()).code, 250);
    assert.equal((await h.spool.list()).length, 1);
    client.close();
  });

  it('discards the open message on RSET; the next transaction starts clean', async () => {
    const h = await start();
    const client = await openTransaction(h);
    client.write(chunk('Subject: dropped\r\n\r\n'));
    assert.equal((await client.reply()).code, 250);
    assert.equal((await client.command('RSET')).code, 250);
    client.write(chunk('late\r\n', true));
    assert.equal((await client.reply()).text, '503 5.5.1 Need MAIL command first');
    assert.equal((await client.command('MAIL FROM:<app@example.org>')).code, 250);
    assert.equal((await client.command('RCPT TO:<r@example.net>')).code, 250);
    client.write(chunk('Subject: kept\r\n\r\nbody\r\n', true));
    const id = queuedId(await client.reply());
    assert.equal(await content(h, id), 'Subject: kept\r\n\r\nbody\r\n');
    assert.equal((await h.spool.list()).length, 1);
    client.close();
  });

  it('counts one error for a failed transaction, not one per discarded chunk', async () => {
    const h = await start({ limits: { maxMessageBytes: 1000 } });
    const client = await openTransaction(h);
    const pipelined = [chunk('x'.repeat(1001)), ...Array.from({ length: 12 }, () => chunk('y'.repeat(10))), chunk('', true)];
    client.write(Buffer.concat([...pipelined, Buffer.from('NOOP\r\n')]));
    const answers = await replies(client, 15);
    assert.deepEqual(answers.map((reply) => reply.code), [552, ...new Array<number>(13).fill(552), 250]);
    assert.equal(client.closed, false);
    client.close();
  });
});

describe('BDAT and spool failures', () => {
  it('answers 451 4.3.0 after the first chunk when no spool file can be opened, and refuses the rest in step', async () => {
    const h = await start({ sink: () => ({ begin: async () => Promise.reject(new Error('simulated EMFILE')) }) });
    const client = await openTransaction(h);
    client.write(Buffer.concat([chunk('Subject: x\r\n\r\n'), chunk('QUIT\r\n', true), Buffer.from('NOOP\r\n')]));
    const [first, last, noop] = await replies(client, 3);
    assert.equal(first?.text, '451 4.3.0 Local error in processing, try again later');
    assert.match(last?.text ?? '', /^451 4\.3\.0 .*\(chunk of 6 octets discarded\)$/);
    assert.equal(noop?.code, 250);
    client.close();
  });

  it('answers 452 4.3.1 at LAST when the disk fills while chunks are written', async () => {
    const h = await start({
      sink: () => ({
        async begin() {
          const body = new Writable({ write: (_chunk, _encoding, callback) => callback(Object.assign(new Error('simulated ENOSPC'), { code: 'ENOSPC' })) });
          return {
            id: 'FULL',
            body,
            rewriteBody: async () => Promise.reject(new Error('no rewrite in this test')),
            commit: async () => Promise.reject(new Error('commit after a failed write')),
            abort: async () => undefined,
          };
        },
      }),
    });
    const client = await openTransaction(h);
    client.write(Buffer.concat([chunk('Subject: x\r\n\r\n'), chunk('body\r\n', true)]));
    assert.equal((await client.reply()).code, 250);
    assert.match((await client.reply()).text, /^452 4\.3\.1/);
    assert.equal((await client.command('NOOP')).code, 250);
    client.close();
  });
});

describe('BDAT deadlines and shutdown', () => {
  it('cuts off a chunk that trickles below minDataRate with 421 4.4.2, queueing nothing', async () => {
    const h = await start({ limits: { idleTimeoutMs: 60_000, minDataRateBytesPerSecond: 100 } });
    const client = await openTransaction(h);
    // Consumed: the chunk has started, so its data-rate deadline runs (the spool file opens first).
    await writeAndWaitConsumed(h, client, 'BDAT 1000 LAST\r\nSubject: slow\r\n');
    h.clock.advance(59_000);
    assert.equal(client.closed, false, 'within the grace period plus allowance');
    h.clock.advance(2_000);
    assert.equal((await client.reply()).text, '421 4.4.2 Data rate too low, closing transmission channel');
    await client.waitClosed();
    assert.equal((await h.spool.list()).length, 0);
  });

  it('lets a chunk above minDataRate run past idleTimeout', async () => {
    const h = await start({ limits: { idleTimeoutMs: 10_000, minDataRateBytesPerSecond: 10 } });
    const client = await openTransaction(h);
    await writeAndWaitConsumed(h, client, 'BDAT 600 LAST\r\n');
    for (let i = 0; i < 5; i++) {
      await writeAndWaitConsumed(h, client, `X-Line-${i}: ${'a'.repeat(88)}\r\n`);
      h.clock.advance(5_000);
    }
    assert.equal(client.closed, false, '25 s in, past idleTimeout, above the rate');
    client.write(`Subject: fast enough\r\n\r\n${'b'.repeat(74)}\r\n`);
    assert.match((await client.reply()).text, /^250 2\.0\.0 Ok: queued as/);
    client.close();
  });

  it('applies idleTimeout between chunks, and drops the open message', async () => {
    const h = await start({ limits: { idleTimeoutMs: 60_000 } });
    const client = await openTransaction(h);
    client.write(chunk('Subject: x\r\n\r\n'));
    assert.equal((await client.reply()).code, 250);
    h.clock.advance(60_000);
    assert.equal((await client.reply()).text, '421 4.4.2 Timeout exceeded, closing transmission channel');
    await client.waitClosed();
    assert.equal((await h.spool.list()).length, 0);
  });

  it('lets a message in BDAT finish its chunks, queues it, then answers 421 4.3.2', async () => {
    const h = await start();
    const client = await openTransaction(h);
    client.write(chunk('Subject: late\r\n\r\n'));
    assert.equal((await client.reply()).code, 250);
    await writeAndWaitConsumed(h, client, 'BDAT 12 LAST\r\nbody');
    const stopping = h.server.stop(60_000);
    client.write(' text\r\n\r\nNOOP\r\n');
    assert.match((await client.reply()).text, /^250 2\.0\.0 Ok: queued as/);
    assert.equal((await client.reply()).text, '421 4.3.2 Service shutting down, closing transmission channel');
    await stopping;
    assert.equal((await h.spool.list()).length, 1);
  });

  it('refuses the first BDAT with 452 4.3.1 when the spool disk fell below the reserve after MAIL, consuming the chunk', async () => {
    const free = { bytes: 200 * 1024 * 1024 };
    const h = await start({ limits: { minFreeBytes: 100 * 1024 * 1024 }, freeSpaceBytes: async () => free.bytes });
    const client = await openTransaction(h);
    free.bytes = 1024;
    client.write(Buffer.concat([chunk('Subject: x\r\n\r\nRSET\r\n'), chunk('', true), Buffer.from('NOOP\r\n')]));
    const [first, last, noop] = await replies(client, 3);
    assert.match(first?.text ?? '', /^452 4\.3\.1 .*spool disk is nearly full/);
    assert.match(last?.text ?? '', /^452 4\.3\.1 .*\(chunk of 0 octets discarded\)$/);
    assert.equal(noop?.code, 250);
    assert.equal((await h.spool.list()).length, 0);
    client.close();
  });
});

describe('BDAT on every listener mode, with the DATA commit path', () => {
  const PASSWORD = 'correct horse';
  const plain = Buffer.from(`\0app@example.org\0${PASSWORD}`).toString('base64');

  function edKey(): DkimKey {
    const parsed = parsePrivateKey(generateKeyPem('ed25519'));
    assert.ok(parsed.ok);
    return { ...parsed, domain: 'example.org', selector: 'ed1', file: '/keys/example.org/ed1.pem', createdMs: 0 };
  }

  it('signs an authenticated submission sent in chunks, after the RFC 6409 fixes; dkimpy verifies it', { skip: !dkimpyInstalled() && !inCi ? 'python3-dkim not installed' : false }, async () => {
    const key = edKey();
    const signer = keyringSigner({ keyring: () => new SigningKeyring([key]), isLocalDomain: (domain) => domain === 'example.org', clock: systemClock });
    const certificate = await makeSelfSignedCertificate('mx.example.org');
    const h = await start({ mode: 'submission', tls: certificate, users: { 'app@example.org': PASSWORD }, trustedNetworks: ['192.0.2.0/24'], dkimSigner: signer });
    const client = await SmtpTestClient.connect(h.port);
    await client.reply();
    await client.command('EHLO app.example.org');
    await client.command('STARTTLS');
    const secure = await client.startTls();
    assert.ok((await secure.command('EHLO app.example.org')).lines.includes('CHUNKING'));
    assert.match((await secure.command(`AUTH PLAIN ${plain}`)).text, /^235 /);
    const message = 'From: App <app@example.org>\r\nTo: friend@example.net\r\nSubject: chunked, no date, no id\r\n\r\nfirst line\r\n.\r\n.leading dot\r\nlast line\r\n';
    secure.write(Buffer.concat([
      Buffer.from('MAIL FROM:<app@example.org>\r\nRCPT TO:<friend@example.net>\r\n'),
      chunk(message.slice(0, 40)),
      chunk(message.slice(40, 97)),
      chunk(message.slice(97), true),
    ]));
    const answers = await replies(secure, 5);
    assert.deepEqual(answers.slice(0, 4).map((reply) => reply.code), [250, 250, 250, 250]);
    const id = queuedId(answers[4] as ParsedReply);
    secure.close();
    const record = await h.spool.read(id);
    const signature = record?.dkimSignature;
    assert.ok(signature !== undefined, 'signed');
    const text = await stored(h, id);
    assert.match(text, /\r\nDate: .*\r\nMessage-ID: </, 'RFC 6409 fixes added');
    assert.ok(text.endsWith('\r\n\r\nfirst line\r\n.\r\n.leading dot\r\nlast line\r\n'), 'dot lines stored as sent');
    const signedNames = /\bh=([^;]+);/.exec(signature.replace(/\r\n\s+/g, ''))?.[1]?.toLowerCase().split(':') ?? [];
    assert.ok(signedNames.includes('date') && signedNames.includes('message-id'), signedNames.join(':'));
    const dns = dkimRecord(key);
    assert.deepEqual(await verifyWithDkimpy(Buffer.from(signature + text, 'latin1'), { [dns.name]: dns.value }), { signatures: 1, valid: [true] });
    assert.equal(h.log.messages('message queued').at(-1)?.['dkim'], 'd=example.org s=ed1');
  });

  it('takes BDAT over implicit TLS on smtps after AUTH', async () => {
    const certificate = await makeSelfSignedCertificate('mx.example.org');
    const h = await start({ mode: 'smtps', tls: certificate, users: { 'app@example.org': PASSWORD } });
    const client = await SmtpTestClient.connectTls(h.port);
    await client.reply();
    assert.ok((await client.command('EHLO app.example.org')).lines.includes('CHUNKING'));
    assert.match((await client.command(`AUTH PLAIN ${plain}`)).text, /^235 /);
    client.write(Buffer.concat([Buffer.from('MAIL FROM:<app@example.org>\r\nRCPT TO:<friend@example.net>\r\n'), chunk('Subject: tls\r\n\r\nhi\r\n', true)]));
    const answers = await replies(client, 3);
    const id = queuedId(answers[2] as ParsedReply);
    assert.match(await stored(h, id), /with ESMTPSA id /);
    client.close();
  });
});
