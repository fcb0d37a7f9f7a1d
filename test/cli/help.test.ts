// Every command and subcommand answers --help with its usage on stdout and exit 0,
// and `outpost --help` names every command (INTERFACE.md "Command line").

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { runCliCaptured } from '../helpers/run-cli.js';

const COMMANDS: readonly (readonly string[])[] = [
  ['serve'],
  ['check-config'],
  ['health'],
  ['init'],
  ['queue'],
  ['queue', 'list'],
  ['queue', 'show'],
  ['queue', 'why'],
  ['queue', 'flush'],
  ['queue', 'delete'],
  ['queue', 'bounce'],
  ['resolve'],
  ['user'],
  ['user', 'add'],
  ['user', 'remove'],
  ['user', 'list'],
  ['dkim'],
  ['dkim', 'keygen'],
  ['dkim', 'records'],
  ['dkim', 'rotate'],
  ['doctor'],
  ['suppress'],
  ['suppress', 'list'],
  ['suppress', 'add'],
  ['suppress', 'remove'],
];

for (const command of COMMANDS) {
  it(`outpost ${command.join(' ')} --help prints its usage and exits 0`, async () => {
    const result = await runCliCaptured([...command, '--help'], { cwd: '/' });
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^usage: outpost ${command[0]} `));
    assert.equal(result.stderr, '');
  });
}

it('outpost --help lists every command', async () => {
  const { stdout, exitCode } = await runCliCaptured(['--help'], { cwd: '/' });
  assert.equal(exitCode, 0);
  for (const name of new Set(COMMANDS.map((command) => command.join(' ')))) {
    if (name === 'user' || name === 'dkim' || name === 'queue' || name === 'suppress' || name.startsWith('user ') || /^suppress (add|remove)$/.test(name)) continue;
    assert.match(stdout, new RegExp(`\\n  ${name}[ \\[]`), name);
  }
  assert.match(stdout, /\n {2}user add\|remove ADDRESS, user list/);
  assert.match(stdout, /\n {2}suppress add\|remove ADDRESS/);
});
