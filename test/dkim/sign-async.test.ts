// The thread-pool signer gives the same fields as the synchronous one (RSA
// PKCS#1 v1.5 and Ed25519 are deterministic), so either verifies alike.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPem, parsePrivateKey, type DkimKey } from '../../src/dkim/keys.js';
import { MessageSplitter } from '../../src/dkim/message-splitter.js';
import { dkimSignatureFields, dkimSignatureFieldsAsync } from '../../src/dkim/sign.js';

it('signs on the thread pool exactly as it signs in line', async () => {
  const keys = (['rsa', 'ed25519'] as const).map((algorithm, index): DkimKey => {
    const parsed = parsePrivateKey(generateKeyPem(algorithm, 1024));
    assert.ok(parsed.ok);
    return { ...parsed, domain: "example.org", selector: `s${index}`, file: `/k/s${index}.pem`, createdMs: index };
  });
  const splitter = new MessageSplitter();
  splitter.push(Buffer.from('From: a@example.org\r\nSubject: same\r\n\r\nbody\r\n'));
  const input = { headers: splitter.headers ?? [], bodyHash: splitter.bodyHash(), domain: 'example.org', keys, timestampSeconds: 1_800_000_000 };
  assert.deepEqual(await dkimSignatureFieldsAsync(input), dkimSignatureFields(input));
});
