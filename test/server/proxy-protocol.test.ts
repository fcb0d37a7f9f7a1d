// Listeners with `proxyProtocol: true, proxyFrom`: the PROXY header's client address replaces the
// balancer's for the relay rule, the caps, the AUTH limiter, the logs and the Received header;
// connections from elsewhere, broken or slow headers get no greeting at all.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SmtpTestClient } from '../helpers/smtp-client.js';
import { startHarness, type Harness } from '../helpers/relay-harness.js';
import { proxyV1, proxyV2, proxyV2Local } from '../helpers/proxy-headers.js';
import { makeSelfSignedCertificate } from '../helpers/tls-cert.js';
import type { LogEntry } from '../helpers/memory-log.js';
import { PROXY_HEADER_TIMEOUT_MS } from '../../src/server/proxy-reader.js';

/** The balancer's address; 127.0.0.1 stands for a client that reaches the port directly. */
const BALANCER = '127.0.0.2';

let h: Harness;
before(async () => {
  h = await startHarness({ proxyFrom: [`${BALANCER}/32`], trustedNetworks: ['127.0.0.0/8'] });
});
after(() => h.close());

function pick(entry: LogEntry | undefined, keys: readonly string[]): Record<string, unknown> {
  assert.ok(entry, 'log entry missing');
  return Object.fromEntries(keys.map((key) => [key, entry[key]]));
}

async function proxied(harness: Harness, header: Buffer): Promise<SmtpTestClient> {
  const client = await SmtpTestClient.connectWithPrefix(harness.port, header, { localAddress: BALANCER });
  assert.match((await client.reply()).text, /^220 mx\.example\.org ESMTP/);
  return client;
}

async function bodyOf(harness: Harness, id: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of harness.spool.openBody(id)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Waits until the server has closed a connection that got nothing, and returns the log line saying why. */
async function refusedSilently(client: SmtpTestClient, harness: Harness, message: string, count: number): Promise<LogEntry | undefined> {
  await client.waitClosed();
  assert.equal(client.receivedChars, 0, 'no greeting, no reply');
  const entries = harness.log.messages(message);
  assert.equal(entries.length, count);
  return entries.at(-1);
}

describe('the client address of the PROXY header', () => {
  it('judges the relay rule: an untrusted client behind the trusted balancer gets 554 5.7.1 (v1), logged with both addresses', async () => {
    const client = await proxied(h, proxyV1('203.0.113.7', '127.0.0.1', 51000, 25));
    await client.command('EHLO client.example.net');
    assert.match((await client.command('MAIL FROM:<app@example.org>')).text, /^550 5\.7\.1/);
    assert.match((await client.command('MAIL FROM:<someone@example.net>')).text, /^250/);
    assert.match((await client.command('RCPT TO:<victim@example.com>')).text, /^554 5\.7\.1/);
    assert.match((await client.command('RCPT TO:<app@example.org>')).text, /^250 2\.1\.5/);
    client.close();
    const keys = ['client', 'proxy', 'mode', 'trusted', 'command', 'from', 'rcpt', 'reason'];
    const refusals = h.log.messages('relay refused').filter((entry) => entry['client'] === '203.0.113.7');
    assert.deepEqual(
      refusals.map((entry) => pick(entry, keys)),
      [
        { client: '203.0.113.7', proxy: BALANCER, mode: 'mta', trusted: false, command: 'MAIL', from: '<app@example.org>', rcpt: undefined, reason: 'spoofed-local-sender' },
        { client: '203.0.113.7', proxy: BALANCER, mode: 'mta', trusted: false, command: 'RCPT', from: '<someone@example.net>', rcpt: '<victim@example.com>', reason: 'relay-denied' },
      ],
    );
    const accepted = h.log.messages('relay accepted').filter((entry) => entry['client'] === '203.0.113.7');
    assert.deepEqual(accepted.map((entry) => [entry['level'], entry['command'], entry['rcpt']]), [
      [20, 'MAIL', undefined],
      [20, 'RCPT', '<app@example.org>'],
    ]);
  });

  it('lets a trusted client behind the balancer relay (v2, 127.0.0.9)', async () => {
    const client = await proxied(h, proxyV2('127.0.0.9'));
    await client.command('EHLO app.example.org');
    await client.command('MAIL FROM:<app@example.org>');
    assert.match((await client.command('RCPT TO:<someone@example.com>')).text, /^250 2\.1\.5/);
    client.close();
    const accepted = h.log.messages('relay accepted').find((entry) => entry['rcpt'] === '<someone@example.com>');
    assert.deepEqual(pick(accepted, ['client', 'proxy', 'trusted']), { client: '127.0.0.9', proxy: BALANCER, trusted: true });
  });

  it('goes into the Received header and the message log (v2 over IPv6, EHLO pipelined in the same segment)', async () => {
    const prefix = Buffer.concat([proxyV2('2001:db8::9'), Buffer.from('EHLO pipelined.example\r\n')]);
    const client = await proxied(h, prefix);
    assert.match((await client.reply()).text, /^250-mx\.example\.org Hello pipelined\.example/);
    await client.command('MAIL FROM:<someone@example.net>');
    await client.command('RCPT TO:<app@example.org>');
    assert.equal((await client.command('DATA')).code, 354);
    const queued = await client.command('Subject: proxied\r\n\r\nhello\r\n.');
    const id = /queued as (\w+)/.exec(queued.text)?.[1];
    assert.ok(id, queued.text);
    client.close();
    assert.match(await bodyOf(h, id), /^Received: from pipelined\.example \(\[IPv6:2001:db8::9\]\)\r\n\tby mx\.example\.org/);
    assert.deepEqual(pick(h.log.messages('message queued').find((entry) => entry['qid'] === id), ['client', 'proxy']), { client: '2001:db8::9', proxy: BALANCER });
    const record = await h.spool.read(id);
    assert.equal(record?.client?.address, '2001:db8::9');
  });

  it('is read even when the header comes one byte per TCP segment', async () => {
    const header = proxyV1('198.51.100.20');
    const client = await SmtpTestClient.connectWithPrefix(h.port, header.subarray(0, 1), { localAddress: BALANCER });
    for (const byte of header.subarray(1)) await new Promise<void>((resolve) => client.socket.write(Buffer.from([byte]), () => resolve()));
    assert.match((await client.reply()).text, /^220 /);
    await client.command('EHLO split.example');
    assert.equal((await client.command('QUIT')).code, 221);
    await client.waitClosed();
    const end = h.log.messages('session end').find((entry) => entry['helo'] === 'split.example');
    assert.deepEqual(pick(end, ['client', 'proxy', 'result']), { client: '198.51.100.20', proxy: BALANCER, result: 'quit' });
  });
});

describe('headers without a client address', () => {
  const cases: [string, Buffer][] = [
    ['a v2 LOCAL health check', proxyV2Local()],
    ['v1 UNKNOWN', Buffer.from('PROXY UNKNOWN\r\n')],
  ];
  for (const [what, header] of cases) {
    it(`${what} keeps the balancer's own address`, async () => {
      const client = await proxied(h, header);
      const helo = `health-${what.length}.example`;
      await client.command(`EHLO ${helo}`);
      assert.equal((await client.command('QUIT')).code, 221);
      await client.waitClosed();
      const end = h.log.messages('session end').find((entry) => entry['helo'] === helo);
      assert.deepEqual(pick(end, ['client', 'proxy']), { client: BALANCER, proxy: BALANCER });
    });
  }
});

describe('refused connections get no greeting', () => {
  it('refuses a client outside proxyFrom, even one that sends a well-formed header', async () => {
    const client = await SmtpTestClient.connectWithPrefix(h.port, proxyV1('127.0.0.5'), { localAddress: '127.0.0.1' });
    const entry = await refusedSilently(client, h, 'connection refused', 1);
    assert.equal(entry?.['client'], '127.0.0.1');
    assert.match(String(entry?.['reason']), /not in proxyFrom/);
    assert.equal(h.log.messages('session end').filter((line) => line['client'] === '127.0.0.5').length, 0);
  });

  const broken: [string, Buffer, RegExp][] = [
    ['no header (a client talking SMTP)', Buffer.from('EHLO direct.example\r\n'), /not a PROXY protocol header/],
    ['a v1 line ended by a bare LF', Buffer.from('PROXY TCP4 203.0.113.7 127.0.0.1 4000 25\nEHLO x\r\n'), /bare LF/],
    ['an oversized v2 header', Buffer.concat([proxyV2Local().subarray(0, 14), Buffer.from([0xff, 0xff])]), /too long/],
    ['a v2 UDP header', (() => { const header = proxyV2('203.0.113.7'); header[13] = 0x12; return header; })(), /only TCP/],
  ];
  broken.forEach(([what, bytes, reason], index) => {
    it(`drops ${what} and logs why`, async () => {
      const client = await SmtpTestClient.connectWithPrefix(h.port, bytes, { localAddress: BALANCER });
      const entry = await refusedSilently(client, h, 'proxy header refused', index + 1);
      assert.equal(entry?.['proxy'], BALANCER);
      assert.match(String(entry?.['reason']), reason);
    });
  });

  it('drops a connection whose header does not arrive in time (injected clock)', async () => {
    const slow = await startHarness({ proxyFrom: [`${BALANCER}/32`] });
    try {
      const timersBefore = slow.clock.pendingTimers;
      const client = await SmtpTestClient.connectWithPrefix(slow.port, Buffer.from('PROXY TCP4 '), { localAddress: BALANCER });
      await slow.clock.waitForTimers(timersBefore + 1);
      slow.clock.advance(PROXY_HEADER_TIMEOUT_MS);
      const entry = await refusedSilently(client, slow, 'proxy header refused', 1);
      assert.match(String(entry?.['reason']), /no complete PROXY header within 5 s/);
    } finally {
      await slow.close();
    }
  });
});

describe('limits by the proxied address', () => {
  it('applies maxConnectionsPerClient to the client, not to the balancer all clients share', async () => {
    const capped = await startHarness({ proxyFrom: [`${BALANCER}/32`], trustedNetworks: ['192.0.2.0/24'], limits: { maxConnectionsPerClient: 1 } });
    try {
      const first = await proxied(capped, proxyV2('203.0.113.7'));
      const second = await SmtpTestClient.connectWithPrefix(capped.port, proxyV2('203.0.113.7'), { localAddress: BALANCER });
      assert.match((await second.reply()).text, /^421 4\.7\.0 Too many connections from your address/);
      const other = await proxied(capped, proxyV2('203.0.113.8'));
      assert.deepEqual(pick(capped.log.messages('connection refused').at(-1), ['client', 'proxy']), { client: '203.0.113.7', proxy: BALANCER });
      for (const client of [first, second, other]) client.close();
    } finally {
      await capped.close();
    }
  });

  it('counts connections still sending their header toward maxConnections, and closes the surplus silently', async () => {
    const small = await startHarness({ proxyFrom: [`${BALANCER}/32`], limits: { maxConnections: 1 } });
    try {
      const timersBefore = small.clock.pendingTimers;
      const waiting = await SmtpTestClient.connectWithPrefix(small.port, Buffer.from('PROXY '), { localAddress: BALANCER });
      await small.clock.waitForTimers(timersBefore + 1);
      const surplus = await SmtpTestClient.connectWithPrefix(small.port, proxyV2('203.0.113.7'), { localAddress: BALANCER });
      const entry = await refusedSilently(surplus, small, 'connection refused', 1);
      assert.deepEqual(pick(entry, ['client', 'reason']), { client: BALANCER, reason: 'maxConnections reached' });
      waiting.write('TCP4 203.0.113.7 127.0.0.1 4000 25\r\n');
      assert.match((await waiting.reply()).text, /^220 /);
      waiting.close();
    } finally {
      await small.close();
    }
  });

  it('locks out the proxied client after failed AUTH, not the others behind the balancer (smtps: the header precedes TLS)', async () => {
    const certificate = await makeSelfSignedCertificate('mx.example.org');
    const password = 'correct horse battery staple';
    const smtps = await startHarness({ mode: 'smtps', tls: certificate, users: { 'app@example.org': password }, proxyFrom: [`${BALANCER}/32`], authLimits: { maxFailures: 2 } });
    const plain = (secret: string): string => Buffer.from(`\0app@example.org\0${secret}`).toString('base64');
    let sessions = 0;
    const session = async (client: string): Promise<SmtpTestClient> => {
      // Every other session sends its ClientHello in the same TCP write as the header.
      sessions += 1;
      const tls = sessions % 2 === 0 ? 'same-write' : 'after-prefix';
      const secure = await SmtpTestClient.connectWithPrefix(smtps.port, proxyV2(client), { localAddress: BALANCER, tls });
      assert.match((await secure.reply()).text, /^220 /);
      assert.ok(secure.tlsProtocol?.startsWith('TLSv1.'));
      await secure.command('EHLO client.example');
      return secure;
    };
    try {
      const attacker = await session('198.51.100.1');
      assert.match((await attacker.command(`AUTH PLAIN ${plain('wrong')}`)).text, /^535 5\.7\.8/);
      assert.match((await attacker.command(`AUTH PLAIN ${plain('wrong again')}`)).text, /^421 4\.7\.0/);
      const again = await session('198.51.100.1');
      assert.match((await again.command(`AUTH PLAIN ${plain(password)}`)).text, /^421 4\.7\.0/);
      const neighbour = await session('198.51.100.2');
      assert.match((await neighbour.command(`AUTH PLAIN ${plain(password)}`)).text, /^235 2\.7\.0/);
      neighbour.close();
      const failures = smtps.log.messages('authentication failed').map((entry) => pick(entry, ['client', 'proxy']));
      assert.deepEqual(failures, [
        { client: '198.51.100.1', proxy: BALANCER },
        { client: '198.51.100.1', proxy: BALANCER },
      ]);
    } finally {
      await smtps.close();
    }
  });
});
