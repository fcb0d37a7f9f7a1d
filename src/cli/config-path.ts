// Where the config file is: --config, then $OUTPOST_CONFIG, then config/outpost.yaml.

import { resolve } from 'node:path';
import type { CliIo } from './io.js';

export const DEFAULT_CONFIG_PATH = 'config/outpost.yaml';

export function configPath(option: string | undefined, io: CliIo): string {
  return resolve(io.cwd, option ?? io.env['OUTPOST_CONFIG'] ?? DEFAULT_CONFIG_PATH);
}
