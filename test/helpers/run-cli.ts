// Runs the `outpost` command in-process (runCli) with stdout and stderr
// captured as text, for CLI tests.

import { PassThrough, Readable } from 'node:stream';
import { runCli } from '../../src/cli/main.js';

export interface CliRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRunOptions {
  readonly cwd: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Text (or a stream) the command reads as stdin; none when absent. */
  readonly stdin?: string | NodeJS.ReadableStream;
  /** The default gateways the command sees (serve and check-config); absent: none (tests never depend on the machine's routes). */
  readonly defaultGateways?: readonly string[];
}

export async function runCliCaptured(args: readonly string[], options: CliRunOptions): Promise<CliRun> {
  const stdout = capture();
  const stderr = capture();
  const gateways = options.defaultGateways ?? [];
  const io = { stdout: stdout.stream, stderr: stderr.stream, env: options.env ?? {}, cwd: options.cwd, defaultGateways: () => Promise.resolve(gateways) };
  const stdin = typeof options.stdin === 'string' ? Readable.from([Buffer.from(options.stdin, 'utf8')]) : options.stdin;
  const exitCode = await runCli(args, stdin === undefined ? io : { ...io, stdin });
  return { exitCode, stdout: stdout.text(), stderr: stderr.text() };
}

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}
