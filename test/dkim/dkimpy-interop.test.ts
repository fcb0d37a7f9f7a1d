// Our signatures verified by dkimpy, an independent implementation: RSA, Ed25519
// and dual-signed messages (RFC 6376, RFC 8463) with 8-bit and UTF-8 headers, folding,
// dots and multi-MB bodies streamed in odd chunks; tampering must break them.

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPem, parsePrivateKey, type DkimKey } from '../../src/dkim/keys.js';
import { MessageSplitter } from '../../src/dkim/message-splitter.js';
import { dkimRecord } from '../../src/dkim/record.js';
import { dkimSignatureFields } from '../../src/dkim/sign.js';
import { dkimpySkip, verifyWithDkimpy } from './dkimpy.js';

const DOMAIN = 'example.org';
const TIMESTAMP_SECONDS = 1_738_000_000;

function makeKey(algorithm: 'rsa' | 'ed25519', selector: string): DkimKey {
  const parsed = parsePrivateKey(generateKeyPem(algorithm));
  assert.ok(parsed.ok);
  return { ...parsed, domain: DOMAIN, selector, file: `/keys/${DOMAIN}/${selector}.pem`, createdMs: 0 };
}

/** Splits `message` in chunks of `chunkBytes` (cycling through the sizes), signs it, and returns the fields followed by the message. */
function signed(message: Buffer, keys: readonly DkimKey[], chunkBytes: readonly number[] = [message.length || 1]): { fields: string[]; message: Buffer } {
  const splitter = new MessageSplitter();
  for (let offset = 0, turn = 0; offset < message.length; offset += chunkBytes[turn++ % chunkBytes.length] ?? 1) {
    splitter.push(message.subarray(offset, offset + (chunkBytes[turn % chunkBytes.length] ?? 1)));
  }
  const headers = splitter.headers;
  assert.ok(headers !== undefined);
  const fields = dkimSignatureFields({ headers, bodyHash: splitter.bodyHash(), domain: DOMAIN, keys, timestampSeconds: TIMESTAMP_SECONDS });
  return { fields, message: Buffer.concat([Buffer.from(fields.join(''), 'latin1'), message]) };
}

function recordsOf(keys: readonly DkimKey[]): Record<string, string> {
  return Object.fromEntries(keys.map((key) => [`${dkimRecord(key).name}.`, dkimRecord(key).strings.join('')]));
}

const plain = Buffer.from(
  'Received: from app.example.org by mx.example.org; Tue, 28 Jan 2025 10:00:00 +0000\r\n' +
    'From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: plain check\r\n' +
    'Date: Tue, 28 Jan 2025 10:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n\r\nHello Bob,\r\n\r\nbye\r\n',
);

const eightBit = Buffer.concat([
  Buffer.from(
    'from: =?utf-8?q?J=C3=B6rg?= <joerg@example.org>\r\n' +
      'To: "Zoë Ünïcödé" <zoe@example.net>,\r\n\t  "Other,  Person" <other@example.net>\r\n' +
      'sUbJeCt:   Grüße  \t aus   Köln  \r\n   und\tder  Welt   \r\n' +
      'X-Latin1: caf',
    'utf8',
  ),
  Buffer.from([0xe9, 0x20, 0x20, 0x09]),
  Buffer.from(
    '\r\nReferences: <a@x>\r\nReferences:\r\n <b@x>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n' +
      'Content-Transfer-Encoding: 8bit\r\n\r\n' +
      '.leading dot\r\n..two dots\r\n.\r\nmitten   im  Text \t\r\n  eingerückt\r\n\r\n\r\n\r\n',
    'utf8',
  ),
]);

function severalMegabytes(): Buffer {
  const lines: string[] = ['From: bulk@example.org', 'To: list@example.net', 'Subject: big', '', ''];
  for (let index = 0; lines.length < 90_000; index++) lines.push(`${index % 50 === 0 ? '.' : ''}line ${index} ${'payload  data\t'.repeat(index % 6)}${' '.repeat(index % 3)}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n\r\n`, 'utf8');
}

function replaceOnce(message: Buffer, from: string, to: string): Buffer {
  const text = message.toString('latin1');
  assert.ok(text.includes(from), `message contains ${from}`);
  return Buffer.from(text.replace(from, to), 'latin1');
}

describe('dkimpy verifies our signatures', { skip: dkimpySkip() }, () => {
  let rsa: DkimKey;
  let ed: DkimKey;
  let records: Record<string, string>;

  before(() => {
    rsa = makeKey('rsa', 'rsa-20250128');
    ed = makeKey('ed25519', 'ed-20250128');
    records = recordsOf([rsa, ed]);
  });

  it('an RSA signature of a plain ASCII message, looked up at <selector>._domainkey.<domain>.', async () => {
    const result = await verifyWithDkimpy(signed(plain, [rsa]).message, records);
    assert.deepEqual(result.verdicts, [{ valid: true, error: null }]);
    assert.equal(result.asked[0], 'rsa-20250128._domainkey.example.org.');
    assert.equal(result.whole, true);
  });

  it('an Ed25519 signature (RFC 8463)', async () => {
    const result = await verifyWithDkimpy(signed(plain, [ed]).message, records);
    assert.deepEqual(result.verdicts, [{ valid: true, error: null }]);
  });

  it('dual-signed RSA + Ed25519: each signature verifies on its own', async () => {
    const { fields, message } = signed(plain, [rsa, ed]);
    assert.equal(fields.length, 2);
    assert.match(fields[0] ?? '', /a=rsa-sha256/);
    assert.match(fields[1] ?? '', /a=ed25519-sha256/);
    const result = await verifyWithDkimpy(message, records);
    assert.deepEqual(result.verdicts, [{ valid: true, error: null }, { valid: true, error: null }]);
    assert.deepEqual(result.asked, ['rsa-20250128._domainkey.example.org.', 'ed-20250128._domainkey.example.org.', 'rsa-20250128._domainkey.example.org.']);
  });

  it('8-bit and UTF-8 headers, odd name case, folding, WSP runs, dots and trailing blank lines; any chunking', async () => {
    for (const chunks of [[eightBit.length], [1], [3, 7, 2], [64, 5]]) {
      const result = await verifyWithDkimpy(signed(eightBit, [rsa, ed], chunks).message, records);
      assert.deepEqual(result.verdicts, [{ valid: true, error: null }, { valid: true, error: null }], `chunks ${chunks.join(',')}`);
    }
  });

  it('a several-MB body fed in odd chunk sizes', async () => {
    const big = severalMegabytes();
    assert.ok(big.length > 3_000_000);
    const result = await verifyWithDkimpy(signed(big, [rsa, ed], [65_521, 1, 4093, 17, 8191]).message, records);
    assert.deepEqual(result.verdicts, [{ valid: true, error: null }, { valid: true, error: null }]);
  });

  it('the emitted fields are folded: every line within 78 characters, continuation lines start with WSP', () => {
    for (const field of signed(eightBit, [rsa, ed]).fields) {
      assert.ok(field.endsWith('\r\n'));
      const lines = field.slice(0, -2).split('\r\n');
      for (const [index, line] of lines.entries()) {
        assert.ok(line.length <= 78, `line ${index} has ${line.length} characters`);
        if (index > 0) assert.match(line, /^[ \t]/);
      }
      const unfolded = field.replace(/\r\n[ \t]/g, ' ');
      assert.match(unfolded, /^DKIM-Signature: v=1; a=(rsa|ed25519)-sha256; c=relaxed\/relaxed; d=example\.org; s=[a-z0-9-]+; t=1738000000; h=From:From:/);
      assert.doesNotMatch(unfolded, /[; ]l=/);
    }
  });

  describe('tampering breaks every signature', () => {
    const cases: ReadonlyArray<readonly [string, (message: Buffer) => Buffer]> = [
      ['a changed Subject', (message) => replaceOnce(message, 'Subject: plain check', 'Subject: plain cheque')],
      ['an added From (over-signed)', (message) => replaceOnce(message, 'From: Alice', 'From: mallory@evil.example\r\nFrom: Alice')],
      ['an added Subject above the original (over-signed)', (message) => replaceOnce(message, 'From: Alice', 'Subject: urgent\r\nFrom: Alice')],
      ['an added Reply-To that was absent (over-signed once)', (message) => replaceOnce(message, 'To: bob', 'Reply-To: mallory@evil.example\r\nTo: bob')],
      ['a changed body', (message) => replaceOnce(message, 'Hello Bob', 'Hello Rob')],
      ['an appended body line', (message) => Buffer.concat([message, Buffer.from('P.S. send money\r\n')])],
    ];
    for (const [name, tamper] of cases) {
      it(name, async () => {
        const { message } = signed(plain, [rsa, ed]);
        const result = await verifyWithDkimpy(tamper(message), records);
        assert.deepEqual(result.verdicts.map((verdict) => verdict.valid), [false, false], JSON.stringify(result.verdicts));
      });
    }

    it('changes dkimpy ignores stay valid: a new Received on top, re-folded white space', async () => {
      const { message } = signed(plain, [rsa, ed]);
      const changed = Buffer.concat([Buffer.from('Received: from relay.example.net\r\n'), replaceOnce(message, 'Subject: plain check', 'Subject:   plain\r\n  check  ')]);
      const result = await verifyWithDkimpy(changed, records);
      assert.deepEqual(result.verdicts.map((verdict) => verdict.valid), [true, true]);
    });
  });
});
