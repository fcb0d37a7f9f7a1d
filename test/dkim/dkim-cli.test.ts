// `outpost dkim keygen|records|rotate` run in-process against a temporary config:
// keys written 0600 and never overwritten, records printed ready to publish, rotation.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runDkim } from '../../src/cli/dkim.js';
import { loadDkimKeys } from '../../src/dkim/keys.js';
import { MessageSplitter } from '../../src/dkim/message-splitter.js';
import { dkimSignatureFields } from '../../src/dkim/sign.js';
import { minimalYaml, TempConfigs } from '../config/temp-config.js';
import { dkimpySkip, verifyWithDkimpy } from './dkimpy.js';

const temp = new TempConfigs();
after(() => temp.removeAll());

/** 2025-01-31 late in the day, UTC. */
const NOW_MS = Date.UTC(2025, 0, 31, 23, 30);

interface Run {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function dkim(folder: string, ...args: string[]): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const exitCode = await runDkim(args, { stdout, stderr, env: { OUTPOST_CONFIG: 'outpost.yaml' }, cwd: folder }, { nowMs: () => NOW_MS });
  return { exitCode, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

function installation(): Promise<string> {
  return temp.write({ domains: 'example.org\nexample.net\n', 'outpost.yaml': minimalYaml() });
}

/** The `value:` lines of the printed record blocks. */
const printedValues = (stdout: string): string[] => [...stdout.matchAll(/^ {2}value: (.*)$/gm)].map((match) => match[1] ?? '');

test('keygen writes a 0600 RSA-2048 key under a dated selector and prints its record and a hint', async () => {
  const folder = await installation();
  const run = await dkim(folder, 'keygen', 'Example.ORG');
  const file = join(folder, 'dkim', 'example.org', 'rsa-20250131.pem');
  assert.equal(run.exitCode, 0, run.stderr);
  assert.equal(run.stderr, '');
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const [key] = (await loadDkimKeys(join(folder, 'dkim'))).keys;
  assert.equal(key?.bits, 2048);
  const lines = run.stdout.split('\n');
  assert.equal(lines[0], `wrote ${file}`);
  assert.equal(lines[1], '  key:   example.org selector rsa-20250131 (rsa-sha256, 2048 bits)');
  assert.equal(lines[2], '  name:  rsa-20250131._domainkey.example.org');
  assert.equal(lines[3], '  type:  TXT');
  assert.equal(lines[4], `  value: v=DKIM1; k=rsa; p=${key?.publicKeyBase64}`);
  assert.match(lines[5] ?? '', /^ {2}zone: {2}rsa-20250131\._domainkey\.example\.org\. IN TXT \( "v=DKIM1; k=rsa; p=[^"]+" "[^"]+" \)$/);
  assert.match(lines[6] ?? '', /^Publish this TXT record in the DNS of example\.org, then run `outpost doctor example\.org`/);
});

test('keygen --algorithm ed25519 twice on one day: ed-YYYYMMDD, then -2', async () => {
  const folder = await installation();
  assert.equal((await dkim(folder, 'keygen', 'example.net', '--algorithm', 'ed25519')).exitCode, 0);
  const second = await dkim(folder, 'keygen', 'example.net', '--algorithm', 'ed25519');
  assert.equal(second.exitCode, 0, second.stderr);
  assert.match(second.stdout, /^wrote .*\/example\.net\/ed-20250131-2\.pem\n {2}key: {3}example\.net selector ed-20250131-2 \(ed25519-sha256\)\n/);
  assert.deepEqual((await readdir(join(folder, 'dkim', 'example.net'))).sort(), ['ed-20250131-2.pem', 'ed-20250131.pem']);
});

test('the printed record verifies a signature made with the new key (dkimpy)', { skip: dkimpySkip() }, async () => {
  const folder = await installation();
  for (const algorithm of ['rsa', 'ed25519']) {
    const run = await dkim(folder, 'keygen', 'example.org', '--algorithm', algorithm, '--selector', `check-${algorithm}`);
    assert.equal(run.exitCode, 0, run.stderr);
    const [value] = printedValues(run.stdout);
    const key = (await loadDkimKeys(join(folder, 'dkim'))).keys.find((candidate) => candidate.selector === `check-${algorithm}`);
    assert.ok(key !== undefined && value !== undefined);
    const message = Buffer.from('From: a@example.org\r\nTo: b@example.net\r\nSubject: keygen check\r\n\r\nbody\r\n');
    const splitter = new MessageSplitter();
    splitter.push(message);
    const fields = dkimSignatureFields({ headers: splitter.headers ?? [], bodyHash: splitter.bodyHash(), domain: 'example.org', keys: [key], timestampSeconds: NOW_MS / 1000 });
    const result = await verifyWithDkimpy(Buffer.concat([Buffer.from(fields.join('')), message]), { [`check-${algorithm}._domainkey.example.org.`]: value });
    assert.deepEqual(result.verdicts, [{ valid: true, error: null }], algorithm);
  }
});

test('keygen never overwrites: an existing explicit selector fails with exit 1 and the file stays', async () => {
  const folder = await installation();
  assert.equal((await dkim(folder, 'keygen', 'example.org', '--algorithm', 'ed25519', '--selector', 'main')).exitCode, 0);
  const file = join(folder, 'dkim', 'example.org', 'main.pem');
  const before = await readFile(file, 'utf8');
  const again = await dkim(folder, 'keygen', 'example.org', '--algorithm', 'ed25519', '--selector', 'main');
  assert.deepEqual(again, { exitCode: 1, stdout: '', stderr: `outpost dkim keygen: ${file} already exists; a key file is never overwritten (choose another selector)\n` });
  assert.equal(await readFile(file, 'utf8'), before);
  assert.deepEqual(await readdir(join(folder, 'dkim', 'example.org')), ['main.pem']);
});

test('keygen refuses a domain that is not local, naming the domains file', async () => {
  const folder = await installation();
  const run = await dkim(folder, 'keygen', 'elsewhere.example');
  assert.deepEqual(run, {
    exitCode: 1,
    stdout: '',
    stderr: `outpost dkim keygen: elsewhere.example is not a local domain (not in ${join(folder, 'domains')}); outpost signs only for its own domains, so add it there first\n`,
  });
  assert.deepEqual((await readdir(folder)).sort(), ['domains', 'outpost.yaml']);
});

test('keygen refuses RSA under 1024 bits (usage) and warns at 1024', async () => {
  const folder = await installation();
  const small = await dkim(folder, 'keygen', 'example.org', '--bits', '512');
  assert.equal(small.exitCode, 2);
  assert.match(small.stderr, /^outpost dkim: --bits must be a whole number from 1024 to 8192/);
  const weak = await dkim(folder, 'keygen', 'example.org', '--bits', '1024');
  assert.equal(weak.exitCode, 0);
  assert.equal(weak.stderr, 'warning: 1024-bit RSA keys are weak; RFC 8301 recommends at least 2048 bits\n');
  assert.match(weak.stdout, /\(rsa-sha256, 1024 bits\)/);
});

test('usage errors exit 2; --help exits 0', async () => {
  const folder = await installation();
  for (const args of [[], ['bogus'], ['keygen'], ['rotate'], ['keygen', 'not_a_domain'], ['keygen', 'example.org', '--algorithm', 'dsa'], ['keygen', 'example.org', '--algorithm', 'ed25519', '--bits', '2048'], ['keygen', 'example.org', '--selector', 'bad_name'], ['records', '--bits', '2048'], ['records', 'a.example', 'b.example'], ['keygen', 'example.org', '--nope']]) {
    const run = await dkim(folder, ...args);
    assert.equal(run.exitCode, 2, args.join(' '));
    assert.match(run.stderr, /usage: outpost dkim keygen/, args.join(' '));
  }
  const help = await dkim(folder, '--help');
  assert.equal(help.exitCode, 0);
  assert.match(help.stdout, /^usage: outpost dkim keygen DOMAIN/);
});

test('a broken config is reported with exit 1', async () => {
  const folder = await temp.write({ domains: 'example.org\n', 'outpost.yaml': minimalYaml('bogusKey: 1') });
  const run = await dkim(folder, 'records');
  assert.equal(run.exitCode, 1);
  assert.match(run.stderr, /bogusKey/);
});

test('records lists every key (or one domain\'s), and fails when a key file has a problem', async () => {
  const folder = await installation();
  assert.equal((await dkim(folder, 'records')).stderr, `no DKIM keys in ${join(folder, 'dkim')}; \`outpost dkim keygen DOMAIN\` makes one\n`);
  await dkim(folder, 'keygen', 'example.org', '--algorithm', 'ed25519');
  await dkim(folder, 'keygen', 'example.org', '--bits', '1024');
  await dkim(folder, 'keygen', 'example.net', '--algorithm', 'ed25519');
  const all = await dkim(folder, 'records');
  assert.equal(all.exitCode, 0);
  assert.equal(all.stderr, `warning: ${join(folder, 'dkim', 'example.org', 'rsa-20250131.pem')}: RSA key of 1024 bits is weak: RFC 8301 recommends at least 2048; rotate to a stronger key\n`);
  assert.deepEqual([...all.stdout.matchAll(/^ {2}name: {2}(.*)$/gm)].map((match) => match[1]), ['ed-20250131._domainkey.example.net', 'ed-20250131._domainkey.example.org', 'rsa-20250131._domainkey.example.org']);
  const one = await dkim(folder, 'records', 'example.net');
  assert.deepEqual({ exitCode: one.exitCode, stderr: one.stderr }, { exitCode: 0, stderr: '' });
  assert.deepEqual([...one.stdout.matchAll(/^ {2}name: {2}(.*)$/gm)].map((match) => match[1]), ['ed-20250131._domainkey.example.net']);
  await writeFile(join(folder, 'dkim', 'example.net', 'broken.pem'), 'garbage\n', { mode: 0o600 });
  const broken = await dkim(folder, 'records', 'example.net');
  assert.equal(broken.exitCode, 1);
  // The problem names the file (config loading may report it first, under the dkim.keys key).
  assert.match(broken.stderr, new RegExp(`^${join(folder, 'dkim', 'example.net', 'broken.pem')}: (dkim\\.keys: )?not a PEM private key`));
});

test('rotate makes a new key per algorithm with the next selector, keeping the RSA size, and explains the steps', async () => {
  const folder = await installation();
  await dkim(folder, 'keygen', 'example.org', '--bits', '1024');
  await dkim(folder, 'keygen', 'example.org', '--algorithm', 'ed25519');
  const run = await dkim(folder, 'rotate', 'example.org');
  assert.equal(run.exitCode, 0, run.stderr);
  const keysFolder = join(folder, 'dkim', 'example.org');
  assert.deepEqual((await readdir(keysFolder)).sort(), ['ed-20250131-2.pem', 'ed-20250131.pem', 'rsa-20250131-2.pem', 'rsa-20250131.pem']);
  assert.match(run.stdout, new RegExp(`^wrote ${join(keysFolder, 'rsa-20250131-2.pem')} \\(replaces rsa-20250131\\)\n {2}key: {3}example\\.org selector rsa-20250131-2 \\(rsa-sha256, 1024 bits\\)`, 'm'));
  assert.match(run.stdout, new RegExp(`^wrote ${join(keysFolder, 'ed-20250131-2.pem')} \\(replaces ed-20250131\\)`, 'm'));
  assert.equal(printedValues(run.stdout).length, 2);
  assert.match(run.stdout, /Publish the new records above in the DNS of example\.org/);
  assert.match(run.stdout, /outpost signs with a new key only once it sees its record in DNS/);
  assert.match(run.stdout, /Keep the old key files \(.*rsa-20250131\.pem.*ed-20250131\.pem|ed-20250131\.pem.*rsa-20250131\.pem\) until mail signed with them has been delivered/);
  const loaded = await loadDkimKeys(join(folder, 'dkim'));
  assert.deepEqual(loaded.keys.filter((key) => key.algorithm === 'rsa-sha256').map((key) => key.bits), [1024, 1024]);
});

test('rotate of a domain without keys tells to use keygen', async () => {
  const folder = await installation();
  const run = await dkim(folder, 'rotate', 'example.net');
  assert.deepEqual(run, {
    exitCode: 1,
    stdout: '',
    stderr: `outpost dkim rotate: example.net has no DKIM keys in ${join(folder, 'dkim', 'example.net')}; make the first one with \`outpost dkim keygen example.net\`\n`,
  });
});
