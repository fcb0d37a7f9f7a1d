// DKIM key records (RFC 6376 §3.6.1, RFC 8463 §4.2): the TXT record printed for a key,
// split into 255-octet character-strings, and the parse of published records.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPem, parsePrivateKey } from '../../src/dkim/keys.js';
import { dkimRecord, parseDkimRecord } from '../../src/dkim/record.js';

function keyFor(algorithm: 'rsa' | 'ed25519', bits?: number): { publicKeyBase64: string; algorithm: 'rsa-sha256' | 'ed25519-sha256' } {
  const parsed = parsePrivateKey(generateKeyPem(algorithm, bits));
  assert.ok(parsed.ok);
  return parsed;
}

test('an RSA-2048 record is split into strings of at most 255 octets that concatenate to the value', () => {
  const key = keyFor('rsa');
  const record = dkimRecord({ ...key, domain: 'example.org', selector: 'rsa-20250131' });
  assert.equal(record.name, 'rsa-20250131._domainkey.example.org');
  assert.equal(record.value, `v=DKIM1; k=rsa; p=${key.publicKeyBase64}`);
  assert.ok(record.strings.length >= 2);
  assert.ok(record.strings.every((part) => Buffer.byteLength(part) <= 255 && part.length > 0));
  assert.equal(record.strings.join(''), record.value);
  assert.equal(record.zoneLine, `rsa-20250131._domainkey.example.org. IN TXT ( ${record.strings.map((part) => `"${part}"`).join(' ')} )`);
  assert.deepEqual(parseDkimRecord(record.strings.join('')), { ok: true, keyType: 'rsa', publicKeyBase64: key.publicKeyBase64, revoked: false, tags: new Map([['v', 'DKIM1'], ['k', 'rsa'], ['p', key.publicKeyBase64]]) });
});

test('an Ed25519 record fits one string and carries the raw 32-byte key', () => {
  const key = keyFor('ed25519');
  const record = dkimRecord({ ...key, domain: 'xn--bcher-kva.example', selector: 'ed-1' });
  assert.deepEqual(record.strings, [record.value]);
  assert.match(record.value, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
  assert.equal(record.zoneLine, `ed-1._domainkey.xn--bcher-kva.example. IN TXT ( "${record.value}" )`);
});

const PARSED: ReadonlyArray<readonly [string, { keyType: string; publicKeyBase64: string; revoked: boolean }]> = [
  ['v=DKIM1; k=rsa; p=QUJD', { keyType: 'rsa', publicKeyBase64: 'QUJD', revoked: false }],
  ['p=QUJD', { keyType: 'rsa', publicKeyBase64: 'QUJD', revoked: false }],
  ['v=DKIM1;k=ed25519;p=QUJD;', { keyType: 'ed25519', publicKeyBase64: 'QUJD', revoked: false }],
  [' v = DKIM1 ;  p = QU JD\r\n\tRUY= ; t=y; n=notes here', { keyType: 'rsa', publicKeyBase64: 'QUJDRUY=', revoked: false }],
  ['v=DKIM1; k=RSA; h=sha256; p=', { keyType: 'rsa', publicKeyBase64: '', revoked: true }],
  ['v=DKIM1; p= ; s=email', { keyType: 'rsa', publicKeyBase64: '', revoked: true }],
];

test('parses published records: k defaults to rsa, white space in p ignored, empty p revoked', () => {
  for (const [txt, expected] of PARSED) {
    const parsed = parseDkimRecord(txt);
    assert.ok(parsed.ok, txt);
    if (parsed.ok) assert.deepEqual({ keyType: parsed.keyType, publicKeyBase64: parsed.publicKeyBase64, revoked: parsed.revoked }, expected, txt);
  }
});

const BROKEN: ReadonlyArray<readonly [string, RegExp]> = [
  ['', /no p= tag/],
  ['v=DKIM1; k=rsa', /no p= tag/],
  ['k=rsa; v=DKIM1; p=QUJD', /v=DKIM1 must be the first tag/],
  ['v=DKIM2; p=QUJD', /v=DKIM2 is not DKIM1/],
  ['v=DKIM1; p=QUJD; p=QUJD', /appears twice/],
  ['v=DKIM1; p=QU*D', /not base64/],
  ['v=DKIM1; garbage; p=QUJD', /'garbage' is not tag=value/],
  ['v=DKIM1; 9x=1; p=QUJD', /'9x' is not a valid tag name/],
];

test('refuses malformed records with the reason', () => {
  for (const [txt, problem] of BROKEN) {
    const parsed = parseDkimRecord(txt);
    assert.equal(parsed.ok, false, txt);
    if (!parsed.ok) assert.match(parsed.problem, problem, txt);
  }
});
