// `outpost serve [--config FILE]`: runs the relay in the foreground until
// SIGTERM/SIGINT; SIGHUP reloads the domains file and certificate (INTERFACE.md "Signals").

import { parseArgs } from 'node:util';
import { systemClock } from '../core/clock.js';
import { ConfigErrors, OutpostError, errorMessage } from '../core/errors.js';
import { loadConfig } from '../config/load.js';
import { systemGatewayReader } from '../core/default-gateway.js';
import { startRelay } from '../main.js';
import { createLogger } from '../observability/logger.js';
import { existingConfigFile } from './config-path.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, writeLine, type CliCommand } from './io.js';

const USAGE = 'usage: outpost serve [--config FILE]     run the relay in the foreground until SIGTERM/SIGINT';

export const serveCommand: CliCommand = async (args, io) => {
  let values: { config?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({ args: [...args], options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (error: unknown) {
    writeLine(io.stderr, `outpost serve: ${errorMessage(error)}\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (values.help === true) {
    writeLine(io.stdout, USAGE);
    return EXIT_OK;
  }
  const file = await existingConfigFile('outpost serve', values.config, io);
  if (file === undefined) return EXIT_FAILURE;
  let config;
  try {
    config = await loadConfig(file, io.env, { checkDkimKeys: true, defaultGateways: io.defaultGateways ?? systemGatewayReader() });
  } catch (error: unknown) {
    if (!(error instanceof ConfigErrors)) throw error;
    writeLine(io.stderr, `outpost serve: invalid configuration\n${error.message}`);
    return EXIT_FAILURE;
  }
  const logger = createLogger(config.log.level);
  let relay;
  try {
    relay = await startRelay(config, { logger, clock: systemClock });
  } catch (error: unknown) {
    if (!(error instanceof OutpostError)) throw error;
    logger.fatal({ code: error.code }, error.message);
    logger.flush();
    writeLine(io.stderr, `outpost serve: ${error.message}`);
    return EXIT_FAILURE;
  }
  logger.info({ config: file, hostname: config.hostname, domains: config.domains.size }, 'outpost started');
  const running = relay;
  const reload = (): void => {
    void running.reload();
  };
  process.on('SIGHUP', reload);
  const signal = await new Promise<NodeJS.Signals | 'failed'>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
    // The queue on disk could not be loaded after the start (logged): stop as if told to, and fail.
    void running.failed.then(() => resolve('failed'));
  });
  logger.info({ signal }, 'shutting down');
  process.off('SIGHUP', reload);
  await running.stop();
  logger.info('stopped');
  logger.flush();
  return signal === 'failed' ? EXIT_FAILURE : EXIT_OK;
};
