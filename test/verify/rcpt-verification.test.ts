// No backscatter: RCPT for a local-domain recipient from an unauthorized client
// on `mta` waits for a cached probe of the next hop (over real sockets to a fake
// MTA), so an unknown user is refused at RCPT instead of bounced later.

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRecipientsText } from '../../src/config/recipients-file.js';
import { SmtpTestClient } from '../helpers/smtp-client.js';
import { makeSelfSignedCertificate } from '../helpers/tls-cert.js';
import { parseExposition, sampleValue } from '../observability/exposition-parser.js';
import { openTransaction, rcptReply, startRig, type Rig, type RigOptions } from './rig.js';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

async function start(options: RigOptions = {}): Promise<Rig> {
  rig = await startRig(options);
  return rig;
}

async function verifications(r: Rig, result: string, source: string): Promise<number> {
  return sampleValue(parseExposition(await r.metrics.render()), 'outpost_recipient_verifications_total', { result, source }) ?? 0;
}

/** Resolves once the next hop has received `count` RCPT commands. */
function rcptsAtNextHop(r: Rig, count: number): Promise<void> {
  return r.mta.until(() => r.mta.sessions.flatMap((session) => session.commands).filter((line) => /^RCPT/i.test(line)).length >= count);
}

describe('recipient verification at RCPT', () => {
  it('refuses an unknown user with 550 5.1.1 after asking the next hop, and queues nothing', async () => {
    const r = await start();
    const client = await openTransaction(r.harness.port);
    const rcpt = await client.command('RCPT TO:<nobody@example.org>');
    assert.equal(rcpt.text, '550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown (verified with the next hop)');
    assert.match((await client.command('DATA')).text, /^554 5\.5\.1/);
    client.close();
    assert.deepEqual(await r.harness.spool.list(), []);
    assert.equal(r.mta.messages.length, 0, 'no message, hence no DSN, reaches the next hop');
    assert.deepEqual(r.mta.sessions[0]?.commands, ['EHLO mx.example.org', 'MAIL FROM:<>', 'RCPT TO:<nobody@example.org>', 'RSET', 'QUIT']);
    const logged = r.harness.log.messages('recipient verified')[0];
    assert.equal(logged?.['level'], 30, 'a reject is logged at info');
    assert.equal(logged?.['client'], '127.0.0.1');
    assert.equal(logged?.['rcpt'], 'nobody@example.org');
    assert.equal(logged?.['result'], 'invalid');
    assert.match(String(logged?.['detail']), /^550 5\.1\.1 .*User unknown in local recipient table \(127\.0\.0\.2\[127\.0\.0\.2\]\)$/);
    assert.equal(await verifications(r, 'invalid', 'probe'), 1);
  });

  it('accepts a known user with 250 and queues the message for it', async () => {
    const r = await start();
    const client = await openTransaction(r.harness.port);
    assert.match((await client.command('RCPT TO:<alice@example.org>')).text, /^250 2\.1\.5/);
    assert.match((await client.command('RCPT TO:<nobody@example.org>')).text, /^550 5\.1\.1/);
    assert.equal((await client.command('DATA')).code, 354);
    client.write('Subject: hi\r\n\r\nhello\r\n.\r\n');
    assert.match((await client.reply()).text, /^250 2\.0\.0/);
    client.close();
    const [record] = await r.harness.spool.list();
    assert.deepEqual(record?.recipients.map((recipient) => recipient.address), ['alice@example.org']);
    assert.equal(await verifications(r, 'valid', 'probe'), 1);
  });

  it('answers a repeated recipient from the cache without probing again', async () => {
    const r = await start();
    assert.equal((await rcptReply(r.harness.port, 'nobody@example.org')).code, 550);
    assert.equal((await rcptReply(r.harness.port, 'alice@example.org')).code, 250);
    assert.equal(r.probes(), 2);
    assert.equal((await rcptReply(r.harness.port, 'nobody@example.org')).code, 550);
    assert.equal((await rcptReply(r.harness.port, 'alice@example.org')).code, 250);
    assert.equal(r.probes(), 2, 'no new probe session');
    assert.equal(await verifications(r, 'invalid', 'cache'), 1);
    assert.equal(await verifications(r, 'valid', 'cache'), 1);
  });

  it('probes again once the negative answer has expired (negativeTtl on the injected clock)', async () => {
    const r = await start({ settings: { negativeTtlMs: 3 * 3_600_000 } });
    assert.equal((await rcptReply(r.harness.port, 'nobody@example.org')).code, 550);
    r.clock.advance(3 * 3_600_000 - 1);
    assert.equal((await rcptReply(r.harness.port, 'nobody@example.org')).code, 550);
    assert.equal(r.probes(), 1, 'still cached');
    r.clock.advance(1);
    assert.equal((await rcptReply(r.harness.port, 'nobody@example.org')).code, 550);
    assert.equal(r.probes(), 2, 'expired: asked again');
  });

  it('keeps a positive answer for positiveTtl, then asks again (the user may be gone)', async () => {
    let aliceExists = true;
    const r = await start({
      settings: { positiveTtlMs: 7 * 24 * 3_600_000 },
      script: { rcpt: ({ argument }) => (argument === 'alice@example.org' && aliceExists ? undefined : '550 5.1.1 no such user') },
    });
    assert.equal((await rcptReply(r.harness.port, 'alice@example.org')).code, 250);
    aliceExists = false;
    r.clock.advance(7 * 24 * 3_600_000 - 1);
    assert.equal((await rcptReply(r.harness.port, 'alice@example.org')).code, 250);
    r.clock.advance(1);
    assert.equal((await rcptReply(r.harness.port, 'alice@example.org')).code, 550);
    assert.equal(r.probes(), 2);
  });

  it('defers with 450 4.1.1 when the next hop is down, and does not cache that', async () => {
    const r = await start({ nextHop: 'down' });
    const first = await rcptReply(r.harness.port, 'alice@example.org');
    assert.equal(first.text, '450 4.1.1 <alice@example.org>: Recipient address rejected: unverified address: the next hop cannot be asked now, try again later');
    assert.equal((await rcptReply(r.harness.port, 'alice@example.org')).code, 450);
    assert.equal(r.verifier.cachedAnswers, 0);
    assert.equal(await verifications(r, 'unavailable', 'probe'), 2, 'each RCPT asked again');
    const logged = r.harness.log.messages('recipient verified')[0];
    assert.equal(logged?.['decision'], 'defer');
    assert.match(String(logged?.['detail']), /^451 4\.4\.1 connection refused by 127\.0\.0\.2\[127\.0\.0\.2\]$/);
  });

  it('accepts (fails open) when the next hop is down and whenUnavailable is accept', async () => {
    const r = await start({ nextHop: 'down', settings: { whenUnavailable: 'accept' } });
    assert.match((await rcptReply(r.harness.port, 'nobody@example.org')).text, /^250 2\.1\.5/);
    assert.equal(r.harness.log.messages('recipient verified')[0]?.['decision'], 'accept');
  });

  it('treats a 4xx to the probed RCPT as unavailable (450), not as unknown', async () => {
    const r = await start({ script: { rcpt: () => '451 4.7.1 greylisted, try later' } });
    assert.match((await rcptReply(r.harness.port, 'alice@example.org')).text, /^450 4\.1\.1/);
    assert.equal(r.verifier.cachedAnswers, 0);
  });

  it('gives up after probeTimeout and defers', async () => {
    const r = await start({ settings: { probeTimeoutMs: 30_000 }, script: { rcpt: () => 'silence' } });
    const client = await openTransaction(r.harness.port);
    client.send('RCPT TO:<alice@example.org>');
    await rcptsAtNextHop(r, 1);
    r.clock.advance(30_000);
    assert.match((await client.reply()).text, /^450 4\.1\.1/);
    client.close();
    assert.match(String(r.harness.log.messages('recipient verified')[0]?.['detail']), /no answer within 30000 ms/);
  });

  it('counts the verification against the command deadline (421 4.4.2 when it runs out first)', async () => {
    const r = await start({ settings: { probeTimeoutMs: 600_000 }, script: { rcpt: () => 'silence' }, harness: { limits: { idleTimeoutMs: 60_000 } } });
    const client = await openTransaction(r.harness.port);
    client.send('RCPT TO:<alice@example.org>');
    await rcptsAtNextHop(r, 1);
    r.clock.advance(60_000);
    assert.match((await client.reply()).text, /^421 4\.4\.2/);
    await client.waitClosed();
  });

  it('shares one probe among concurrent RCPTs for the same address', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const r = await start({ script: { rcpt: async () => { await gate; return '550 5.1.1 no such user'; } } });
    const first = await openTransaction(r.harness.port);
    const second = await openTransaction(r.harness.port);
    first.send('RCPT TO:<nobody@example.org>');
    await rcptsAtNextHop(r, 1);
    second.send('RCPT TO:<nobody@example.org>');
    const commandLogged = (): number => r.harness.log.messages('command').filter((entry) => entry['line'] === 'RCPT TO:<nobody@example.org>').length;
    await r.harness.log.waitFor(() => commandLogged() === 2);
    release();
    assert.match((await first.reply()).text, /^550 5\.1\.1/);
    assert.match((await second.reply()).text, /^550 5\.1\.1/);
    first.close();
    second.close();
    assert.equal(r.probes(), 1);
  });

  it('caps the probes at once: a probe over maxProbes waits for a slot', async () => {
    const releases: (() => void)[] = [];
    const r = await start({
      settings: { maxProbes: 1 },
      script: { rcpt: ({ argument }) => new Promise((resolve) => releases.push(() => resolve(argument === 'alice@example.org' ? undefined : '550 5.1.1 no such user'))) },
    });
    const first = await openTransaction(r.harness.port);
    const second = await openTransaction(r.harness.port);
    first.send('RCPT TO:<alice@example.org>');
    await rcptsAtNextHop(r, 1);
    second.send('RCPT TO:<nobody@example.org>');
    await r.harness.log.waitFor((entry) => entry['msg'] === 'command' && entry['line'] === 'RCPT TO:<nobody@example.org>');
    assert.equal(r.probes(), 1, 'the second probe waits for the slot');
    releases[0]?.();
    assert.match((await first.reply()).text, /^250/);
    await rcptsAtNextHop(r, 2);
    assert.equal(r.mta.sessions[0]?.commands.at(-1), 'QUIT', 'the second probe began after the first one ended');
    releases[1]?.();
    assert.match((await second.reply()).text, /^550/);
    first.close();
    second.close();
  });

  it('probes over STARTTLS when the next hop offers it, as delivery would', async () => {
    const certificate = await makeSelfSignedCertificate('next-hop.test');
    const r = await start({ mtaTls: certificate });
    assert.equal((await rcptReply(r.harness.port, 'nobody@example.org')).code, 550);
    assert.equal(r.mta.sessions[0]?.tls, true);
    assert.deepEqual(r.mta.sessions[0]?.commands.slice(0, 3), ['EHLO mx.example.org', 'STARTTLS', 'EHLO mx.example.org']);
  });

  it('answers the waiting RCPTs 450 at once when the verifier closes (shutdown)', async () => {
    const r = await start({ script: { rcpt: () => 'silence' } });
    const client = await openTransaction(r.harness.port);
    client.send('RCPT TO:<alice@example.org>');
    await rcptsAtNextHop(r, 1);
    r.verifier.close();
    assert.match((await client.reply()).text, /^450 4\.1\.1/);
    client.close();
    assert.equal(r.harness.log.messages('recipient verified')[0]?.['detail'], 'shutting down');
  });

  it('keeps pipelined replies in order (RFC 2920)', async () => {
    const r = await start();
    const client = await SmtpTestClient.connect(r.harness.port);
    await client.reply();
    await client.command('EHLO client.example.net');
    client.write('MAIL FROM:<sender@example.net>\r\nRCPT TO:<nobody@example.org>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<ghost@example.org>\r\nDATA\r\n');
    const codes = [];
    for (let index = 0; index < 5; index += 1) codes.push((await client.reply()).code);
    assert.deepEqual(codes, [250, 550, 250, 550, 354]);
    client.close();
  });

  it('probes the MX host found in DNS when the domain has no route', async () => {
    const r = await start({ nextHop: 'mx' });
    assert.equal((await rcptReply(r.harness.port, 'nobody@example.org')).code, 550);
    assert.equal((await rcptReply(r.harness.port, 'alice@example.org')).code, 250);
    assert.equal(r.probes(), 2);
    assert.ok(r.dns.queries.some((query) => query.name === 'example.org' && query.type === 'MX'));
  });

  it('does not probe itself: when the next hop is this host, the recipient is accepted unverified', async () => {
    const r = await start({ nextHop: 'self' });
    assert.match((await rcptReply(r.harness.port, 'nobody@example.org')).text, /^250 2\.1\.5/);
    const logged = r.harness.log.messages('recipient verified')[0];
    assert.equal(logged?.['result'], 'unverifiable');
    assert.match(String(logged?.['detail']), /loops back to myself/);
    assert.equal(r.harness.log.messages('session start').length, 1, 'no session from the prober to ourselves');
  });

  it('accepts unverified when the next hop refuses the null sender (it cannot be asked)', async () => {
    const r = await start({ script: { mail: () => '550 5.7.1 no bounces here' } });
    assert.match((await rcptReply(r.harness.port, 'nobody@example.org')).text, /^250/);
    assert.equal(r.harness.log.messages('recipient verified')[0]?.['result'], 'unverifiable');
  });

  it('never verifies postmaster (RFC 5321 §4.5.1)', async () => {
    const r = await start({ script: { rcpt: () => '550 5.1.1 no such user' } });
    assert.match((await rcptReply(r.harness.port, 'PostMaster@example.org')).text, /^250/);
    assert.equal(r.probes(), 0);
  });

  it('never probes for a client on a trusted network', async () => {
    const r = await start({ harness: { trustedNetworks: ['127.0.0.0/8'] } });
    assert.match((await rcptReply(r.harness.port, 'nobody@example.org')).text, /^250/);
    assert.equal(r.probes(), 0);
  });

  it('never probes for an authenticated client', async () => {
    const certificate = await makeSelfSignedCertificate('mx.example.org');
    const password = 'correct horse battery staple';
    const r = await start({ harness: { tls: certificate, users: { 'app@example.org': password } } });
    const client = await SmtpTestClient.connect(r.harness.port);
    await client.reply();
    await client.command('EHLO client.example.org');
    await client.command('STARTTLS');
    const secure = await client.startTls();
    await secure.command('EHLO client.example.org');
    assert.match((await secure.command(`AUTH PLAIN ${Buffer.from(`\0app@example.org\0${password}`).toString('base64')}`)).text, /^235/);
    assert.match((await secure.command('MAIL FROM:<app@example.org>')).text, /^250/);
    assert.match((await secure.command('RCPT TO:<nobody@example.org>')).text, /^250/);
    secure.close();
    assert.equal(r.probes(), 0);
  });

  it('does not verify recipients in other domains (relayed by authorized clients only)', async () => {
    const r = await start({ harness: { trustedNetworks: ['127.0.0.0/8'] } });
    const client = await openTransaction(r.harness.port, 'app@example.org');
    assert.match((await client.command('RCPT TO:<someone@example.com>')).text, /^250/);
    client.close();
    assert.equal(r.probes(), 0);
  });
});

describe('recipient verification with an allow-list file', () => {
  const list = parseRecipientsText('# who may receive mail\nalice@example.org\nBob@EXAMPLE.ORG   # case kept left of @\n@other.example\n', 'recipients').list;

  it('accepts listed addresses without probing and refuses the rest of a listed domain', async () => {
    const r = await start({ list });
    assert.match((await rcptReply(r.harness.port, 'alice@example.org')).text, /^250/);
    assert.match((await rcptReply(r.harness.port, 'Bob@Example.Org')).text, /^250/);
    assert.equal((await rcptReply(r.harness.port, 'bob@example.org')).text, '550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown in the recipients file');
    assert.match((await rcptReply(r.harness.port, 'ALICE@example.org')).text, /^550 5\.1\.1/);
    assert.match((await rcptReply(r.harness.port, 'anyone@other.example')).text, /^250/);
    assert.equal(r.probes(), 0, 'domains in the file are never probed');
    assert.equal(await verifications(r, 'invalid', 'list'), 2);
  });

  it('still probes the local domains the file does not name', async () => {
    const r = await start({ list });
    assert.match((await rcptReply(r.harness.port, 'carol@third.example')).text, /^250/);
    assert.match((await rcptReply(r.harness.port, 'dave@third.example')).text, /^550 5\.1\.1 .*verified with the next hop/);
    assert.equal(r.probes(), 2);
  });
});
