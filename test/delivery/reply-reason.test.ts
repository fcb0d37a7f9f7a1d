// The reason `outpost queue why` gives for a stored attempt (reply + enhanced status + MX).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reasonOfReply, type ReasonCode, type StoredReply } from '../../src/delivery/reply-reason.js';

const MX = 'mx.example.net';

const TABLE: ReadonlyArray<readonly [string, StoredReply, ReasonCode, RegExp]> = [
  ['a 250 is delivered', { reply: '250 2.0.0 ok', status: '2.0.0', mx: MX }, 'delivered', /^delivered$/],
  ['451 4.7.1 greylisting text', { reply: '451 4.7.1 Greylisted, please try again later', status: '4.7.1', mx: MX }, 'greylisting', /greylists new senders \(4\.7\.1\)/],
  ['450 4.7.1 without words is greylisting', { reply: '450 4.7.1 <b@example.net>: Recipient address rejected', status: '4.7.1', mx: MX }, 'greylisting', /mx\.example\.net greylists/],
  ['450 greylisted without enhanced status', { reply: '450 greylisted, come back later', mx: MX }, 'greylisting', /greylists/],
  ['Gmail 421 4.7.28 is provider throttling', { reply: '421 4.7.28 Our system has detected an unusual rate of unsolicited mail', status: '4.7.28', mx: MX }, 'provider-throttling', /slow down \(rate-limited, 4\.7\.28\)/],
  ['Microsoft 451 4.7.650 is provider throttling', { reply: '451 4.7.650 The mail server has been temporarily rate limited due to IP reputation', status: '4.7.650', mx: MX }, 'provider-throttling', /ip-reputation/],
  ['Yahoo 421 4.7.0 [TS01]', { reply: '421 4.7.0 [TS01] Messages from 192.0.2.1 temporarily deferred', status: '4.7.0', mx: MX }, 'provider-throttling', /slow down/],
  ['452 4.2.2 mailbox full is quota', { reply: '452 4.2.2 Mailbox full', status: '4.2.2', mx: MX }, 'quota', /quota or out of storage \(4\.2\.2\)/],
  ['451 over quota text is quota', { reply: '451 4.3.0 user is over quota', status: '4.3.0', mx: MX }, 'quota', /quota/],
  ['552 5.2.2 is a permanent quota failure', { reply: '552 5.2.2 mailbox full', status: '5.2.2', mx: MX }, 'quota', /refused for good: the mailbox is full/],
  ['local 451 4.7.5 is TLS policy', { reply: '451 4.7.5 example.net: no MX host (mx.example.net) matches its MTA-STS policy', status: '4.7.5' }, 'tls-policy', /MTA-STS, DANE or delivery\.tlsPolicy/],
  ['remote 454 4.7.5 is TLS policy', { reply: '454 4.7.5 TLS not available', status: '4.7.5', mx: MX }, 'tls-policy', /never falls back to plaintext/],
  ['local 451 4.4.3 is a DNS temporary failure', { reply: '451 4.4.3 example.net: DNS lookup failed', status: '4.4.3' }, 'dns-temporary', /DNS lookup/],
  ['local 451 4.4.1 is unreachable', { reply: '451 4.4.1 connection refused by mx.example.net[192.0.2.25]', status: '4.4.1' }, 'unreachable', /refused or timed out/],
  ['local 451 4.4.2 is a lost connection', { reply: '451 4.4.2 lost connection with mx.example.net[192.0.2.25] at DATA', status: '4.4.2' }, 'connection-lost', /lost or timed out/],
  ['local 451 4.3.2 is shutdown', { reply: '451 4.3.2 delivery interrupted: shutting down', status: '4.3.2' }, 'shutdown', /shutting down/],
  ['4.4.7 is expiry', { reply: '4.4.7 delivery time expired', status: '4.4.7' }, 'expired', /maxQueueLifetime/],
  ['operator bounce is cancelled', { reply: '5.0.0 delivery cancelled by the operator', status: '5.0.0' }, 'cancelled', /queue bounce/],
  ['remote 550 5.1.1 is a remote permanent failure', { reply: '550 5.1.1 no such user', status: '5.1.1', mx: MX }, 'remote-permanent', /refused the recipient for good \(5\.1\.1\)/],
  ['local 556 5.1.10 null MX is permanent', { reply: '556 5.1.10 example.net: null MX', status: '5.1.10' }, 'permanent', /gave up/],
  ['other remote 451 4.3.0 is a remote deferral', { reply: '451 4.3.0 temporary local problem', status: '4.3.0', mx: MX }, 'remote-temporary', /deferred the recipient \(4\.3\.0\)/],
  ['status read from the reply when the record has none', { reply: '451 4.4.3 example.net: no MX host has an address' }, 'dns-temporary', /DNS/],
];

for (const [name, stored, reason, explanation] of TABLE) {
  test(`reason of a stored reply: ${name}`, () => {
    const result = reasonOfReply(stored);
    assert.equal(result.reason, reason);
    assert.match(result.explanation, explanation);
  });
}
