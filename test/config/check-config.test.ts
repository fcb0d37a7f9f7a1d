import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCliCaptured } from '../helpers/run-cli.js';
import { makeSelfSignedCertificate } from '../helpers/tls-cert.js';
import { minimalYaml, TempConfigs } from './temp-config.js';

const temp = new TempConfigs();
after(() => temp.removeAll());

test('check-config prints config OK with counts and exits 0', async () => {
  const folder = await temp.write({
    domains: 'example.org\nexample.net\n',
    'outpost.yaml': minimalYaml('listen:', '  - { address: 127.0.0.1, port: 0, mode: mta }', '  - { address: 127.0.0.2, port: 0, mode: mta }'),
  });
  const result = await runCliCaptured(['check-config', '--config', 'outpost.yaml'], { cwd: folder });
  assert.deepEqual(result, { exitCode: 0, stdout: `config OK: ${join(folder, 'outpost.yaml')} (2 local domains, 2 listeners, 0 DKIM keys)\n`, stderr: '' });
});

test('check-config finds the file through OUTPOST_CONFIG, then config/outpost.yaml', async () => {
  const folder = await temp.write({ 'conf/domains': 'example.org\n', 'conf/main.yaml': minimalYaml(), 'config/domains': 'example.org\n', 'config/outpost.yaml': minimalYaml() });
  const byEnv = await runCliCaptured(['check-config'], { cwd: folder, env: { OUTPOST_CONFIG: 'conf/main.yaml' } });
  assert.equal(byEnv.stdout, `config OK: ${join(folder, 'conf/main.yaml')} (1 local domain, 1 listener, 0 DKIM keys)\n`);
  const byDefault = await runCliCaptured(['check-config'], { cwd: folder });
  assert.equal(byDefault.stdout, `config OK: ${join(folder, 'config/outpost.yaml')} (1 local domain, 1 listener, 0 DKIM keys)\n`);
});

test('check-config prints every problem, one per line, and exits 1', async () => {
  const folder = await temp.write({ domains: 'example.org\nbad domain\n', 'outpost.yaml': minimalYaml('delivery:', '  retry: [5m, 5x]') });
  const file = join(folder, 'outpost.yaml');
  const result = await runCliCaptured(['check-config', '--config', file], { cwd: folder, env: { OUTPOST_LOG_LEVEL: 'chatty' } });
  assert.equal(result.exitCode, 1);
  assert.equal(result.stdout, '');
  assert.deepEqual(result.stderr.split('\n'), [
    `${file}:4: delivery.retry[1]: "5x" is not a duration (use seconds or 30s, 5m, 2h, 5d)`,
    'environment: OUTPOST_LOG_LEVEL: "chatty" is not one of fatal, error, warn, info, debug, trace or silent',
    `${join(folder, 'domains')}:2: "bad domain" has more than one word (write one domain per line)`,
    '',
  ]);
});

test('check-config reports a missing config file and a YAML syntax error with exit 1', async () => {
  const folder = await temp.write({ 'broken.yaml': 'hostname: [unclosed\n' });
  const missing = await runCliCaptured(['check-config', '--config', 'absent.yaml'], { cwd: folder });
  const absent = join(folder, 'absent.yaml');
  assert.deepEqual(missing, {
    exitCode: 1,
    stdout: '',
    stderr: `outpost check-config: no config file at ${absent}: put your config folder there (Docker: -v /srv/outpost:${folder}) or give --config FILE; \`outpost init ${folder}\` writes the samples to start from\n`,
  });
  const broken = await runCliCaptured(['check-config', '--config', 'broken.yaml'], { cwd: folder });
  assert.equal(broken.exitCode, 1);
  assert.match(broken.stderr, new RegExp(`^${join(folder, 'broken.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: YAML syntax: `));
  assert.doesNotMatch(broken.stderr, /\n\s+at /);
});

const USAGE_ERRORS: ReadonlyArray<readonly string[]> = [['--bogus'], ['extra-argument'], ['--config']];

for (const args of USAGE_ERRORS) {
  test(`check-config ${args.join(' ')} is a usage error (exit 2)`, async () => {
    const folder = await temp.write({});
    const result = await runCliCaptured(['check-config', ...args], { cwd: folder });
    assert.equal(result.exitCode, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /usage: outpost check-config \[--config FILE\]/);
  });
}

test('check-config refuses an AUTH listener without tls and a key that does not match its certificate', async () => {
  const first = await makeSelfSignedCertificate('one.example.org');
  const second = await makeSelfSignedCertificate('two.example.org');
  const noTls = await temp.write({
    domains: 'example.org\n',
    'outpost.yaml': minimalYaml('listen:', '  - { address: 127.0.0.1, port: 0, mode: mta }', '  - { address: 127.0.0.1, port: 0, mode: submission }'),
  });
  const refused = await runCliCaptured(['check-config', '--config', 'outpost.yaml'], { cwd: noTls });
  assert.equal(refused.exitCode, 1);
  assert.match(refused.stderr, /outpost\.yaml:5: listen\[1\]\.mode: a submission listener needs tls/);

  const mismatched = await temp.write({
    domains: 'example.org\n',
    'cert.pem': first.cert,
    'key.pem': second.key,
    'outpost.yaml': minimalYaml('tls: { cert: cert.pem, key: key.pem }'),
  });
  const result = await runCliCaptured(['check-config', '--config', 'outpost.yaml'], { cwd: mismatched });
  assert.equal(result.exitCode, 1);
  assert.match(result.stderr, /tls\.cert: .*the key does not belong to the certificate/);

  const matching = await temp.write({ domains: 'example.org\n', 'cert.pem': first.cert, 'key.pem': first.key, 'outpost.yaml': minimalYaml('tls: { cert: cert.pem, key: key.pem }') });
  assert.equal((await runCliCaptured(['check-config', '--config', 'outpost.yaml'], { cwd: matching })).exitCode, 0);
});

test('check-config judges every DKIM key file and names the file of each problem; other commands still work', async () => {
  const { generateKeyPairSync } = await import('node:crypto');
  const small = generateKeyPairSync('rsa', { modulusLength: 512 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const folder = await temp.write({
    domains: 'example.org\n',
    'outpost.yaml': minimalYaml(),
    'dkim/example.org/weak.pem': weak,
    'dkim/example.org/small.pem': small,
    'dkim/example.org/garbage.pem': 'not a key\n',
    'dkim/elsewhere.test/s1.pem': weak,
  });
  const result = await runCliCaptured(['check-config', '--config', 'outpost.yaml'], { cwd: folder });
  assert.equal(result.exitCode, 1);
  const lines = result.stderr.trim().split('\n');
  for (const file of ['dkim/example.org/small.pem', 'dkim/example.org/garbage.pem']) {
    assert.ok(lines.some((line) => line.startsWith(`${join(folder, file)}: dkim.keys: `)), `${file} in ${result.stderr}`);
  }
  assert.ok(!lines.some((line) => line.includes('weak.pem: dkim.keys')), 'a 1024-bit key only warns');
  assert.ok(!lines.some((line) => line.includes('elsewhere.test')), 'the folder of a domain no longer local only warns');
  const list = await runCliCaptured(['queue', 'list', '--config', 'outpost.yaml'], { cwd: folder, env: { OUTPOST_SPOOL_DIR: join(folder, 'spool') } });
  assert.equal(list.exitCode, 0, list.stderr);
});
