// `outpost --version` (INTERFACE.md "Command line") prints the package version.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { runCliCaptured } from '../helpers/run-cli.js';

it('prints the version of package.json for --version and -V', async () => {
  const manifest = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    assert.deepEqual(await runCliCaptured([flag], { cwd: process.cwd() }), { exitCode: 0, stdout: `outpost ${manifest.version}\n`, stderr: '' });
  }
});
