// The relay rule end to end over SMTP (INTERFACE.md): who may send to local
// and foreign domains on an `mta` listener, and the anti-spoofing rule.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SmtpTestClient } from '../helpers/smtp-client.js';
import { startHarness, type Harness } from '../helpers/relay-harness.js';

let trustedHarness: Harness;
let untrustedHarness: Harness;
before(async () => {
  trustedHarness = await startHarness({ trustedNetworks: ['127.0.0.0/8'] });
  untrustedHarness = await startHarness({ trustedNetworks: ['192.0.2.0/24'] });
});
after(async () => {
  await trustedHarness.close();
  await untrustedHarness.close();
});

async function attempt(h: Harness, from: string, to: string): Promise<string> {
  const client = await SmtpTestClient.connect(h.port);
  await client.reply();
  await client.command('EHLO client.example.net');
  const mail = await client.command(`MAIL FROM:${from}`);
  if (mail.code !== 250) {
    client.close();
    return `MAIL ${mail.text}`;
  }
  const rcpt = await client.command(`RCPT TO:${to}`);
  client.close();
  return `RCPT ${rcpt.text}`;
}

describe('mta listener, trusted client', () => {
  const cases: [string, string, RegExp][] = [
    ['<app@example.org>', '<someone@example.net>', /^RCPT 250 2\.1\.5/],
    ['<app@EXAMPLE.ORG>', '<someone@example.net>', /^RCPT 250 2\.1\.5/],
    ['<>', '<someone@example.net>', /^RCPT 250 2\.1\.5/],
    ['<app@example.com>', '<someone@example.net>', /^RCPT 554 5\.7\.1/],
    ['<app@example.com>', '<someone@example.org>', /^RCPT 250 2\.1\.5/],
    ['<app@example.org>', '<@example.org:someone@example.net>', /^RCPT 250 2\.1\.5/],
  ];
  for (const [from, to, expected] of cases) {
    it(`MAIL FROM:${from} RCPT TO:${to} -> ${expected.source}`, async () => {
      assert.match(await attempt(trustedHarness, from, to), expected);
    });
  }
});

describe('mta listener, untrusted client', () => {
  const cases: [string, string, RegExp][] = [
    ['<someone@example.net>', '<app@example.org>', /^RCPT 250 2\.1\.5/],
    ['<>', '<app@example.org>', /^RCPT 250 2\.1\.5/],
    ['<someone@example.net>', '<other@example.com>', /^RCPT 554 5\.7\.1/],
    ['<>', '<other@example.com>', /^RCPT 554 5\.7\.1/],
    ['<app@example.org>', '<other@example.com>', /^MAIL 550 5\.7\.1/],
    ['<app@example.org>', '<colleague@example.org>', /^MAIL 550 5\.7\.1/],
    // routing tricks are judged on the final address only
    ['<someone@example.net>', '<@example.org:victim@example.com>', /^RCPT 554 5\.7\.1/],
    ['<someone@example.net>', '<victim%example.com@example.org>', /^RCPT 250 2\.1\.5/],
    ['<someone@example.net>', '<"victim@example.com"@example.org>', /^RCPT 250 2\.1\.5/],
    ['<someone@example.net>', '<example.com!victim@example.org>', /^RCPT 250 2\.1\.5/],
    ['<someone@example.net>', '<victim@[127.0.0.1]>', /^RCPT 554 5\.7\.1/],
    ['<someone@example.net>', '<victim@example.org.example.com>', /^RCPT 554 5\.7\.1/],
  ];
  for (const [from, to, expected] of cases) {
    it(`MAIL FROM:${from} RCPT TO:${to} -> ${expected.source}`, async () => {
      assert.match(await attempt(untrustedHarness, from, to), expected);
    });
  }

  it('stays untrusted after XCLIENT / XFORWARD / PROXY attempts', async () => {
    const client = await SmtpTestClient.connect(untrustedHarness.port);
    await client.reply();
    assert.equal((await client.command('PROXY TCP4 192.0.2.7 127.0.0.1 4000 25')).code, 500);
    await client.command('EHLO c');
    assert.equal((await client.command('XCLIENT ADDR=192.0.2.7')).code, 500);
    assert.equal((await client.command('XFORWARD ADDR=192.0.2.7')).code, 500);
    await client.command('MAIL FROM:<someone@example.net>');
    assert.match((await client.command('RCPT TO:<x@example.com>')).text, /^554 5\.7\.1/);
    client.close();
  });
});
