// `OUTPOST_<KEY>_FILE` (INTERFACE.md "Configuration", the Docker secrets convention):
// a key's value read from a file, trailing line ends removed; errors name the variable
// and the file and never show a value read from a file.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { envFileVariables, envKeys, readEnvOverrides } from '../../src/config/env.js';
import { MAX_VALUE_FILE_BYTES } from '../../src/config/files.js';
import { loadConfig } from '../../src/config/load.js';
import { ConfigErrors } from '../../src/core/errors.js';
import { minimalYaml, TempConfigs } from './temp-config.js';

const temp = new TempConfigs();
after(() => temp.removeAll());

/** A folder with a valid minimal config plus `files`; returns paths in it. */
async function folderWith(files: Readonly<Record<string, string>> = {}): Promise<{ folder: string; config: string; path: (name: string) => string }> {
  const folder = await temp.write({ domains: 'example.org\n', 'outpost.yaml': minimalYaml(), ...files });
  return { folder, config: join(folder, 'outpost.yaml'), path: (name) => join(folder, name) };
}

/** The messages of the ConfigErrors that loading throws. */
async function loadProblems(config: string, env: Record<string, string>): Promise<string[]> {
  try {
    await loadConfig(config, env);
  } catch (error: unknown) {
    assert.ok(error instanceof ConfigErrors, String(error));
    return error.problems.map((problem) => problem.message);
  }
  assert.fail('the config loaded without problems');
}

test('env file: OUTPOST_HOSTNAME_FILE sets hostname from the file, its trailing line end removed', async () => {
  const { config, path } = await folderWith({ hostname: 'mx2.example.org\n', crlf: 'mx3.example.org\r\n' });
  assert.equal((await loadConfig(config, { OUTPOST_HOSTNAME_FILE: path('hostname') })).hostname, 'mx2.example.org');
  assert.equal((await loadConfig(config, { OUTPOST_HOSTNAME_FILE: path('crlf') })).hostname, 'mx3.example.org');
});

test('env file: a list and a number are read as their plain variables would be', async () => {
  const { config, path } = await folderWith({ servers: '10.0.0.2, 10.0.0.3:5353\n', port: '2525\n' });
  const loaded = await loadConfig(config, { OUTPOST_DNS_SERVERS_FILE: path('servers'), OUTPOST_DELIVERY_PORT_FILE: path('port') });
  assert.deepEqual(loaded.dns.servers, [{ host: '10.0.0.2', port: 53 }, { host: '10.0.0.3', port: 5353 }]);
  assert.equal(loaded.delivery.port, 2525);
});

test('env file: every key whose value is not a path has a _FILE variable; path keys have none', () => {
  const keys = envKeys();
  const fileVariables = envFileVariables(keys);
  const pathKeys = [...keys.values()].filter((key) => key.namesFile).map((key) => key.path).sort();
  assert.deepEqual(pathKeys, ['delivery.caFile', 'dkim.keys', 'domains', 'spoolDir', 'tls.cert', 'tls.key', 'users', 'verifyRecipients.file']);
  assert.equal(fileVariables.size, keys.size - pathKeys.length);
  assert.equal(fileVariables.get('OUTPOST_HOSTNAME_FILE')?.path, 'hostname');
  assert.equal(fileVariables.get('OUTPOST_DELIVERY_ROUTES_FILE')?.path, 'delivery.routes');
  for (const absent of ['OUTPOST_TLS_KEY_FILE', 'OUTPOST_USERS_FILE', 'OUTPOST_DOMAINS_FILE', 'OUTPOST_SPOOL_DIR_FILE']) assert.ok(!fileVariables.has(absent), absent);
});

test('env file: a missing, a folder, an empty and an oversized file are errors naming the variable and the file', async () => {
  const { config, folder, path } = await folderWith({ empty: '\n', large: 'x'.repeat(MAX_VALUE_FILE_BYTES + 1) });
  await mkdir(path('folder'));
  const cases: ReadonlyArray<readonly [string, string]> = [
    [path('absent'), `cannot read ${path('absent')}: no such file`],
    [path('folder'), `cannot read ${path('folder')}: it is not a regular file`],
    [path('empty'), `${path('empty')} is empty`],
    [path('large'), `${path('large')} is larger than ${MAX_VALUE_FILE_BYTES} bytes`],
    [join(folder, 'domains', 'x'), `cannot read ${join(folder, 'domains', 'x')}: a part of the path is not a folder`],
  ];
  for (const [file, problem] of cases) {
    assert.deepEqual(await loadProblems(config, { OUTPOST_HOSTNAME_FILE: file }), [`environment: OUTPOST_HOSTNAME_FILE: ${problem}`]);
  }
});

test('env file: a bad value read from a file is reported without the value', async () => {
  const { config, path } = await folderWith({ port: 'hunter2-secret\n', level: 's3cret-level\n', routes: 'not a route s3cret\n', number: '70000\n' });
  assert.deepEqual(await loadProblems(config, { OUTPOST_HTTP_PORT_FILE: path('port') }), [
    `environment: OUTPOST_HTTP_PORT_FILE: the value is not a port number (0-65535) (the value read from ${path('port')}, not shown)`,
  ]);
  assert.deepEqual(await loadProblems(config, { OUTPOST_DELIVERY_PORT_FILE: path('number') }), [
    `environment: OUTPOST_DELIVERY_PORT_FILE: the value is not a port number (0-65535) (the value read from ${path('number')}, not shown)`,
  ]);
  const level = await loadProblems(config, { OUTPOST_LOG_LEVEL_FILE: path('level') });
  assert.equal(level.length, 1);
  assert.match(level[0] ?? '', /^environment: OUTPOST_LOG_LEVEL_FILE: the value is not one of fatal, error/);
  const routes = readEnvOverrides({ OUTPOST_DELIVERY_ROUTES_FILE: path('routes') });
  assert.deepEqual(routes.problems.map((problem) => problem.message), [
    `environment: OUTPOST_DELIVERY_ROUTES_FILE: the value is not domain=host[:port] (the value read from ${path('routes')}, not shown)`,
  ]);
  for (const message of [...level, ...routes.problems.map((problem) => problem.message)]) assert.doesNotMatch(message, /s3cret/);
});

test('env file: setting a key both ways is an error; a path key points at its plain variable', async () => {
  const { config, path } = await folderWith({ hostname: 'mx2.example.org\n' });
  assert.deepEqual(await loadProblems(config, { OUTPOST_HOSTNAME: 'mx1.example.org', OUTPOST_HOSTNAME_FILE: path('hostname') }), [
    'environment: OUTPOST_HOSTNAME: set OUTPOST_HOSTNAME or OUTPOST_HOSTNAME_FILE, not both',
  ]);
  assert.deepEqual(await loadProblems(config, { OUTPOST_TLS_KEY_FILE: '/run/secrets/tls-key' }), [
    "environment: OUTPOST_TLS_KEY_FILE: tls.key already names a file: set OUTPOST_TLS_KEY to the file's path (_FILE reads a value from a file, for keys whose value is not a path)",
  ]);
  assert.deepEqual(await loadProblems(config, { OUTPOST_HOSTNAM_FILE: path('hostname') }), [
    'environment: OUTPOST_HOSTNAM_FILE: unknown variable (did you mean OUTPOST_HOSTNAME_FILE?)',
  ]);
});
