import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadUsersFile } from '../../src/auth/users-file.js';
import { runCliCaptured } from '../helpers/run-cli.js';
import { minimalYaml, TempConfigs } from '../config/temp-config.js';
import { makeSelfSignedCertificate } from '../helpers/tls-cert.js';

const temp = new TempConfigs();
after(() => temp.removeAll());

const CLI_PATH = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
const SIGHUP_NOTE = (folder: string): string => `(a running outpost reads ${join(folder, 'users')} again on SIGHUP)`;

/** A config with `users: users` (file not created) and local domains example.org, example.net. */
function installation(extra: Readonly<Record<string, string>> = {}): Promise<string> {
  return temp.write({ domains: 'example.org\nexample.net\n', 'outpost.yaml': minimalYaml('users: users'), ...extra });
}

test('user add creates the users file (0600) from a password on stdin; list shows the user', async () => {
  const folder = await installation();
  const added = await runCliCaptured(['user', 'add', 'App@Example.ORG', '--config', 'outpost.yaml'], { cwd: folder, stdin: 's3cret pass\n' });
  const noListener = 'Mail clients cannot log in yet: the config has no submission (587) or smtps (465) listener; add one to `listen` (with `tls`).\n';
  assert.deepEqual(added, { exitCode: 0, stdout: `added App@example.org ${SIGHUP_NOTE(folder)}\n${noListener}`, stderr: '' });
  assert.equal((await stat(join(folder, 'users'))).mode & 0o777, 0o600);
  assert.doesNotMatch(await readFile(join(folder, 'users'), 'utf8'), /s3cret/);
  const users = await loadUsersFile(join(folder, 'users'));
  assert.equal(await users.verify('App@example.org', 's3cret pass'), true);
  assert.equal(await users.verify('App@example.org', 's3cret'), false);
  const listed = await runCliCaptured(['user', 'list'], { cwd: folder, env: { OUTPOST_CONFIG: 'outpost.yaml' } });
  assert.deepEqual(listed, { exitCode: 0, stdout: 'App@example.org\n', stderr: '' });
});

test('user add on an existing user replaces its password and says so; other users stay', async () => {
  const folder = await installation();
  const options = { cwd: folder, env: { OUTPOST_CONFIG: 'outpost.yaml' } };
  assert.equal((await runCliCaptured(['user', 'add', 'a@example.org'], { ...options, stdin: 'first-pass\r\n' })).exitCode, 0);
  assert.equal((await runCliCaptured(['user', 'add', 'b@example.net'], { ...options, stdin: 'other-pass' })).exitCode, 0);
  const replaced = await runCliCaptured(['user', 'add', 'a@EXAMPLE.org'], { ...options, stdin: 'second-pass\nignored line\n' });
  assert.equal(replaced.exitCode, 0);
  assert.ok(replaced.stdout.startsWith(`a@example.org already existed: replaced its password ${SIGHUP_NOTE(folder)}\n`), replaced.stdout);
  const users = await loadUsersFile(join(folder, 'users'));
  assert.deepEqual(users.addresses(), ['a@example.org', 'b@example.net']);
  assert.equal(await users.verify('a@example.org', 'second-pass'), true);
  assert.equal(await users.verify('a@example.org', 'first-pass'), false);
  assert.equal(await users.verify('b@example.net', 'other-pass'), true);
});

test('user remove drops one user; removing an unknown user fails with exit 1', async () => {
  const folder = await installation();
  const options = { cwd: folder, env: { OUTPOST_CONFIG: 'outpost.yaml' } };
  await runCliCaptured(['user', 'add', 'a@example.org'], { ...options, stdin: 'pass-word-a\n' });
  await runCliCaptured(['user', 'add', 'b@example.org'], { ...options, stdin: 'pass-word-b\n' });
  const removed = await runCliCaptured(['user', 'remove', 'a@example.org'], options);
  assert.deepEqual(removed, { exitCode: 0, stdout: `removed a@example.org ${SIGHUP_NOTE(folder)}\n`, stderr: '' });
  const again = await runCliCaptured(['user', 'remove', 'a@example.org'], options);
  assert.deepEqual(again, { exitCode: 1, stdout: '', stderr: `outpost user remove: a@example.org is not a user in ${join(folder, 'users')}\n` });
  assert.deepEqual((await runCliCaptured(['user', 'list'], options)).stdout, 'b@example.org\n');
  assert.deepEqual(await readdir(folder), ['domains', 'outpost.yaml', 'users'], 'no temporary files left behind');
});

test('user add refuses an address outside the local domains and leaves the file alone', async () => {
  const folder = await installation({ users: '' });
  const result = await runCliCaptured(['user', 'add', 'app@elsewhere.example', '--config', 'outpost.yaml'], { cwd: folder, stdin: 'pw\n' });
  assert.equal(result.exitCode, 1);
  assert.equal(result.stdout, '');
  assert.equal(
    result.stderr,
    `outpost user add: elsewhere.example is not a local domain (not in ${join(folder, 'domains')}); AUTH users send from local domains, so add the domain there first\n`,
  );
  assert.equal(await readFile(join(folder, 'users'), 'utf8'), '');
});

test('without a users key in the config, user commands tell the operator to set it', async () => {
  const folder = await temp.write({ domains: 'example.org\n', 'outpost.yaml': minimalYaml() });
  for (const args of [['add', 'a@example.org'], ['remove', 'a@example.org'], ['list']]) {
    const result = await runCliCaptured(['user', ...args, '--config', 'outpost.yaml'], { cwd: folder, stdin: 'pw\n' });
    assert.equal(result.exitCode, 1, args.join(' '));
    assert.equal(result.stderr, `outpost user: ${join(folder, 'outpost.yaml')} has no \`users\` key; set it (e.g. \`users: users\`) to name the users file, then run this again\n`);
  }
  assert.deepEqual(await readdir(folder), ['domains', 'outpost.yaml']);
});

test('a config with other problems is reported and no users file is left behind', async () => {
  const folder = await temp.write({ domains: 'example.org\n', 'outpost.yaml': minimalYaml('users: users', 'bogusKey: 1') });
  const result = await runCliCaptured(['user', 'add', 'a@example.org', '--config', 'outpost.yaml'], { cwd: folder, stdin: 'pw\n' });
  assert.equal(result.exitCode, 1);
  assert.match(result.stderr, /bogusKey/);
  assert.deepEqual(await readdir(folder), ['domains', 'outpost.yaml']);
});

test('user add ends with the settings a mail client needs, from the listeners the config runs', async () => {
  const certificate = await makeSelfSignedCertificate('mx.example.org');
  const folder = await temp.write({
    domains: 'example.org\n',
    'outpost.yaml': minimalYaml('users: users', 'listen:', '  - { address: 127.0.0.1, port: 587, mode: submission }', '  - { address: 127.0.0.1, port: 465, mode: smtps }', 'tls: { cert: cert.pem, key: key.pem }'),
    'cert.pem': certificate.cert,
    'key.pem': certificate.key,
  });
  const added = await runCliCaptured(['user', 'add', 'app@example.org', '--config', 'outpost.yaml'], { cwd: folder, stdin: 'long-enough\n' });
  assert.equal(added.exitCode, 0, added.stderr);
  assert.deepEqual(added.stdout.split('\n').slice(1), [
    'Mail client settings (outgoing mail server, SMTP):',
    '  server mx.example.org',
    '  port 587, connection security STARTTLS',
    '  port 465, connection security SSL/TLS',
    '  user name app@example.org, the password just set; "server requires authentication" (normal password)',
    '',
  ]);
});

test('user add refuses a password shorter than 8 characters, and a folder it cannot write, in one line each', async () => {
  const folder = await installation({ users: '' });
  const short = await runCliCaptured(['user', 'add', 'a@example.org', '--config', 'outpost.yaml'], { cwd: folder, stdin: 'seven77\n' });
  assert.deepEqual(short, { exitCode: 1, stdout: '', stderr: 'outpost user add: password shorter than 8 characters\n' });
  await writeFile(join(folder, 'elsewhere.yaml'), (await readFile(join(folder, 'outpost.yaml'), 'utf8')).replace(/^users: .*$/m, 'users: missing/users'));
  const missing = await runCliCaptured(['user', 'add', 'a@example.org', '--config', 'elsewhere.yaml'], { cwd: folder, stdin: 'long-enough\n' });
  assert.equal(missing.exitCode, 1);
  assert.equal(missing.stderr, `outpost user add: cannot write ${join(folder, 'missing/users')}: no such file (the folder ${join(folder, 'missing')} must exist and be writable by this user)\n`);
});

test('a first user add that fails leaves no users file behind', async () => {
  const folder = await installation();
  const result = await runCliCaptured(['user', 'add', 'a@elsewhere.example', '--config', 'outpost.yaml'], { cwd: folder, stdin: 'pw\n' });
  assert.equal(result.exitCode, 1);
  assert.deepEqual(await readdir(folder), ['domains', 'outpost.yaml']);
});

test('user list and remove on a users file that does not exist yet', async () => {
  const folder = await installation();
  const result = await runCliCaptured(['user', 'list', '--config', 'outpost.yaml'], { cwd: folder });
  assert.deepEqual(result, { exitCode: 0, stdout: '', stderr: `no users yet (${join(folder, 'users')} does not exist; \`outpost user add\` creates it)\n` });
  const removed = await runCliCaptured(['user', 'remove', 'a@example.org', '--config', 'outpost.yaml'], { cwd: folder });
  assert.equal(removed.exitCode, 1);
  assert.match(removed.stderr, /a@example\.org is not a user/);
});

test('user list reports bad lines of the users file with their line numbers', async () => {
  const folder = await installation({ users: '# users\ngarbage\n' });
  const result = await runCliCaptured(['user', 'list', '--config', 'outpost.yaml'], { cwd: folder });
  assert.deepEqual(result, { exitCode: 1, stdout: '', stderr: `${join(folder, 'users')}:2: expected address:hash\n` });
  const add = await runCliCaptured(['user', 'add', 'a@example.org', '--config', 'outpost.yaml'], { cwd: folder, stdin: 'long-enough\n' });
  assert.equal(add.exitCode, 1);
  assert.match(add.stderr, /users:2: expected address:hash\noutpost user add: fix the lines above first; .* was not changed\n$/);
  assert.equal(await readFile(join(folder, 'users'), 'utf8'), '# users\ngarbage\n');
});

const PASSWORD_PROBLEMS: ReadonlyArray<readonly [string, string | undefined, string]> = [
  ['nothing on stdin', '', 'no password on stdin (pipe it in, or run on a terminal)'],
  ['an empty line', '\n', 'empty password'],
  ['a line over 1024 octets', `${'x'.repeat(1025)}\n`, 'password longer than 1024 octets'],
  ['no stdin at all', undefined, 'no stdin to read the password from'],
];

for (const [name, stdin, problem] of PASSWORD_PROBLEMS) {
  test(`user add with ${name} fails with exit 1 and changes nothing`, async () => {
    const folder = await installation({ users: '' });
    const options = stdin === undefined ? { cwd: folder } : { cwd: folder, stdin };
    const result = await runCliCaptured(['user', 'add', 'a@example.org', '--config', 'outpost.yaml'], options);
    assert.deepEqual(result, { exitCode: 1, stdout: '', stderr: `outpost user add: ${problem}\n` });
    assert.equal(await readFile(join(folder, 'users'), 'utf8'), '');
  });
}

const USAGE_ERRORS: ReadonlyArray<readonly string[]> = [
  [],
  ['frob'],
  ['add'],
  ['add', 'a@example.org', 'secret-as-argument'],
  ['add', 'a@example.org', '--password', 'secret'],
  ['remove'],
  ['list', 'a@example.org'],
  ['add', 'not-an-address'],
  ['add', 'a b@example.org'],
];

for (const args of USAGE_ERRORS) {
  test(`user ${args.join(' ')} is a usage error (exit 2)`, async () => {
    const folder = await installation();
    const result = await runCliCaptured(['user', ...args, '--config', 'outpost.yaml'], { cwd: folder, stdin: 'pw\n' });
    assert.equal(result.exitCode, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /usage: outpost user add ADDRESS/);
    assert.deepEqual(await readdir(folder), ['domains', 'outpost.yaml']);
  });
}

test('outpost --help lists the user command; user --help prints its usage', async () => {
  const folder = await installation();
  assert.match((await runCliCaptured(['--help'], { cwd: folder })).stdout, /user add\|remove ADDRESS, user list/);
  const help = await runCliCaptured(['user', '--help'], { cwd: folder });
  assert.equal(help.exitCode, 0);
  assert.match(help.stdout, /^usage: outpost user add ADDRESS/);
});

/** Runs the real CLI on a pseudo-terminal (python3 pty), typing `typed` after each prompt. */
function runOnTerminal(args: readonly string[], cwd: string, typed: readonly string[]): Promise<{ status: number; screen: string }> {
  const script = `
import json, os, pty, sys
args, typed = json.loads(sys.argv[1]), json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(args[0], args)
screen, answers = b'', list(typed)
while True:
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    screen += chunk
    if answers and screen.count(b'Password') > len(typed) - len(answers):
        os.write(fd, answers.pop(0).encode())
_, status = os.waitpid(pid, 0)
print(json.dumps({'status': os.waitstatus_to_exitcode(status), 'screen': screen.decode('utf-8', 'replace')}))
`;
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', script, JSON.stringify([process.execPath, CLI_PATH, ...args]), JSON.stringify(typed)], { cwd, timeout: 30_000 }, (error, stdout) => {
      if (error !== null) reject(error);
      else resolve(JSON.parse(stdout) as { status: number; screen: string });
    });
  });
}

test('on a terminal, user add asks twice without echoing the password', async () => {
  const folder = await installation();
  const run = await runOnTerminal(['user', 'add', 'tty@example.org', '--config', 'outpost.yaml'], folder, ['t3rminal-pw\r', 't3rminal-pw\r']);
  assert.equal(run.status, 0, run.screen);
  assert.match(run.screen, /Password: [\s\S]*Password again: [\s\S]*added tty@example\.org/);
  assert.doesNotMatch(run.screen, /t3rminal-pw/);
  assert.equal(await (await loadUsersFile(join(folder, 'users'))).verify('tty@example.org', 't3rminal-pw'), true);
});

test('on a terminal, two different passwords change nothing', async () => {
  const folder = await installation({ users: '' });
  const run = await runOnTerminal(['user', 'add', 'tty@example.org', '--config', 'outpost.yaml'], folder, ['password-one\r', 'password-two\r']);
  assert.equal(run.status, 1, run.screen);
  assert.match(run.screen, /the two passwords differ; nothing changed/);
  assert.equal(await readFile(join(folder, 'users'), 'utf8'), '');
});

test('a users file written by user add is kept mode 0600 on rewrite', async () => {
  const folder = await installation();
  await writeFile(join(folder, 'users'), '', { mode: 0o600 });
  await runCliCaptured(['user', 'add', 'a@example.org', '--config', 'outpost.yaml'], { cwd: folder, stdin: 'pw\n' });
  assert.equal((await stat(join(folder, 'users'))).mode & 0o777, 0o600);
});
