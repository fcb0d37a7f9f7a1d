// `outpost doctor [DOMAIN] [--json] [--config FILE]` (INTERFACE.md "Command line"): checks the
// live DNS of the local domains through outpost's own resolver; exit 0 nothing fails, 1 otherwise, 2 usage.

import { parseArgs } from 'node:util';
import { systemClock } from '../core/clock.js';
import { canonicalDomain } from '../core/domain.js';
import { errorMessage } from '../core/errors.js';
import { createResolver } from '../dns/setup.js';
import { reportToJson } from '../doctor/json.js';
import { runDoctorFromConfig } from '../doctor/run.js';
import { reportToText } from '../doctor/text-table.js';
import { answerUsage, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, writeLine, type CliCommand } from './io.js';
import { loadConfigOrReport } from './config-load.js';

const USAGE = `usage: outpost doctor [DOMAIN] [--json] [--config FILE]

checks what receivers check, in live DNS, for each local domain (or DOMAIN):
SPF for each publicAddresses entry, DKIM records of the keys on disk, DMARC,
reverse DNS (PTR confirmed forward) and the hostname, MX, submission SRV,
MTA-STS and TLS-RPT; prints the record to publish for every problem.
exit 0 when nothing fails (warnings allowed), 1 otherwise`;

interface DoctorOptions {
  readonly domain: string | undefined;
  readonly json: boolean;
  readonly config: string | undefined;
}

function parse(args: readonly string[]): DoctorOptions | 'help' | string {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
    if (values.help === true) return 'help';
    if (positionals.length > 1) return 'expected at most one DOMAIN';
    return { domain: positionals[0], json: values.json === true, config: values.config };
  } catch (error: unknown) {
    return errorMessage(error);
  }
}

export const doctorCommand: CliCommand = async (args, io) => {
  const options = parse(args);
  if (typeof options === 'string') return answerUsage(options, 'doctor', USAGE, io);
  const config = await loadConfigOrReport(options.config, io);
  if (config === undefined) return EXIT_FAILURE;
  let domains: string[] | undefined;
  if (options.domain !== undefined) {
    const domain = canonicalDomain(options.domain);
    if (domain === undefined || !config.domains.has(domain)) {
      writeLine(io.stderr, `outpost doctor: ${options.domain} is not a local domain (not in ${config.domainsFile})`);
      return EXIT_USAGE;
    }
    domains = [domain];
  }
  if (config.domains.size === 0) writeLine(io.stderr, `outpost doctor: no local domains in ${config.domainsFile}; checking the hostname only`);
  const resolver = await createResolver(config.dns, { clock: systemClock });
  const report = await runDoctorFromConfig(config, resolver, domains);
  writeLine(io.stdout, options.json ? JSON.stringify(reportToJson(report)) : reportToText(report));
  return report.ok ? EXIT_OK : EXIT_FAILURE;
};
