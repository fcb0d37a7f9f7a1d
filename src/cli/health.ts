// `outpost health [--config FILE]`: asks the running server's `GET /healthz` on the
// configured `http.address:port` (a wildcard address on loopback) and prints one
// line; exit 0 healthy, 1 not. The Docker image's HEALTHCHECK.

import { parseArgs } from 'node:util';
import { readHttpEndpoint } from '../config/http-endpoint.js';
import { errorMessage } from '../core/errors.js';
import { probeHealth } from '../observability/health-probe.js';
import { existingConfigFile } from './config-path.js';
import { answerUsage, EXIT_FAILURE, EXIT_OK, writeLine, type CliCommand } from './io.js';

const USAGE = 'usage: outpost health [--config FILE]     GET /healthz of the running server (http.address:port); exit 0 healthy, 1 not';

/** Under the server's own 5 s deadline per check plus the start of a node process, within Docker's HEALTHCHECK timeout (10 s). */
export const HEALTH_TIMEOUT_MS = 8_000;

export const healthCommand: CliCommand = async (args, io) => {
  let config: string | undefined;
  try {
    const { values } = parseArgs({ args: [...args], options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
    if (values.help === true) return answerUsage('help', 'health', USAGE, io);
    config = values.config;
  } catch (error: unknown) {
    return answerUsage(errorMessage(error), 'health', USAGE, io);
  }
  const file = await existingConfigFile('outpost health', config, io);
  if (file === undefined) return EXIT_FAILURE;
  const read = await readHttpEndpoint(file, io.env);
  if (!read.ok) {
    for (const problem of read.problems) writeLine(io.stderr, `outpost health: ${problem.message}`);
    return EXIT_FAILURE;
  }
  if (!read.endpoint.on) {
    writeLine(io.stderr, `outpost health: the HTTP endpoint is off (http: false in ${file}), so there is no /healthz to ask`);
    return EXIT_FAILURE;
  }
  const { address, port } = read.endpoint.http;
  if (port === 0) {
    writeLine(io.stderr, `outpost health: http.port is 0 in ${file} (a free port picked at start): give http a fixed port`);
    return EXIT_FAILURE;
  }
  const result = await probeHealth({ address, port, timeoutMs: HEALTH_TIMEOUT_MS });
  writeLine(result.healthy ? io.stdout : io.stderr, result.line);
  return result.healthy ? EXIT_OK : EXIT_FAILURE;
};
