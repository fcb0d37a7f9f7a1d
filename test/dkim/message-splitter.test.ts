// Splitting stored messages into header fields and body as chunks arrive, and the
// relaxed header canonicalization and h= selection the signature is built on (RFC 6376 §3.4.2, §5.4).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { relaxedHeader, selectSignedFields } from '../../src/dkim/header-canon.js';
import { MessageSplitter, type HeaderField } from '../../src/dkim/message-splitter.js';
import { signedHeaderNames } from '../../src/dkim/sign.js';

function split(message: Buffer, chunkBytes = message.length, options: { maxHeaderBytes?: number } = {}): { headers: readonly HeaderField[] | undefined; bodyHash: string } {
  const splitter = new MessageSplitter(options);
  for (let offset = 0; offset < message.length; offset += chunkBytes) splitter.push(message.subarray(offset, offset + chunkBytes));
  return { headers: splitter.headers, bodyHash: splitter.bodyHash().toString('base64') };
}

const relaxedBodyHash = (canonical: string): string => createHash('sha256').update(canonical, 'latin1').digest('base64');

test('collects header fields with their continuation lines and hashes the body after the empty line', () => {
  const message = Buffer.from('From: a@example.org\r\nSubject: one\r\n\ttwo\r\n  three\r\nTo: b@example.net\r\n\r\nHello  \r\n\r\n');
  const { headers, bodyHash } = split(message);
  assert.deepEqual(
    headers?.map((field) => [field.name, field.raw]),
    [
      ['From', 'From: a@example.org'],
      ['Subject', 'Subject: one\r\n\ttwo\r\n  three'],
      ['To', 'To: b@example.net'],
    ],
  );
  assert.equal(bodyHash, relaxedBodyHash('Hello\r\n'));
});

test('the same fields and body hash wherever the chunks end (CRLF CRLF straddling chunks)', () => {
  const message = Buffer.from('From: a@example.org\r\nX-Long: v\r\n w\r\n\r\n\r\nbody\r\n line\r\n');
  const whole = split(message);
  for (let size = 1; size <= message.length; size++) assert.deepEqual(split(message, size), whole, `chunks of ${size}`);
  assert.equal(whole.bodyHash, relaxedBodyHash('\r\nbody\r\n line\r\n'));
});

test('a message without an empty line is all header and has an empty body', () => {
  const { headers, bodyHash } = split(Buffer.from('From: a@example.org\r\nSubject: x\r\n'));
  assert.deepEqual(headers?.map((field) => field.name), ['From', 'Subject']);
  assert.equal(bodyHash, relaxedBodyHash(''));
});

test('a message starting with the empty line has no header fields', () => {
  const { headers, bodyHash } = split(Buffer.from('\r\nbody\r\n'));
  assert.deepEqual(headers, []);
  assert.equal(bodyHash, relaxedBodyHash('body\r\n'));
});

test('keeps the exact octets of 8-bit headers and decodes raw as UTF-8', () => {
  const octets = Buffer.concat([Buffer.from('Subject: caf'), Buffer.from([0xe9]), Buffer.from(' \xc3\xa9t\xc3\xa9', 'latin1'), Buffer.from('\r\n\r\n')]);
  const [field] = split(octets, 3).headers ?? [];
  assert.deepEqual(field?.octets, octets.subarray(0, octets.length - 4));
  assert.equal(field?.raw, 'Subject: caf\ufffd été');
});

test('a header larger than the cap is not kept (undefined: do not sign) but the body still hashes', () => {
  const message = Buffer.from(`From: a@example.org\r\nX-Big: ${'x'.repeat(200)}\r\n\r\nbody\r\n`);
  const { headers, bodyHash } = split(message, 7, { maxHeaderBytes: 100 });
  assert.equal(headers, undefined);
  assert.equal(bodyHash, relaxedBodyHash('body\r\n'));
  assert.notEqual(split(message, 7, { maxHeaderBytes: 300 }).headers, undefined);
});

test('wantsBody is told the complete header fields once, where the header ends, whatever the chunk sizes', () => {
  const message = Buffer.from('From: a@example.org\r\nSubject: one\r\n\ttwo\r\n\r\nbody  line\r\n\r\n');
  for (let size = 1; size <= message.length; size++) {
    const told: (readonly string[] | undefined)[] = [];
    const splitter = new MessageSplitter({ wantsBody: (headers) => (told.push(headers?.map((field) => field.raw)), true) });
    for (let offset = 0; offset < message.length; offset += size) splitter.push(message.subarray(offset, offset + size));
    assert.deepEqual(told, [['From: a@example.org', 'Subject: one\r\n\ttwo']], `chunks of ${size}`);
    assert.equal(splitter.bodyHashSkipped, false);
    assert.equal(splitter.bodyHash().toString('base64'), relaxedBodyHash('body line\r\n'), `chunks of ${size}`);
  }
});

test('a body that wantsBody declines is not hashed: bodyHashSkipped, and bodyHash() refuses', () => {
  const message = Buffer.from('From: a@example.org\r\n\r\nbody\r\n');
  const splitter = new MessageSplitter({ wantsBody: () => false });
  for (let offset = 0; offset < message.length; offset += 5) splitter.push(message.subarray(offset, offset + 5));
  assert.equal(splitter.bodyHashSkipped, true);
  assert.deepEqual(splitter.headers?.map((field) => field.name), ['From']);
  assert.throws(() => splitter.bodyHash(), /declined/);
});

test('wantsBody is never asked for a message without an empty line (all header, empty body)', () => {
  let asked = 0;
  const splitter = new MessageSplitter({ wantsBody: () => (asked++, false) });
  splitter.push(Buffer.from('From: a@example.org\r\nSubject: x'));
  assert.equal(asked, 0);
  assert.equal(splitter.bodyHash().toString('base64'), relaxedBodyHash(''));
});

const RELAXED_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['Subject: hello', 'subject:hello'],
  ['SUBJECT:hello', 'subject:hello'],
  ['Subject \t:  \t hello  world \t ', 'subject:hello world'],
  ['Subject: one\r\n\ttwo\r\n   three ', 'subject:one two three'],
  ['Subject:\r\n folded-first', 'subject:folded-first'],
  ['Subject:', 'subject:'],
  ['X-Empty:   \t ', 'x-empty:'],
  ['Subject: Caf\xc3\xa9  \xe9\t\xe9', 'subject:Caf\xc3\xa9 \xe9 \xe9'],
];

test('relaxed header canonicalization table (RFC 6376 §3.4.2), 8-bit octets unchanged', () => {
  for (const [raw, canonical] of RELAXED_HEADERS) {
    assert.equal(relaxedHeader(Buffer.from(raw, 'latin1')).toString('latin1'), canonical, JSON.stringify(raw));
  }
});

test('name case is folded for ASCII letters only, never for 8-bit octets', () => {
  assert.deepEqual(relaxedHeader(Buffer.from('X-\xc9T\xc9: V', 'latin1')), Buffer.from('x-\xc9t\xc9:V', 'latin1'));
});

const field = (raw: string): HeaderField => ({ name: raw.slice(0, raw.indexOf(':')).trim(), raw });

test('h= names every signed field as often as present and over-signs the listed ones once more', () => {
  const headers = ['Received: x', 'From: a@example.org', 'to: b@example.net', 'To: c@example.net', 'Subject: s', 'X-Mailer: m', 'List-Id: <l.example.org>', 'DKIM-Signature: old', 'Return-Path: <a@example.org>', 'References: <1@x>', 'References: <2@x>'].map(field);
  assert.deepEqual(signedHeaderNames(headers), [
    'From', 'From', 'Reply-To', 'Subject', 'Subject', 'Date', 'To', 'To', 'To', 'Cc',
    'References', 'References', 'List-Id', 'List-Unsubscribe', 'List-Unsubscribe-Post',
    'Message-ID', 'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding', 'Sender',
  ]);
});

test('h= never names Received, Return-Path or DKIM-Signature', () => {
  const names = signedHeaderNames(['Received: a', 'Return-Path: <>', 'DKIM-Signature: x', 'From: a@b.example'].map(field)).map((name) => name.toLowerCase());
  for (const never of ['received', 'return-path', 'dkim-signature']) assert.ok(!names.includes(never), never);
});

test('selects instances bottom-up; an over-signed name past the last instance selects nothing (RFC 6376 §5.4.2)', () => {
  const headers = ['To: first', 'Subject: s', 'TO: second', 'to: third'].map(field);
  const selected = selectSignedFields(headers, ['To', 'subject', 'To', 'To', 'To', 'Cc']);
  assert.deepEqual(selected.map((chosen) => chosen?.raw), ['to: third', 'Subject: s', 'TO: second', 'To: first', undefined, undefined]);
});
