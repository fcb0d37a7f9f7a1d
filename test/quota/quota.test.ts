// Sender quotas over a real listener: messages per sliding hour / day for a
// trusted client address and for an AUTH user, counted once per queued message,
// refused at MAIL with 450 4.7.1 and a retry time, windows moved by the manual clock.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from '../../src/observability/prometheus.js';
import { sendingParts } from '../../src/sending-setup.js';
import { swaks } from '../helpers/e2e-clients.js';
import { startHarness, type Harness, type HarnessOptions } from '../helpers/relay-harness.js';
import { SmtpTestClient } from '../helpers/smtp-client.js';
import { makeSelfSignedCertificate } from '../helpers/tls-cert.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const USERS = { 'app@example.org': 'correct horse battery staple' };

async function startQuotaHarness(perHour: number, perDay: number, options: HarnessOptions): Promise<{ harness: Harness; registry: Registry }> {
  const registry = new Registry();
  const harness = await startHarness({
    ...options,
    guards: ({ spoolDir, clock, logger }) =>
      sendingParts(
        { spoolDir, suppression: { enabled: false, after: 1, ttlMs: HOUR_MS }, quotas: { perHour, perDay } },
        { clock, logger, registry, isLocalDomain: (domain) => domain === 'example.org' },
      ).guards,
  });
  return { harness, registry };
}

interface Sending {
  readonly from: string;
  readonly to: readonly string[];
  readonly localAddress?: string;
  /** AUTH PLAIN as this user after STARTTLS. */
  readonly user?: string;
}

/** One transaction; resolves with the MAIL reply (the message is sent and queued when it is 250). */
async function send(harness: Harness, sending: Sending): Promise<string> {
  let client = await SmtpTestClient.connect(harness.port, sending.localAddress);
  await client.reply();
  await client.command('EHLO app.example.org');
  if (sending.user !== undefined) {
    assert.match((await client.command('STARTTLS')).text, /^220/);
    client = await client.startTls();
    await client.command('EHLO app.example.org');
    const password = USERS[sending.user as keyof typeof USERS];
    assert.match((await client.command(`AUTH PLAIN ${Buffer.from(`\0${sending.user}\0${password}`).toString('base64')}`)).text, /^235/);
  }
  const mail = (await client.command(`MAIL FROM:<${sending.from}>`)).text;
  if (mail.startsWith('250')) {
    for (const rcpt of sending.to) assert.match((await client.command(`RCPT TO:<${rcpt}>`)).text, /^250/);
    assert.equal((await client.command('DATA')).code, 354);
    assert.match((await client.command('Subject: quota\r\n\r\nhello\r\n.')).text, /^250 2\.0\.0 Ok: queued as/);
  }
  await client.command('QUIT');
  client.close();
  return mail;
}

describe('quota per hour for trusted client addresses', () => {
  let harness: Harness;
  let registry: Registry;
  const trusted = { from: 'app@example.org', to: ['someone@remote.test'] };
  before(async () => {
    ({ harness, registry } = await startQuotaHarness(3, 0, { trustedNetworks: ['127.0.0.1/32', '127.0.0.3/32'] }));
  });
  after(async () => {
    await harness.close();
  });

  it('counts a message once whatever its recipients, refuses MAIL beyond the quota with 450 4.7.1 and the time a slot frees', async () => {
    assert.match(await send(harness, { ...trusted, to: ['a@remote.test', 'b@remote.test', 'c@remote.test'] }), /^250/); // 10:00
    harness.clock.advance(30 * MINUTE_MS);
    assert.match(await send(harness, trusted), /^250/); // 10:30
    harness.clock.advance(10 * MINUTE_MS);
    assert.match(await send(harness, trusted), /^250/); // 10:40
    assert.equal(
      await send(harness, trusted),
      '450 4.7.1 Sender quota reached: quota of 3 messages per hour for client address 127.0.0.1 reached, try again after 11:00 UTC',
    );
    const logged = harness.log.messages('sender quota reached')[0];
    assert.equal(logged?.['client'], '127.0.0.1');
    assert.equal(logged?.['kind'], 'hour');
    assert.match(await registry.render(), /^outpost_quota_refusals_total\{kind="hour"\} 1$/m);
  });

  it('counts each trusted address apart', async () => {
    assert.match(await send(harness, { ...trusted, localAddress: '127.0.0.3' }), /^250/);
  });

  it('is refused for swaks too (an independent client)', async () => {
    const result = await swaks(['--server', '127.0.0.1', '--port', String(harness.port), '--from', 'app@example.org', '--to', 'someone@remote.test', '--helo', 'app.example.org']);
    assert.equal(result.ok, false, result.output);
    assert.match(result.output, /<\*\* 450 4\.7\.1 Sender quota reached: quota of 3 messages per hour for client address 127\.0\.0\.1 reached, try again after 11:00 UTC/);
  });

  it('slides: the oldest minute leaves the window an hour later', async () => {
    harness.clock.advance(20 * MINUTE_MS - 1); // 10:59:59.999
    assert.match(await send(harness, trusted), /^450 4\.7\.1/);
    harness.clock.advance(1); // 11:00: the 10:00 message left the hour
    assert.match(await send(harness, trusted), /^250/);
    assert.equal(await send(harness, trusted), '450 4.7.1 Sender quota reached: quota of 3 messages per hour for client address 127.0.0.1 reached, try again after 11:30 UTC');
  });

  it('leaves unauthenticated clients outside trustedNetworks alone (mail for the local domains)', async () => {
    for (let message = 0; message < 5; message += 1) {
      assert.match(await send(harness, { from: 'someone@remote.test', to: ['app@example.org'], localAddress: '127.0.0.2' }), /^250/);
    }
  });
});

describe('quota per day for an AUTH user', () => {
  let harness: Harness;
  let registry: Registry;
  const user = { user: 'app@example.org', from: 'app@example.org', to: ['someone@remote.test'] };
  before(async () => {
    const certificate = await makeSelfSignedCertificate('mx.example.org');
    ({ harness, registry } = await startQuotaHarness(0, 2, { mode: 'submission', tls: certificate, users: USERS, trustedNetworks: ['192.0.2.0/24'] }));
  });
  after(async () => {
    await harness.close();
  });

  it('counts the user from any client address and refuses the day\'s extra message until its oldest hour has left the day', async () => {
    assert.match(await send(harness, user), /^250/); // 10:00 from 127.0.0.1
    harness.clock.advance(5 * HOUR_MS);
    assert.match(await send(harness, { ...user, localAddress: '127.0.0.2' }), /^250/); // 15:00
    harness.clock.advance(HOUR_MS);
    assert.equal(
      await send(harness, { ...user, localAddress: '127.0.0.3' }),
      '450 4.7.1 Sender quota reached: quota of 2 messages per day for user app@example.org reached, try again after 10:00 UTC on 2026-11-27',
    );
    assert.match(await registry.render(), /^outpost_quota_refusals_total\{kind="day"\} 1$/m);
    harness.clock.advance(18 * HOUR_MS - 1); // 2026-11-27 09:59:59.999
    assert.match(await send(harness, user), /^450 4\.7\.1/);
    harness.clock.advance(1);
    assert.match(await send(harness, user), /^250/);
  });
});
