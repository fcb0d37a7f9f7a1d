import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DUMMY_PASSWORD_HASH, hashPassword } from '../../src/auth/password-hash.js';
import { canonicalUserAddress } from '../../src/auth/user-address.js';
import { loadUsersFile, parseUsersText, UserDirectory } from '../../src/auth/users-file.js';
import { updateUsersFile } from '../../src/auth/users-file-write.js';
import { ConfigErrors } from '../../src/core/errors.js';

const CHEAP = { cost: 1024, blockSize: 8, parallelization: 1 };
const HASH = '$scrypt$N=16384,r=8,p=1$IdcqnBdFY45DugvFSWKw8w$pUNZjIF4mN7gDnnh/4Aj/vZSn8GsCJ3yM6g/nXqaXKU';

const folders: string[] = [];
after(() => Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true }))));

async function tempFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'outpost-users-'));
  folders.push(folder);
  return folder;
}

test('canonical user addresses keep the local part and lowercase the domain', () => {
  assert.deepEqual(canonicalUserAddress('App.Sender@Example.ORG'), { ok: true, address: 'App.Sender@example.org', domain: 'example.org' });
  assert.deepEqual(canonicalUserAddress('u@bücher.example'), { ok: true, address: 'u@xn--bcher-kva.example', domain: 'xn--bcher-kva.example' });
  for (const bad of ['', 'no-at', '@example.org', 'user@', 'a b@example.org', 'a:b@example.org', '#x@example.org', 'u@[192.0.2.1]', 'u@bad_domain']) {
    assert.equal(canonicalUserAddress(bad).ok, false, bad);
  }
});

test('parses address:hash lines, comments and blank lines; addresses canonical', () => {
  const parsed = parseUsersText(`# users\n\napp@Example.org:${HASH}\r\n  other@example.org : ${HASH}  \n`, 'users');
  assert.deepEqual(parsed.problems, []);
  assert.deepEqual([...parsed.users.keys()], ['app@example.org', 'other@example.org']);
  assert.equal(parsed.users.get('app@example.org')?.line, 3);
});

test('bad lines are errors naming the file and line', () => {
  const text = [`ok@example.org:${HASH}`, 'no-colon-here', `not an address:${HASH}`, 'weak@example.org:secret', `OK@example.org:${HASH}`, `ok@EXAMPLE.org:${HASH}`].join('\n');
  const { problems } = parseUsersText(text, '/etc/outpost/users');
  assert.deepEqual(
    problems.map((problem) => [problem.line, problem.message]),
    [
      [2, '/etc/outpost/users:2: expected address:hash'],
      [3, '/etc/outpost/users:3: "not an address" is not an address (local@domain)'],
      [4, '/etc/outpost/users:4: the hash of weak@example.org is not an scrypt hash ($scrypt$N=…,r=…,p=…$salt$key); make one with `outpost user add`'],
      [6, '/etc/outpost/users:6: ok@example.org is already listed on line 1'],
    ],
  );
});

test('loadUsersFile: a missing file has no users; a broken one throws ConfigErrors', async () => {
  const folder = await tempFolder();
  const empty = await loadUsersFile(join(folder, 'absent'));
  assert.equal(empty.size, 0);
  assert.equal(await empty.verify('a@example.org', 'pw'), false);
  await mkdir(join(folder, 'dir'));
  await assert.rejects(loadUsersFile(join(folder, 'dir')), (error: unknown) => {
    assert.ok(error instanceof ConfigErrors);
    assert.match(error.message, /users: cannot read the users file/);
    return true;
  });
  await writeFile(join(folder, 'users'), 'x\n');
  await assert.rejects(loadUsersFile(join(folder, 'users')), /users:1: expected address:hash/);
});

test('verify accepts the right password for a known user, any case of the domain', async () => {
  const folder = await tempFolder();
  await writeFile(join(folder, 'users'), `app@example.org:${await hashPassword('s3cret', CHEAP)}\n`);
  const users = await loadUsersFile(join(folder, 'users'));
  assert.equal(users.size, 1);
  assert.equal(await users.verify('app@example.org', 's3cret'), true);
  assert.equal(await users.verify('app@EXAMPLE.ORG', 's3cret'), true);
  assert.equal(await users.verify('App@example.org', 's3cret'), false, 'the local part is case-sensitive');
  assert.equal(await users.verify('app@example.org', 'wrong'), false);
});

test('unknown and malformed users go through the same verification, against the dummy hash', async () => {
  const calls: Array<readonly [string, string]> = [];
  const users = new UserDirectory('users', [{ address: 'app@example.org', hash: HASH }], {
    verifyPassword: async (password, encoded) => {
      calls.push([password, encoded]);
      return true;
    },
  });
  assert.equal(await users.verify('nobody@example.org', 'pw1'), false);
  assert.equal(await users.verify('not an address', 'pw2'), false);
  assert.equal(await users.verify('app@example.org', 'pw3'), true);
  assert.deepEqual(calls, [['pw1', DUMMY_PASSWORD_HASH], ['pw2', DUMMY_PASSWORD_HASH], ['pw3', HASH]]);
});

test('an unknown user is refused by the real verifier too', async () => {
  const users = new UserDirectory('users', []);
  assert.equal(await users.verify('nobody@example.org', 'password'), false);
});

test('adding, replacing and removing rewrite atomically and keep other users and comments', async () => {
  const folder = await tempFolder();
  const path = join(folder, 'users');
  const original = `# managed by outpost user\nfirst@example.org:${HASH}\n\nsecond@example.org:${HASH}\n`;
  await writeFile(path, original, { mode: 0o644 });
  const otherHash = HASH.replace('pUNZ', 'qUNZ');

  assert.deepEqual(await updateUsersFile(path, { kind: 'set', address: 'third@example.org', hash: otherHash }), { ok: true, outcome: 'added' });
  assert.equal(await readFile(path, 'utf8'), `${original}third@example.org:${otherHash}\n`);
  assert.equal((await stat(path)).mode & 0o777, 0o640, 'never readable by others');

  assert.deepEqual(await updateUsersFile(path, { kind: 'set', address: 'first@example.org', hash: otherHash }), { ok: true, outcome: 'replaced' });
  assert.deepEqual(await updateUsersFile(path, { kind: 'remove', address: 'second@example.org' }), { ok: true, outcome: 'removed' });
  assert.deepEqual(await updateUsersFile(path, { kind: 'remove', address: 'second@example.org' }), { ok: true, outcome: 'absent' });
  assert.equal(await readFile(path, 'utf8'), `# managed by outpost user\nfirst@example.org:${otherHash}\n\nthird@example.org:${otherHash}\n`);
  assert.deepEqual(await readdir(folder), ['users'], 'no temporary files left behind');
});

test('a new users file is created with mode 0600', async () => {
  const folder = await tempFolder();
  const path = join(folder, 'users');
  assert.deepEqual(await updateUsersFile(path, { kind: 'set', address: 'app@example.org', hash: HASH }), { ok: true, outcome: 'added' });
  assert.equal(await readFile(path, 'utf8'), `app@example.org:${HASH}\n`);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
});

test('a users file with bad lines is not rewritten', async () => {
  const folder = await tempFolder();
  const path = join(folder, 'users');
  await writeFile(path, `ok@example.org:${HASH}\ngarbage\n`);
  const update = await updateUsersFile(path, { kind: 'set', address: 'app@example.org', hash: HASH });
  assert.equal(update.ok, false);
  if (!update.ok && update.reason === 'invalid') assert.deepEqual(update.problems.map((problem) => problem.line), [2]);
  assert.equal(await readFile(path, 'utf8'), `ok@example.org:${HASH}\ngarbage\n`);
});
