// Where the config file is: --config, then $OUTPOST_CONFIG, then config/outpost.yaml;
// and the one-line answer when nothing is there (an unmounted Docker config folder).

import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { errnoCode } from '../core/errors.js';
import { writeLine, type CliIo } from './io.js';

export const DEFAULT_CONFIG_PATH = 'config/outpost.yaml';

export function configPath(option: string | undefined, io: CliIo): string {
  return resolve(io.cwd, option ?? io.env['OUTPOST_CONFIG'] ?? DEFAULT_CONFIG_PATH);
}

/**
 * When `file` does not exist: what to mount or write, in one line. Undefined when it
 * exists or fails otherwise (loading the config then says why).
 */
export async function missingConfigHint(file: string): Promise<string | undefined> {
  try {
    await stat(file);
    return undefined;
  } catch (error: unknown) {
    if (errnoCode(error) !== 'ENOENT') return undefined;
  }
  const folder = dirname(file);
  return `no config file at ${file}: put your config folder there (Docker: -v /srv/outpost:${folder}) or give --config FILE; \`outpost init ${folder}\` writes the samples to start from`;
}

/**
 * The config file the command uses (--config, $OUTPOST_CONFIG, the default), or undefined
 * after the one-line hint on stderr when nothing is there (the command then exits 1).
 */
export async function existingConfigFile(command: string, option: string | undefined, io: CliIo): Promise<string | undefined> {
  const file = configPath(option, io);
  const missing = await missingConfigHint(file);
  if (missing === undefined) return file;
  writeLine(io.stderr, `${command}: ${missing}`);
  return undefined;
}
