// The TLS reporting keys (tlsrpt.enabled, organization, contact): defaults, YAML,
// the environment, and errors naming the file's line and the key.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { ConfigErrors } from '../../src/core/errors.js';
import { minimalYaml, TempConfigs } from './temp-config.js';

const temp = new TempConfigs();
after(() => temp.removeAll());

async function load(yaml: string, env: Record<string, string> = {}): Promise<Config> {
  const folder = await temp.write({ domains: 'example.org\n', 'outpost.yaml': yaml });
  return loadConfig(join(folder, 'outpost.yaml'), env);
}

async function problems(yaml: string, env: Record<string, string> = {}): Promise<string[]> {
  const error = await load(yaml, env).then(
    () => assert.fail('the config was accepted'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof ConfigErrors, String(error));
  return error.problems.map((problem) => `${problem.line ?? '-'} ${problem.key ?? ''}: ${problem.problem}`);
}

describe('tlsrpt', () => {
  it('is on by default, organization and contact "" (the hostname and postmaster@hostname in reports)', async () => {
    assert.deepEqual((await load(minimalYaml())).tlsrpt, { enabled: true, organization: '', contact: '' });
  });

  it('reads the keys from YAML and from OUTPOST_TLSRPT_*', async () => {
    const config = await load(minimalYaml('tlsrpt: { enabled: false, organization: " Example Org ", contact: "tls@example.org" }'));
    assert.deepEqual(config.tlsrpt, { enabled: false, organization: 'Example Org', contact: 'tls@example.org' });
    const fromEnv = await load(minimalYaml('tlsrpt: { enabled: false }'), { OUTPOST_TLSRPT_ENABLED: 'true', OUTPOST_TLSRPT_ORGANIZATION: 'Env Org', OUTPOST_TLSRPT_CONTACT: 'https://example.org/tls' });
    assert.deepEqual(fromEnv.tlsrpt, { enabled: true, organization: 'Env Org', contact: 'https://example.org/tls' });
  });

  it('refuses unknown keys, non-text and control characters, naming line and key', async () => {
    const yaml = minimalYaml('tlsrpt:', '  enabled: yes please', '  organization: [a]', '  contact: "a\\nb"', '  rua: mailto:x@example.org');
    assert.deepEqual(await problems(yaml), [
      '4 tlsrpt.enabled: "yes please" is not true or false',
      '5 tlsrpt.organization: a list is not text (or "" for the default)',
      '6 tlsrpt.contact: "a\\nb" contains a control character',
      '7 tlsrpt.rua: unknown key',
    ]);
  });
});
