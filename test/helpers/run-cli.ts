// Runs the `outpost` command in-process (runCli) with stdout and stderr
// captured as text, for CLI tests.

import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/main.js';

export interface CliRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRunOptions {
  readonly cwd: string;
  readonly env?: Readonly<Record<string, string>>;
}

export async function runCliCaptured(args: readonly string[], options: CliRunOptions): Promise<CliRun> {
  const stdout = capture();
  const stderr = capture();
  const exitCode = await runCli(args, { stdout: stdout.stream, stderr: stderr.stream, env: options.env ?? {}, cwd: options.cwd });
  return { exitCode, stdout: stdout.text(), stderr: stderr.text() };
}

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}
