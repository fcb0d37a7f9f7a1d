// What every CLI command receives: its arguments, output streams and
// environment, so commands run in-process in tests with captured output.

import type { Writable } from 'node:stream';
import type { GatewayReader } from '../core/default-gateway.js';

export interface CliIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Input for commands that read it (`user add` reads the password); absent means none. */
  readonly stdin?: NodeJS.ReadableStream;
  /** The machine's default gateways (serve and check-config judge trustedNetworks by them); absent: the route tables in /proc. */
  readonly defaultGateways?: GatewayReader;
}

/** Exit codes (INTERFACE.md): 0 success, 1 operational failure, 2 usage. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export type CliCommand = (args: readonly string[], io: CliIo) => Promise<number>;

export function writeLine(stream: Writable, text: string): void {
  stream.write(`${text}\n`);
}

/**
 * What a command's parser returns when it does not go on: 'help' (usage on
 * stdout, exit 0) or a usage error (on stderr with the usage, exit 2).
 */
export function answerUsage(outcome: string, command: string, usage: string, io: CliIo): number {
  if (outcome === 'help') {
    writeLine(io.stdout, usage);
    return EXIT_OK;
  }
  writeLine(io.stderr, `outpost ${command}: ${outcome}\n${usage}`);
  return EXIT_USAGE;
}
