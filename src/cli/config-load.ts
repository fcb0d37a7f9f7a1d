// Loading the config for a command: --config / $OUTPOST_CONFIG / the default
// file, with every problem printed (file:line: key: problem) instead of thrown.

import { loadConfig, type LoadOptions } from '../config/load.js';
import type { Config } from '../config/types.js';
import { ConfigErrors } from '../core/errors.js';
import { existingConfigFile } from './config-path.js';
import { writeLine, type CliIo } from './io.js';

/** The config, or undefined after printing its problems to stderr (the command then exits 1). */
export async function loadConfigOrReport(option: string | undefined, io: CliIo, options: LoadOptions = {}): Promise<Config | undefined> {
  const file = await existingConfigFile('outpost', option, io);
  if (file === undefined) return undefined;
  try {
    return await loadConfig(file, io.env, options);
  } catch (error: unknown) {
    if (!(error instanceof ConfigErrors)) throw error;
    for (const problem of error.problems) writeLine(io.stderr, problem.message);
    return undefined;
  }
}
