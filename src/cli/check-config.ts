// `outpost check-config [--config FILE]` (INTERFACE.md "Command line"): validates the
// config and the files it names; prints every problem, exit 0 (valid), 1 (problems), 2 (usage).

import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { systemGatewayReader } from '../core/default-gateway.js';
import { loadDkimKeys } from '../dkim/keys.js';
import { ConfigErrors, errorMessage } from '../core/errors.js';
import { existingConfigFile } from './config-path.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, writeLine, type CliCommand } from './io.js';

const USAGE = 'usage: outpost check-config [--config FILE]';

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

export const checkConfigCommand: CliCommand = async (args, io) => {
  let options: { config?: string | undefined; help?: boolean | undefined };
  try {
    const parsed = parseArgs({
      args: [...args],
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    options = parsed.values;
  } catch (error: unknown) {
    writeLine(io.stderr, `outpost check-config: ${errorMessage(error)}\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (options.help === true) {
    writeLine(io.stdout, USAGE);
    return EXIT_OK;
  }
  const file = await existingConfigFile('outpost check-config', options.config, io);
  if (file === undefined) return EXIT_FAILURE;
  try {
    const config = await loadConfig(file, io.env, { checkDkimKeys: true, defaultGateways: io.defaultGateways ?? systemGatewayReader() });
    const keys = await loadDkimKeys(config.dkim.keysFolder, (domain) => config.domains.has(domain));
    for (const { file: keyFile, problem } of keys.warnings) writeLine(io.stderr, `warning: ${keyFile}: ${problem}`);
    writeLine(io.stdout, `config OK: ${file} (${plural(config.domains.size, 'local domain')}, ${plural(config.listen.length, 'listener')}, ${plural(keys.keys.length, 'DKIM key')})`);
    return EXIT_OK;
  } catch (error: unknown) {
    if (!(error instanceof ConfigErrors)) throw error;
    for (const problem of error.problems) writeLine(io.stderr, problem.message);
    return EXIT_FAILURE;
  }
};
