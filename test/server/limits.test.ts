// Limits and abuse handling of the listener: sizes, line lengths, recipients,
// connection caps, deadlines (with a manual clock), error limit, SMTP
// smuggling variants, loops and spool failures.

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { SmtpTestClient } from '../helpers/smtp-client.js';
import { startHarness, writeAndWaitConsumed, type Harness, type HarnessOptions } from '../helpers/relay-harness.js';
import type { MessageSink } from '../../src/spool/types.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(options: HarnessOptions = {}): Promise<Harness> {
  harness = await startHarness(options);
  return harness;
}

async function openTransaction(h: Harness, recipients = ['r@example.net']): Promise<SmtpTestClient> {
  const client = await SmtpTestClient.connect(h.port);
  await client.reply();
  await client.command('EHLO client.example.net');
  assert.equal((await client.command('MAIL FROM:<app@example.org>')).code, 250);
  for (const rcpt of recipients) assert.equal((await client.command(`RCPT TO:<${rcpt}>`)).code, 250);
  assert.equal((await client.command('DATA')).code, 354);
  return client;
}

async function bodyOf(h: Harness, id: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of h.spool.openBody(id)) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('latin1');
  return text.slice(text.indexOf('\r\n\r\n') === -1 ? 0 : text.search(/\r\n(?![\t ])/) + 2);
}

describe('message size', () => {
  it('refuses data over maxMessageSize with 552 5.3.4 after the dot and queues nothing', async () => {
    const h = await start({ limits: { maxMessageBytes: 2000 } });
    const client = await openTransaction(h);
    client.write(`Subject: big\r\n\r\n${'x'.repeat(900)}\r\n${'y'.repeat(900)}\r\n${'z'.repeat(900)}\r\n.\r\n`);
    assert.match((await client.reply()).text, /^552 5\.3\.4/);
    assert.equal((await h.spool.list()).length, 0);
    assert.equal((await client.command('NOOP')).code, 250, 'session stays in sync after the refusal');
    client.close();
  });

  it('refuses a text line over 1000 octets from a client that is not authorized with 554 5.6.0 after the dot', async () => {
    const h = await start({ trustedNetworks: ['192.0.2.0/24'] });
    const client = await SmtpTestClient.connect(h.port);
    await client.reply();
    await client.command('EHLO mx.sender.example');
    assert.equal((await client.command('MAIL FROM:<someone@sender.example>')).code, 250);
    assert.equal((await client.command('RCPT TO:<r@example.org>')).code, 250);
    assert.equal((await client.command('DATA')).code, 354);
    client.write(`Subject: long\r\n\r\n${'x'.repeat(1001)}\r\n.\r\n`);
    assert.match((await client.reply()).text, /^554 5\.6\.0/);
    assert.equal((await h.spool.list()).length, 0);
    client.close();
  });

  it('accepts a text line over 1000 octets from a trusted client, stored re-encoded (test/server/long-lines.test.ts)', async () => {
    const h = await start();
    const client = await openTransaction(h);
    client.write(`Subject: long\r\n\r\n${'x'.repeat(1001)}\r\n.\r\n`);
    assert.match((await client.reply()).text, /^250 2\.0\.0/);
    const [record] = await h.spool.list();
    assert.ok(record !== undefined);
    assert.match(await bodyOf(h, record.id), new RegExp(`quoted-printable\r\n\r\n${'x'.repeat(75)}=\r\n`));
    client.close();
  });
});

describe('recipients', () => {
  it('answers 452 4.5.3 past maxRecipients', async () => {
    const h = await start({ limits: { maxRecipients: 2 } });
    const client = await SmtpTestClient.connect(h.port);
    await client.reply();
    await client.command('EHLO c');
    await client.command('MAIL FROM:<app@example.org>');
    assert.equal((await client.command('RCPT TO:<a@example.net>')).code, 250);
    assert.equal((await client.command('RCPT TO:<b@example.net>')).code, 250);
    assert.match((await client.command('RCPT TO:<c@example.net>')).text, /^452 4\.5\.3/);
    client.close();
  });

  it('answers a repeated recipient 250 2.1.5 (duplicate) and counts it once toward maxRecipients', async () => {
    const h = await start({ limits: { maxRecipients: 2 } });
    const client = await SmtpTestClient.connect(h.port);
    await client.reply();
    await client.command('EHLO c');
    await client.command('MAIL FROM:<app@example.org>');
    assert.equal((await client.command('RCPT TO:<a@example.net>')).code, 250);
    assert.equal((await client.command('RCPT TO:<b@example.net>')).code, 250);
    assert.match((await client.command('RCPT TO:<a@example.net>')).text, /^250 2\.1\.5 .*duplicate/, 'a duplicate at the limit is no new recipient');
    assert.match((await client.command('RCPT TO:<b@EXAMPLE.NET>')).text, /^250 2\.1\.5 .*duplicate/);
    assert.match((await client.command('RCPT TO:<c@example.net>')).text, /^452 4\.5\.3/);
    client.close();
  });

  it('delivers a repeated recipient once: the domain compared case-insensitively, the local part exactly', async () => {
    const h = await start();
    const client = await SmtpTestClient.connect(h.port);
    await client.reply();
    await client.command('EHLO c');
    await client.command('MAIL FROM:<app@example.org>');
    assert.match((await client.command('RCPT TO:<x@example.net>')).text, /^250 2\.1\.5 Recipient ok$/);
    assert.match((await client.command('RCPT TO:<x@EXAMPLE.net>')).text, /^250 2\.1\.5 .*duplicate/);
    assert.match((await client.command('RCPT TO:<"x"@example.net>')).text, /^250 2\.1\.5 .*duplicate/, 'the same mailbox quoted');
    assert.match((await client.command('RCPT TO:<X@example.net>')).text, /^250 2\.1\.5 Recipient ok$/, 'another local part');
    assert.equal((await client.command('DATA')).code, 354);
    client.write('Subject: once\r\n\r\nbody\r\n.\r\n');
    const id = /queued as ([0-9A-Za-z]+)/.exec((await client.reply()).text)?.[1];
    assert.ok(id);
    const record = await h.spool.read(id);
    assert.deepEqual(record?.recipients.map((r) => r.address), ['x@example.net', 'X@example.net']);
    client.close();
  });
});

describe('connection caps', () => {
  it('answers 421 4.7.0 and closes past maxConnections', async () => {
    const h = await start({ limits: { maxConnections: 2 } });
    const a = await SmtpTestClient.connect(h.port);
    const b = await SmtpTestClient.connect(h.port);
    await a.reply();
    await b.reply();
    const c = await SmtpTestClient.connect(h.port);
    assert.match((await c.reply()).text, /^421 4\.7\.0/);
    await c.waitClosed();
    a.close();
    b.close();
  });

  it('answers 421 4.7.0 past maxConnectionsPerClient, while another address still gets in', async () => {
    const h = await start({ limits: { maxConnectionsPerClient: 1 }, trustedNetworks: [] });
    const a = await SmtpTestClient.connect(h.port);
    assert.equal((await a.reply()).code, 220);
    const b = await SmtpTestClient.connect(h.port);
    assert.match((await b.reply()).text, /^421 4\.7\.0/);
    await b.waitClosed();
    const other = await SmtpTestClient.connect(h.port, '127.0.0.2');
    assert.equal((await other.reply()).code, 220);
    other.close();
    a.close();
  });
});

describe('connection caps and trusted networks', () => {
  /** Opens `count` sessions at once from `from` and returns them with the first reply of each. */
  async function openParallel(port: number, count: number, from: string): Promise<{ clients: SmtpTestClient[]; codes: number[] }> {
    const clients = await Promise.all(Array.from({ length: count }, () => SmtpTestClient.connect(port, from)));
    const codes = await Promise.all(clients.map(async (client) => (await client.reply()).code));
    return { clients, codes };
  }

  it('lets 25 parallel sessions from a trusted address in (no per-address cap, as Postfix exempts $mynetworks)', async () => {
    const h = await start({ trustedNetworks: ['127.0.0.1/32'] });
    const { clients, codes } = await openParallel(h.port, 25, '127.0.0.1');
    assert.deepEqual(codes, new Array<number>(25).fill(220));
    for (const client of clients) client.close();
  });

  it('answers the 21st session of an untrusted address 421 4.7.0, while a trusted one still gets in', async () => {
    const h = await start({ trustedNetworks: ['127.0.0.1/32'] });
    const { clients, codes } = await openParallel(h.port, 20, '127.0.0.2');
    assert.deepEqual(codes, new Array<number>(20).fill(220));
    const extra = await SmtpTestClient.connect(h.port, '127.0.0.2');
    assert.match((await extra.reply()).text, /^421 4\.7\.0 Too many connections from your address/);
    await extra.waitClosed();
    const trusted = await SmtpTestClient.connect(h.port, '127.0.0.1');
    assert.equal((await trusted.reply()).code, 220);
    trusted.close();
    for (const client of clients) client.close();
  });

  it('still holds a trusted client to maxConnections', async () => {
    const h = await start({ trustedNetworks: ['127.0.0.1/32'], limits: { maxConnections: 3, maxConnectionsPerClient: 1 } });
    const { clients, codes } = await openParallel(h.port, 3, '127.0.0.1');
    assert.deepEqual(codes, [220, 220, 220]);
    const extra = await SmtpTestClient.connect(h.port, '127.0.0.1');
    assert.match((await extra.reply()).text, /^421 4\.7\.0 Too many connections, try again later/);
    await extra.waitClosed();
    for (const client of clients) client.close();
  });
});

describe('deadlines', () => {
  it('closes an idle session with 421 4.4.2 when a command does not complete within idleTimeout', async () => {
    const h = await start({ limits: { idleTimeoutMs: 60_000 } });
    const client = await SmtpTestClient.connect(h.port);
    await client.reply();
    await writeAndWaitConsumed(h, client, 'EHLO trickle');
    h.clock.advance(30_000);
    await writeAndWaitConsumed(h, client, '.');
    h.clock.advance(30_000);
    assert.match((await client.reply()).text, /^421 4\.4\.2/);
    await client.waitClosed();
  });

  it('cuts off DATA that trickles below minDataRate with 421 4.4.2, queueing nothing', async () => {
    const h = await start({ limits: { idleTimeoutMs: 60_000, minDataRateBytesPerSecond: 100 } });
    const client = await openTransaction(h);
    await writeAndWaitConsumed(h, client, 'Subject: slow\r\n');
    h.clock.advance(59_000);
    assert.equal(client.closed, false, 'within the grace period plus allowance');
    h.clock.advance(2_000);
    assert.match((await client.reply()).text, /^421 4\.4\.2/);
    await client.waitClosed();
    assert.equal((await h.spool.list()).length, 0);
  });

  it('lets DATA above minDataRate run past idleTimeout', async () => {
    const h = await start({ limits: { idleTimeoutMs: 10_000, minDataRateBytesPerSecond: 10 } });
    const client = await openTransaction(h);
    for (let i = 0; i < 5; i++) {
      await writeAndWaitConsumed(h, client, `X-Line-${i}: ${'a'.repeat(90)}\r\n`);
      h.clock.advance(5_000);
    }
    client.write('\r\n.\r\n');
    assert.match((await client.reply()).text, /^250 2\.0\.0/);
    client.close();
  });
});

describe('error limit', () => {
  it('closes with 421 after too many errors', async () => {
    const h = await start();
    const client = await SmtpTestClient.connect(h.port);
    await client.reply();
    const codes: number[] = [];
    for (let i = 0; i < 10; i++) {
      client.send('BOGUS');
      codes.push((await client.reply()).code);
    }
    assert.ok(codes.every((code) => code === 500));
    assert.match((await client.reply()).text, /^421 4\.7\.0/);
    await client.waitClosed();
  });
});

describe('SMTP smuggling (CVE-2023-51764)', () => {
  const variants: [string, string][] = [
    ['\\n.\\n', '\n.\n'],
    ['\\r.\\r', '\r.\r'],
    ['\\n.\\r\\n', '\n.\r\n'],
    ['\\r\\n.\\r', '\r\n.\r'],
    ['\\r.\\r\\n', '\r.\r\n'],
    ['\\r\\n.\\n', '\r\n.\n'],
  ];
  for (const [name, marker] of variants) {
    it(`treats ${name} as content and runs no smuggled command`, async () => {
      const h = await start();
      const client = await openTransaction(h);
      client.write(`Subject: smuggle\r\n\r\nhello${marker}MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\nevil\r\n.\r\n`);
      const reply = await client.reply();
      assert.match(reply.text, /^250 2\.0\.0/);
      const messages = await h.spool.list();
      assert.equal(messages.length, 1, 'exactly one message queued');
      const [message] = messages;
      assert.deepEqual(message?.recipients.map((r) => r.address), ['r@example.net']);
      const body = await bodyOf(h, message?.id ?? '');
      assert.match(body, /MAIL FROM:<evil@example\.org>\r\nRCPT TO:<victim@example\.net>\r\nDATA\r\nevil\r\n$/);
      assert.doesNotMatch(body, /(^|[^\r])\n|\r(?!\n)/, 'stored content has CRLF line ends only');
      assert.equal((await client.command('NOOP')).code, 250);
      client.close();
    });
  }
});

describe('mail loops', () => {
  it('refuses a message with 100 Received headers with 554 5.4.6', async () => {
    const h = await start();
    const client = await openTransaction(h);
    client.write(`${'Received: from a by b; Thu, 26 Nov 2026 10:00:00 +0000\r\n'.repeat(100)}Subject: loop\r\n\r\nbody\r\n.\r\n`);
    assert.match((await client.reply()).text, /^554 5\.4\.6/);
    assert.equal((await h.spool.list()).length, 0);
    client.close();
  });

  it('accepts 98 Received headers (ours makes 99)', async () => {
    const h = await start();
    const client = await openTransaction(h);
    client.write(`${'Received: from a by b; Thu, 26 Nov 2026 10:00:00 +0000\r\n'.repeat(98)}Subject: ok\r\n\r\nbody\r\n.\r\n`);
    assert.match((await client.reply()).text, /^250 2\.0\.0/);
    client.close();
  });
});

describe('spool failures', () => {
  function failingSink(code: string): (spool: unknown) => MessageSink {
    return () => ({
      async begin() {
        const body = new Writable({
          write(_chunk, _encoding, callback) {
            callback(Object.assign(new Error(`simulated ${code}`), { code }));
          },
        });
        return {
          id: 'FAILING',
          body,
          commit: async () => {
            throw new Error('commit after a failed write');
          },
          abort: async () => undefined,
          rewriteBody: async () => {
            throw new Error('rewrite after a failed write');
          },
        };
      },
    });
  }

  it('answers 452 4.3.1 when the disk is full, and the server keeps running', async () => {
    const h = await start({ sink: failingSink('ENOSPC') });
    const client = await openTransaction(h);
    client.write('Subject: x\r\n\r\nbody\r\n.\r\n');
    assert.match((await client.reply()).text, /^452 4\.3\.1/);
    assert.equal((await client.command('NOOP')).code, 250);
    client.close();
    const again = await SmtpTestClient.connect(h.port);
    assert.equal((await again.reply()).code, 220);
    again.close();
  });

  it('answers 451 4.3.0 on another write error', async () => {
    const h = await start({ sink: failingSink('EIO') });
    const client = await openTransaction(h);
    client.write('Subject: x\r\n\r\nbody\r\n.\r\n');
    assert.match((await client.reply()).text, /^451 4\.3\.0/);
    client.close();
  });
});

describe('shutdown', () => {
  it('answers 421 4.3.2 to an idle session when the server stops', async () => {
    const h = await start();
    const client = await SmtpTestClient.connect(h.port);
    await client.reply();
    await client.command('EHLO c');
    const stopping = h.server.stop(60_000);
    assert.match((await client.reply()).text, /^421 4\.3\.2/);
    await client.waitClosed();
    await stopping;
  });

  it('lets a message in DATA finish, queues it, then answers 421 4.3.2', async () => {
    const h = await start();
    const client = await openTransaction(h);
    await writeAndWaitConsumed(h, client, 'Subject: late\r\n');
    const stopping = h.server.stop(60_000);
    client.write('\r\nbody\r\n.\r\nNOOP\r\n');
    assert.match((await client.reply()).text, /^250 2\.0\.0/);
    assert.match((await client.reply()).text, /^421 4\.3\.2/);
    await stopping;
    assert.equal((await h.spool.list()).length, 1);
  });
});
