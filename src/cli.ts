#!/usr/bin/env node
// Entry point of the `outpost` executable: runs the CLI and sets the exit code.

import { runCli } from './cli/main.js';

const exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  stdin: process.stdin,
});
process.exitCode = exitCode;
