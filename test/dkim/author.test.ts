// The author domain a signature is made for: one From field with one mailbox
// (RFC 5322 §3.4, §3.6.2; RFC 6532; RFC 2047), domain in canonical A-label form.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorDomain } from '../../src/dkim/author.js';
import { MessageSplitter, type HeaderField } from '../../src/dkim/message-splitter.js';

function headersOf(header: string): readonly HeaderField[] {
  const splitter = new MessageSplitter();
  splitter.push(Buffer.from(`${header}\r\n\r\n`, 'utf8'));
  return splitter.headers ?? [];
}

const GOOD: ReadonlyArray<readonly [string, string]> = [
  ['From: a@example.org', 'example.org'],
  ['From: A.B@EXAMPLE.Org', 'example.org'],
  ['from:a@example.org.', 'example.org'],
  ['From: Alice <alice@example.org>', 'example.org'],
  ['From: "Smith, Alice" <alice@example.org>', 'example.org'],
  ['From: "a@evil.example <x@evil.example>" <alice@example.org>', 'example.org'],
  ['From: "quoted \\" pair" <alice@example.org>', 'example.org'],
  ['From: alice@example.org (Alice, <comment@evil.example>)', 'example.org'],
  ['From: (comment (nested)) Alice <alice@(inside)example.org>', 'example.org'],
  ['From: Alice\r\n <alice@example.org>', 'example.org'],
  ['From:\r\n\talice@\r\n example.org', 'example.org'],
  ['From: =?utf-8?q?Smith=2C_Alice?= <alice@example.org>', 'example.org'],
  ['From: =?UTF-8?B?QGV2aWwsIDx4QGV2aWwuZXhhbXBsZT4=?= <alice@example.org>', 'example.org'],
  ['From: =?utf-8?q?a,b@evil.example?= <alice@example.org>', 'example.org'],
  ['From: Jörg Müller <jörg@bücher.example>', 'xn--bcher-kva.example'],
  ['From: "Ünïcödé" <u@xn--bcher-kva.example>', 'xn--bcher-kva.example'],
  ['From: "local@part"@example.org', 'example.org'],
  ['From: sloppy@name.example <alice@example.org>', 'example.org'],
  ['From: <@relay.example:alice@example.org>', 'example.org'],
  ['From: alice@example.org,', 'example.org'],
];

test('finds the author domain of good From fields', () => {
  for (const [header, domain] of GOOD) assert.deepEqual(authorDomain(headersOf(header)), { ok: true, domain }, JSON.stringify(header));
});

const UNUSABLE: ReadonlyArray<readonly [string, RegExp]> = [
  ['Subject: no from', /no From/],
  ['From: a@example.org\r\nFrom: b@example.org', /2 From header fields/],
  ['From: a@example.org, b@example.net', /2 mailboxes/],
  ['From: Alice <a@example.org>, Bob <b@example.org>', /2 mailboxes/],
  ['From: Friends: a@example.org, b@example.org;', /group/],
  ['From: undisclosed-recipients:;', /group/],
  ['From:', /no mailbox/],
  ['From: (only a comment)', /no mailbox/],
  ['From: alice', /no domain/],
  ['From: <>', /no domain/],
  ['From: a@b@example.org', /several @/],
  ['From: @example.org', /local part/],
  ['From: a@[192.0.2.1]', /domain literal/],
  ['From: a@exa_mple.org', /not a valid domain/],
  ['From: a@-bad.example', /not a valid domain/],
  ['From: Alice <a@example.org', /angle address/],
  ['From: Alice <a@example.org> trailing', /angle address/],
  ['From: "unterminated <a@example.org>', /unterminated quoted/],
  ['From: (unterminated a@example.org', /unterminated comment/],
];

test('refuses From fields that do not name exactly one author domain', () => {
  for (const [header, reason] of UNUSABLE) {
    const outcome = authorDomain(headersOf(header));
    assert.equal(outcome.ok, false, JSON.stringify(header));
    if (!outcome.ok) assert.match(outcome.reason, reason, JSON.stringify(header));
  }
});

test('field names match in any case; other fields are ignored', () => {
  assert.deepEqual(authorDomain(headersOf('Sender: s@other.example\r\nFROM: a@Example.org\r\nReply-To: r@x.example')), { ok: true, domain: 'example.org' });
});
