// DKIM keys on disk: loading good RSA and Ed25519 keys, refusing weak or broken
// ones with the file named (RFC 8301, RFC 8463, RFC 6376 §3.1), writing new ones safely.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPem, loadDkimKeys, writeNewKeyFile } from '../../src/dkim/keys.js';
import { defaultSelector, isValidSelector } from '../../src/dkim/selector.js';

const folders: string[] = [];
after(() => Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true }))));

async function keysFolder(files: Readonly<Record<string, string>> = {}): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'outpost-dkim-keys-'));
  folders.push(folder);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(folder, name, '..'), { recursive: true });
    await writeFile(join(folder, name), text, { mode: 0o600 });
  }
  return folder;
}

const rsaPem = (bits: number): string => generateKeyPairSync('rsa', { modulusLength: bits }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const RSA_2048 = generateKeyPem('rsa');
const ED25519 = generateKeyPem('ed25519');

test('loads RSA and Ed25519 keys with their p= values; a missing folder is no keys and no problem', async () => {
  const folder = await keysFolder({ 'example.org/rsa-1.pem': RSA_2048, 'example.org/ed-1.pem': ED25519 });
  await utimes(join(folder, 'example.org/rsa-1.pem'), 1000, 1000);
  const loaded = await loadDkimKeys(folder, (domain) => domain === 'example.org');
  assert.deepEqual(loaded.problems, []);
  assert.deepEqual(loaded.warnings, []);
  const [ed, rsa] = loaded.keys;
  assert.equal(loaded.keys.length, 2);
  assert.deepEqual([ed?.algorithm, ed?.selector, ed?.bits, ed?.domain], ['ed25519-sha256', 'ed-1', undefined, 'example.org']);
  assert.deepEqual([rsa?.algorithm, rsa?.selector, rsa?.bits, rsa?.file, rsa?.createdMs], ['rsa-sha256', 'rsa-1', 2048, join(folder, 'example.org/rsa-1.pem'), 1_000_000]);
  const edSpki = createPublicKey(ED25519).export({ type: 'spki', format: 'der' });
  assert.equal(ed?.publicKeyBase64, edSpki.subarray(-32).toString('base64'));
  assert.equal(Buffer.from(ed?.publicKeyBase64 ?? '', 'base64').length, 32);
  assert.equal(rsa?.publicKeyBase64, createPublicKey(RSA_2048).export({ type: 'spki', format: 'der' }).toString('base64'));
  assert.deepEqual(await loadDkimKeys(join(folder, 'absent')), { keys: [], problems: [], warnings: [] });
});

test('refuses RSA under 1024 bits and warns at 1024 (RFC 8301)', async () => {
  const folder = await keysFolder({ 'example.org/small.pem': rsaPem(512), 'example.org/weak.pem': rsaPem(1024) });
  const loaded = await loadDkimKeys(folder);
  assert.deepEqual(loaded.keys.map((key) => key.selector), ['weak']);
  assert.equal(loaded.problems.length, 1);
  assert.equal(loaded.problems[0]?.file, join(folder, 'example.org/small.pem'));
  assert.match(loaded.problems[0]?.problem ?? '', /512 bits refused/);
  assert.deepEqual(loaded.warnings.map((warning) => warning.file), [join(folder, 'example.org/weak.pem')]);
  assert.match(loaded.warnings[0]?.problem ?? '', /1024 bits is weak/);
});

test('names the file of every broken key: garbage, a public key, an EC key, a bad selector', async () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicPem = createPublicKey(ED25519).export({ type: 'spki', format: 'pem' }).toString();
  const folder = await keysFolder({
    'example.org/garbage.pem': 'not a key\n',
    'example.org/public.pem': publicPem,
    'example.org/ec.pem': ec,
    'example.org/bad_selector.pem': ED25519,
    'example.org/good.pem': ED25519,
  });
  const loaded = await loadDkimKeys(folder);
  assert.deepEqual(loaded.keys.map((key) => key.selector), ['good']);
  const byFile = new Map(loaded.problems.map((problem) => [problem.file.slice(folder.length + 1), problem.problem]));
  assert.deepEqual([...byFile.keys()].sort(), ['example.org/bad_selector.pem', 'example.org/ec.pem', 'example.org/garbage.pem', 'example.org/public.pem']);
  assert.match(byFile.get('example.org/garbage.pem') ?? '', /not a PEM private key/);
  assert.match(byFile.get('example.org/public.pem') ?? '', /public key, not a private key/);
  assert.match(byFile.get('example.org/ec.pem') ?? '', /ec key: DKIM signs with rsa .* or ed25519/);
  assert.match(byFile.get('example.org/bad_selector.pem') ?? '', /not a valid selector/);
});

test('folder names must be canonical domains; a domain that is not local only warns and its keys are skipped', async () => {
  const folder = await keysFolder({
    'not_a_domain/s.pem': ED25519,
    'Example.ORG/s.pem': ED25519,
    'other.example/s.pem': ED25519,
    'example.org/s.pem': ED25519,
  });
  const loaded = await loadDkimKeys(folder, (domain) => domain === 'example.org');
  assert.deepEqual(loaded.keys.map((key) => key.domain), ['example.org']);
  assert.deepEqual(
    loaded.problems.map((problem) => [problem.file.slice(folder.length + 1), problem.problem]),
    [
      ['Example.ORG', "folder name 'Example.ORG' must be the domain's canonical form; rename it to 'example.org'"],
      ['not_a_domain', "folder name 'not_a_domain' is not a domain name"],
    ],
  );
  assert.deepEqual(
    loaded.warnings.map((warning) => [warning.file.slice(folder.length + 1), warning.problem]),
    [['other.example', 'other.example is not a local domain; its keys are not used (remove the folder, or add the domain to the domains file)']],
  );
});

test('warns about files that are not keys and about key files others can read', async () => {
  const folder = await keysFolder({ 'README': 'hello', 'example.org/s.pem': ED25519, 'example.org/s.txt': 'record' });
  await chmod(join(folder, 'example.org/s.pem'), 0o644);
  const loaded = await loadDkimKeys(folder);
  assert.equal(loaded.keys.length, 1);
  assert.deepEqual(loaded.problems, []);
  assert.deepEqual(
    loaded.warnings.map((warning) => [warning.file.slice(folder.length + 1), warning.problem]),
    [
      ['README', 'not a domain folder; ignored (keys go in <domain>/<selector>.pem)'],
      ['example.org/s.pem', 'private key readable by group or others (mode 644); chmod 600 it'],
      ['example.org/s.txt', 'not a key file (only <selector>.pem files are read); ignored'],
    ],
  );
});

test('writeNewKeyFile makes folders 0700 and the key 0600, and never overwrites', async () => {
  const root = await keysFolder();
  const folder = join(root, 'dkim');
  const path = await writeNewKeyFile(folder, 'example.org', 'sel', ED25519);
  assert.equal(path, join(folder, 'example.org', 'sel.pem'));
  assert.equal(await readFile(path, 'utf8'), ED25519);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.equal((await stat(folder)).mode & 0o777, 0o700);
  assert.equal((await stat(join(folder, 'example.org'))).mode & 0o777, 0o700);
  await assert.rejects(writeNewKeyFile(folder, 'example.org', 'sel', RSA_2048), (error: unknown) => {
    assert.equal((error as { code?: string }).code, 'EDKIMKEYEXISTS');
    assert.match((error as Error).message, /sel\.pem already exists; a key file is never overwritten/);
    return true;
  });
  assert.equal(await readFile(path, 'utf8'), ED25519);
  assert.deepEqual(await readdir(join(folder, 'example.org')), ['sel.pem'], 'no temporary file left behind');
  await assert.rejects(writeNewKeyFile(folder, 'example.org', 'bad_selector', ED25519), /not a valid selector/);
  await assert.rejects(writeNewKeyFile(folder, 'Example.org', 'sel', ED25519), /not a canonical domain/);
});

test('generateKeyPem makes PKCS#8 keys and refuses RSA under 1024 bits', () => {
  assert.match(ED25519, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.match(generateKeyPem('rsa', 1024), /^-----BEGIN PRIVATE KEY-----\n/);
  assert.throws(() => generateKeyPem('rsa', 768), /at least 1024 bits/);
});

test('selectors: sub-domain syntax; defaults carry the UTC date and count up when taken', () => {
  for (const good of ['s', 'rsa-20250131', 'a.b-c.D9', '2024']) assert.ok(isValidSelector(good), good);
  for (const bad of ['', '-a', 'a-', 'a..b', 'a_b', 'a b', '.a', 'a.', 'x'.repeat(64), 'ü']) assert.ok(!isValidSelector(bad), bad);
  const lateOn31st = Date.UTC(2025, 0, 31, 23, 59);
  assert.equal(defaultSelector('rsa-sha256', lateOn31st, new Set()), 'rsa-20250131');
  assert.equal(defaultSelector('ed25519-sha256', lateOn31st, new Set(['rsa-20250131'])), 'ed-20250131');
  assert.equal(defaultSelector('rsa-sha256', lateOn31st, new Set(['rsa-20250131', 'RSA-20250131-2'])), 'rsa-20250131-3');
});
