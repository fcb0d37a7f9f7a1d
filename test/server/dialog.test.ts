// Scripted SMTP conversations against the real listener on loopback:
// greeting, EHLO, sequencing, syntax, pipelining and queueing.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { SmtpTestClient } from '../helpers/smtp-client.js';
import { startHarness, type Harness } from '../helpers/relay-harness.js';

let harness: Harness;
before(async () => {
  harness = await startHarness();
});
after(async () => {
  await harness.close();
});

async function session(): Promise<SmtpTestClient> {
  const client = await SmtpTestClient.connect(harness.port);
  const greeting = await client.reply();
  assert.equal(greeting.code, 220);
  return client;
}

async function readBody(id: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of harness.spool.openBody(id)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A session that has been greeted and has sent EHLO. */
async function sessionAfterEhlo(): Promise<SmtpTestClient> {
  const client = await session();
  await client.command('EHLO client.example.net');
  return client;
}

/** One test per case: after EHLO, `command` gets a reply matching `expected`. */
function itAnswersAfterEhlo(cases: readonly (readonly [command: string, expected: RegExp])[]): void {
  for (const [command, expected] of cases) {
    it(`answers ${command} with ${expected.source}`, async () => {
      const client = await sessionAfterEhlo();
      assert.match((await client.command(command)).text, expected);
      client.close();
    });
  }
}

function queuedId(text: string): string {
  const match = /queued as ([0-9A-Za-z]+)/.exec(text);
  assert.ok(match?.[1], `no queue id in ${text}`);
  return match[1];
}

describe('greeting and EHLO', () => {
  it('greets with 220 <hostname> ESMTP', async () => {
    const client = await SmtpTestClient.connect(harness.port);
    const greeting = await client.reply();
    assert.equal(greeting.code, 220);
    assert.match(greeting.lines[0] ?? '', /^mx\.example\.org ESMTP/);
    client.close();
  });

  it('advertises PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES, SMTPUTF8 and CHUNKING (never BINARYMIME) in EHLO', async () => {
    const client = await session();
    const ehlo = await client.command('EHLO client.example.net');
    assert.equal(ehlo.code, 250);
    assert.deepEqual(ehlo.lines.slice(1), ['PIPELINING', `SIZE ${10 * 1024 * 1024}`, '8BITMIME', 'ENHANCEDSTATUSCODES', 'SMTPUTF8', 'CHUNKING']);
    client.close();
  });

  it('answers HELO with a single 250 line', async () => {
    const client = await session();
    const helo = await client.command('HELO client.example.net');
    assert.equal(helo.code, 250);
    assert.equal(helo.lines.length, 1);
    client.close();
  });

  it('refuses EHLO without an argument with 501 5.5.4', async () => {
    const client = await session();
    assert.match((await client.command('EHLO')).text, /^501 5\.5\.4/);
    client.close();
  });
});

describe('simple commands', () => {
  itAnswersAfterEhlo([
    ['NOOP', /^250 2\.0\.0/],
    ['RSET', /^250 2\.0\.0/],
    ['VRFY postmaster', /^252 2\.0\.0/],
    ['VRFY', /^501 5\.5\.4/],
    ['HELP', /^214 2\.0\.0/],
    ['EXPN staff', /^502 5\.5\.1/],
    ['XYZZY', /^500 5\.5\.2/],
    ['XCLIENT ADDR=10.9.8.7', /^500 5\.5\.2/],
    ['XFORWARD ADDR=10.9.8.7', /^500 5\.5\.2/],
    ['PROXY TCP4 10.9.8.7 127.0.0.1 1234 25', /^500 5\.5\.2/],
    ['noop', /^250 2\.0\.0/],
  ]);

  it('closes with 221 2.0.0 on QUIT', async () => {
    const client = await session();
    assert.match((await client.command('QUIT')).text, /^221 2\.0\.0/);
    await client.waitClosed();
  });

  it('hangs up on an HTTP request (cross-protocol)', async () => {
    const client = await session();
    assert.match((await client.command('GET / HTTP/1.1')).text, /^221 2\.7\.0/);
    await client.waitClosed();
  });

  it('answers a command line over 512 octets with 500 5.5.2 and stays in sync', async () => {
    const client = await session();
    client.send(`EHLO ${'a'.repeat(600)}`);
    assert.match((await client.reply()).text, /^500 5\.5\.2 Line too long/);
    assert.equal((await client.command('NOOP')).code, 250);
    client.close();
  });
});

describe('sequencing', () => {
  it('requires EHLO before MAIL (503 5.5.1)', async () => {
    const client = await session();
    assert.match((await client.command('MAIL FROM:<a@example.org>')).text, /^503 5\.5\.1/);
    client.close();
  });

  it('requires MAIL before RCPT and RCPT before DATA (503 5.5.1 / 554 5.5.1)', async () => {
    const client = await sessionAfterEhlo();
    assert.match((await client.command('RCPT TO:<b@example.org>')).text, /^503 5\.5\.1/);
    assert.match((await client.command('DATA')).text, /^503 5\.5\.1/);
    assert.match((await client.command('MAIL FROM:<a@example.org>')).text, /^250 2\.1\.0/);
    assert.match((await client.command('DATA')).text, /^554 5\.5\.1/);
    client.close();
  });

  it('refuses a nested MAIL with 503 5.5.1, and RSET clears the transaction', async () => {
    const client = await sessionAfterEhlo();
    await client.command('MAIL FROM:<a@example.org>');
    assert.match((await client.command('MAIL FROM:<a@example.org>')).text, /^503 5\.5\.1/);
    assert.equal((await client.command('RSET')).code, 250);
    assert.match((await client.command('MAIL FROM:<a@example.org>')).text, /^250 2\.1\.0/);
    client.close();
  });
});

describe('syntax', () => {
  itAnswersAfterEhlo([
    ['MAIL FROM:a@example.org', /^501 5\.5\.4/],
    ['MAIL TO:<a@example.org>', /^501 5\.5\.4/],
    ['MAIL FROM:<a@@example.org>', /^501 5\.1\.7/],
    ['MAIL FROM:<a@example.org> FOO=BAR', /^555 5\.5\.4/],
    ['MAIL FROM:<a@example.org> BODY=9BIT', /^501 5\.5\.4/],
    ['MAIL FROM:<a@example.org> SIZE=20000000', /^552 5\.3\.4/],
    ['MAIL FROM:<jörg@example.org>', /^553 5\.6\.7/],
    ['MAIL FROM:<jörg@example.org> SMTPUTF8', /^250 2\.1\.0/],
    ['MAIL FROM:<a@example.org> SIZE=1000 BODY=8BITMIME', /^250 2\.1\.0/],
    ['MAIL FROM:<>', /^250 2\.1\.0/],
  ]);

  it('answers a bad recipient address with 501 5.1.3', async () => {
    const client = await sessionAfterEhlo();
    await client.command('MAIL FROM:<a@example.org>');
    assert.match((await client.command('RCPT TO:<b@exa mple.org>')).text, /^501 5\.1\.3/);
    assert.match((await client.command('RCPT TO:<>')).text, /^501 5\.1\.3/);
    assert.match((await client.command('RCPT TO:b@example.org')).text, /^501 5\.5\.4/);
    client.close();
  });
});

describe('queueing', () => {
  it('queues a message with a Received header and answers 250 2.0.0 with the queue id', async () => {
    const client = await sessionAfterEhlo();
    await client.command('MAIL FROM:<app@example.org>');
    await client.command('RCPT TO:<someone@example.net>');
    assert.equal((await client.command('DATA')).code, 354);
    client.write('Subject: hello\r\n\r\nfirst line\r\n..dotted\r\n.\r\n');
    const done = await client.reply();
    assert.match(done.text, /^250 2\.0\.0 Ok: queued as /);
    const id = queuedId(done.text);
    const record = await harness.spool.read(id);
    assert.ok(record);
    assert.equal(record.from, 'app@example.org');
    assert.deepEqual(record.recipients.map((r) => [r.address, r.state]), [['someone@example.net', 'pending']]);
    assert.equal(record.client.helo, 'client.example.net');
    const body = await readBody(id);
    assert.match(body, new RegExp(`^Received: from client\\.example\\.net \\(\\[127\\.0\\.0\\.1\\]\\)\\r\\n\\tby mx\\.example\\.org \\(outpost\\) with ESMTP id ${id}\\r\\n\\tfor <someone@example\\.net>;`));
    assert.ok(body.endsWith('Subject: hello\r\n\r\nfirst line\r\n.dotted\r\n'));
    assert.equal(record.size, Buffer.byteLength(body));
    client.close();
  });

  it('answers pipelined commands in order (RFC 2920)', async () => {
    const client = await session();
    client.write(
      'EHLO client.example.net\r\nMAIL FROM:<app@example.org>\r\nRCPT TO:<a@example.net>\r\n' +
        'RCPT TO:<bad address>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n',
    );
    const codes = [];
    for (let i = 0; i < 6; i++) codes.push((await client.reply()).code);
    assert.deepEqual(codes, [250, 250, 250, 501, 250, 354]);
    client.write('Subject: p\r\n\r\nbody\r\n.\r\nMAIL FROM:<app@example.org>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n');
    const queued = await client.reply();
    assert.match(queued.text, /^250 2\.0\.0/);
    assert.deepEqual([(await client.reply()).code, (await client.reply()).code, (await client.reply()).code], [250, 250, 354]);
    client.write('\r\n.\r\nQUIT\r\n');
    assert.match((await client.reply()).text, /^250 2\.0\.0/);
    assert.equal((await client.reply()).code, 221);
    const record = await harness.spool.read(queuedId(queued.text));
    assert.deepEqual(record?.recipients.map((r) => r.address), ['a@example.net', 'b@example.net']);
  });

  it('stores a repeated recipient once', async () => {
    const client = await sessionAfterEhlo();
    await client.command('MAIL FROM:<app@example.org>');
    await client.command('RCPT TO:<x@example.net>');
    assert.equal((await client.command('RCPT TO:<x@EXAMPLE.net>')).code, 250);
    await client.command('DATA');
    client.write('\r\n.\r\n');
    const record = await harness.spool.read(queuedId((await client.reply()).text));
    assert.equal(record?.recipients.length, 1);
    client.close();
  });

  it('logs one line per queued message with qid, from, rcpts and size', async () => {
    const client = await sessionAfterEhlo();
    await client.command('MAIL FROM:<logger@example.org>');
    await client.command('RCPT TO:<x@example.net>');
    await client.command('DATA');
    client.write('Subject: log\r\n\r\n.\r\n');
    const id = queuedId((await client.reply()).text);
    const line = harness.log.messages('message queued').find((entry) => entry['qid'] === id);
    assert.ok(line);
    assert.equal(line['from'], '<logger@example.org>');
    assert.deepEqual(line['rcpts'], ['x@example.net']);
    assert.equal(typeof line['size'], 'number');
    client.close();
  });

  it('keeps the body out of the log', async () => {
    assert.ok(harness.log.entries.every((entry) => !JSON.stringify(entry).includes('first line')));
  });

  it('reads the spooled file back from disk exactly as acknowledged', async () => {
    const client = await session();
    await client.command('EHLO c');
    await client.command('MAIL FROM:<app@example.org> BODY=8BITMIME');
    await client.command('RCPT TO:<x@example.net>');
    await client.command('DATA');
    client.write('Subject: 8bit\r\n\r\nGrüße\r\n.\r\n');
    const id = queuedId((await client.reply()).text);
    const record = await harness.spool.read(id);
    assert.equal(record?.body, '8BITMIME');
    const files = await readFile(`${harness.spoolDir}/state/${id}.json`, 'utf8');
    assert.match(files, /"version": ?1/);
    client.close();
  });
});
