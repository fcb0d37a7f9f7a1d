import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SCRYPT_PARAMETERS,
  DUMMY_PASSWORD_HASH,
  hashPassword,
  parsePasswordHash,
  verifyPassword,
} from '../../src/auth/password-hash.js';

const CHEAP = { cost: 1024, blockSize: 8, parallelization: 1 };

test('a hash is self-describing: $scrypt$N=16384,r=8,p=1$salt$key', async () => {
  const encoded = await hashPassword('correct horse');
  assert.match(encoded, /^\$scrypt\$N=16384,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  const parsed = parsePasswordHash(encoded);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.hash.parameters, DEFAULT_SCRYPT_PARAMETERS);
});

test('verifies the right password and refuses a wrong one', async () => {
  const encoded = await hashPassword('correct horse');
  assert.equal(await verifyPassword('correct horse', encoded), true);
  assert.equal(await verifyPassword('correct horsE', encoded), false);
  assert.equal(await verifyPassword('', encoded), false);
});

test('each hash has its own salt, so the same password hashes differently', async () => {
  const [a, b] = await Promise.all([hashPassword('same', CHEAP), hashPassword('same', CHEAP)]);
  assert.notEqual(a, b);
  assert.equal(await verifyPassword('same', a), true);
  assert.equal(await verifyPassword('same', b), true);
});

test('the parameters stored in a hash are the ones used to verify it', async () => {
  const encoded = await hashPassword('pässwörd ✓', CHEAP);
  assert.match(encoded, /^\$scrypt\$N=1024,r=8,p=1\$/);
  assert.equal(await verifyPassword('pässwörd ✓', encoded), true);
});

test('the dummy hash for unknown users costs what a default hash costs and matches nothing plausible', async () => {
  const parsed = parsePasswordHash(DUMMY_PASSWORD_HASH);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.hash.parameters, DEFAULT_SCRYPT_PARAMETERS);
  const real = parsePasswordHash(await hashPassword('x'));
  assert.ok(real.ok);
  assert.equal(parsed.hash.key.length, real.hash.key.length);
  assert.equal(parsed.hash.salt.length, real.hash.salt.length);
  assert.equal(await verifyPassword('', DUMMY_PASSWORD_HASH), false);
  assert.equal(await verifyPassword('password', DUMMY_PASSWORD_HASH), false);
});

const MALFORMED: ReadonlyArray<readonly [string, string, RegExp]> = [
  ['plain text', 'secret', /not an scrypt hash/],
  ['bcrypt', '$2b$10$abcdefghijklmnopqrstuv', /not an scrypt hash/],
  ['N not a power of two', '$scrypt$N=1000,r=8,p=1$IdcqnBdFY45DugvFSWKw8w$pUNZjIF4mN7gDnnh/4Aj/vZSn8GsCJ3yM6g/nXqaXKU', /power of two/],
  ['N too large (memory exhaustion)', '$scrypt$N=2097152,r=8,p=1$IdcqnBdFY45DugvFSWKw8w$pUNZjIF4mN7gDnnh/4Aj/vZSn8GsCJ3yM6g/nXqaXKU', /power of two/],
  ['r zero', '$scrypt$N=16384,r=0,p=1$IdcqnBdFY45DugvFSWKw8w$pUNZjIF4mN7gDnnh/4Aj/vZSn8GsCJ3yM6g/nXqaXKU', /r=0/],
  ['p too large', '$scrypt$N=16384,r=8,p=99$IdcqnBdFY45DugvFSWKw8w$pUNZjIF4mN7gDnnh/4Aj/vZSn8GsCJ3yM6g/nXqaXKU', /p=99/],
  ['key too short', '$scrypt$N=16384,r=8,p=1$IdcqnBdFY45DugvFSWKw8w$pUNZ', /malformed key/],
  ['salt with stray bits', '$scrypt$N=16384,r=8,p=1$IdcqnBdFY45DugvFSWKw8x$pUNZjIF4mN7gDnnh/4Aj/vZSn8GsCJ3yM6g/nXqaXKU', /malformed salt/],
];

for (const [name, encoded, problem] of MALFORMED) {
  test(`refuses a malformed hash (${name}) and never verifies against it`, async () => {
    const parsed = parsePasswordHash(encoded);
    assert.equal(parsed.ok, false);
    if (!parsed.ok) assert.match(parsed.problem, problem);
    assert.equal(await verifyPassword('secret', encoded), false);
  });
}
