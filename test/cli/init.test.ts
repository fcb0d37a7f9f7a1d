// `outpost init DIR` writes the shipped samples to start from (never overwriting), and
// commands started without a config file say in one line what to mount or write.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TempConfigs } from '../config/temp-config.js';
import { runOutpost } from '../helpers/outpost-process.js';
import { runCliCaptured } from '../helpers/run-cli.js';

const temp = new TempConfigs();
after(() => temp.removeAll());

const SAMPLES = fileURLToPath(new URL('../../../config/', import.meta.url));

test('init writes the shipped outpost.yaml and domains into a new folder; they pass check-config and take a user', async () => {
  const target = join(await temp.write({}), 'etc', 'outpost');
  const result = await runCliCaptured(['init', target], { cwd: '/' });
  const config = join(target, 'outpost.yaml');
  assert.deepEqual(result, {
    exitCode: 0,
    stdout: `wrote ${config} and ${join(target, 'domains')}: set hostname in ${config} and your domains in ${join(target, 'domains')}, then run \`outpost check-config --config ${config}\`\n`,
    stderr: '',
  });
  assert.deepEqual((await readdir(target)).sort(), ['domains', 'outpost.yaml']);
  for (const name of ['outpost.yaml', 'domains']) {
    assert.equal(await readFile(join(target, name), 'utf8'), await readFile(join(SAMPLES, name), 'utf8'), name);
    assert.equal((await stat(join(target, name))).mode & 0o777, 0o644, name);
  }
  const checked = await runCliCaptured(['check-config', '--config', config], { cwd: '/' });
  assert.equal(checked.exitCode, 0, checked.stderr);
  const added = await runCliCaptured(['user', 'add', 'app@example.org', '--config', config], { cwd: '/', stdin: 'a long password\n' });
  assert.equal(added.exitCode, 0, added.stderr);
  assert.equal((await stat(join(target, 'users'))).mode & 0o777, 0o600, 'the sample config names a users file, created by user add');
});

test('init never overwrites: with either file present it writes nothing and exits 1', async () => {
  const folder = await temp.write({ 'domains': 'mine.example\n' });
  const result = await runCliCaptured(['init', '.'], { cwd: folder });
  assert.deepEqual(result, { exitCode: 1, stdout: '', stderr: `outpost init: ${join(folder, 'domains')} already exists; nothing was written\n` });
  assert.deepEqual(await readdir(folder), ['domains']);
  assert.equal(await readFile(join(folder, 'domains'), 'utf8'), 'mine.example\n');
});

test('init says in one line when it cannot write the folder', async () => {
  const folder = await temp.write({});
  await writeFile(join(folder, 'file'), '');
  const result = await runCliCaptured(['init', join(folder, 'file', 'sub')], { cwd: '/' });
  assert.equal(result.exitCode, 1);
  assert.equal(result.stderr, `outpost init: cannot write into ${join(folder, 'file', 'sub')}: a part of the path is not a folder (the folder must be writable by this user)\n`);
});

test('init takes exactly one DIR: usage errors exit 2, --help exits 0', async () => {
  assert.equal((await runCliCaptured(['init'], { cwd: '/' })).exitCode, 2);
  assert.equal((await runCliCaptured(['init', 'a', 'b'], { cwd: '/' })).exitCode, 2);
  const help = await runCliCaptured(['init', '--help'], { cwd: '/' });
  assert.equal(help.exitCode, 0);
  assert.match(help.stdout, /^usage: outpost init DIR/);
});

test('serve, user add and queue list without a config file print one line saying what to mount, exit 1', async () => {
  const folder = join(await temp.write({}), 'etc-outpost');
  await mkdir(folder);
  const file = join(folder, 'outpost.yaml');
  const hint = `no config file at ${file}: put your config folder there (Docker: -v /srv/outpost:${folder}) or give --config FILE; \`outpost init ${folder}\` writes the samples to start from`;
  const serve = await runOutpost(['serve'], { OUTPOST_CONFIG: file });
  assert.deepEqual(serve, { code: 1, stdout: '', stderr: `outpost serve: ${hint}\n` });
  const user = await runCliCaptured(['user', 'add', 'app@example.org'], { cwd: '/', env: { OUTPOST_CONFIG: file }, stdin: 'a long password\n' });
  assert.deepEqual(user, { exitCode: 1, stdout: '', stderr: `outpost: ${hint}\n` });
  const queue = await runCliCaptured(['queue', 'list', '--config', file], { cwd: '/' });
  assert.deepEqual(queue, { exitCode: 1, stdout: '', stderr: `outpost queue: ${hint}\n` });
});
