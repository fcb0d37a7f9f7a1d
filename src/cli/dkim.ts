// `outpost dkim keygen|records|rotate` (INTERFACE.md "Command line"): makes DKIM keys
// in the config's dkim.keys folder and prints the TXT records to publish (RFC 6376 §3.6, RFC 8463).

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '../config/types.js';
import { canonicalDomain } from '../core/domain.js';
import { errorMessage, OutpostError } from '../core/errors.js';
import { DEFAULT_RSA_BITS } from '../dkim/key-files.js';
import { loadDkimKeys, MIN_RSA_BITS, RECOMMENDED_RSA_BITS, type DkimKey, type KeyProblem } from '../dkim/keys.js';
import { createKey, type NewKey } from '../dkim/new-key.js';
import { dkimRecord } from '../dkim/record.js';
import { isValidSelector } from '../dkim/selector.js';
import { answerUsage, EXIT_FAILURE, EXIT_OK, writeLine, type CliCommand, type CliIo } from './io.js';
import { loadConfigOrReport } from './config-load.js';

const USAGE = `usage: outpost dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519] [--bits N] [--config FILE]
       outpost dkim records [DOMAIN] [--config FILE]
       outpost dkim rotate DOMAIN [--config FILE]`;

/** Larger keys take long to make and overflow what many DNS hosts accept. */
const MAX_RSA_BITS = 8192;

export interface DkimDeps {
  readonly nowMs: () => number;
}

type DkimAction =
  | { readonly verb: 'keygen'; readonly domain: string; readonly algorithm: 'rsa' | 'ed25519'; readonly rsaBits: number; readonly selector: string | undefined }
  | { readonly verb: 'records'; readonly domain: string | undefined }
  | { readonly verb: 'rotate'; readonly domain: string };

function parse(args: readonly string[]): { action: DkimAction; config: string | undefined } | 'help' | string {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        config: { type: 'string', short: 'c' },
        selector: { type: 'string', short: 's' },
        algorithm: { type: 'string', short: 'a' },
        bits: { type: 'string', short: 'b' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (error: unknown) {
    return errorMessage(error);
  }
  const { values, positionals } = parsed;
  if (values.help === true) return 'help';
  const [verb, domainArgument, ...extra] = positionals;
  if (verb !== 'keygen' && verb !== 'records' && verb !== 'rotate') return verb === undefined ? 'expected keygen, records or rotate' : `unknown subcommand '${verb}'`;
  if (extra.length > 0) return `dkim ${verb} takes at most one DOMAIN`;
  if (verb !== 'keygen' && (values.selector !== undefined || values.algorithm !== undefined || values.bits !== undefined)) {
    return `--selector, --algorithm and --bits go with dkim keygen only`;
  }
  const domain = domainArgument === undefined ? undefined : canonicalDomain(domainArgument);
  if (domainArgument !== undefined && domain === undefined) return `'${domainArgument}' is not a domain name`;
  if (verb === 'records') return { action: { verb, domain }, config: values.config };
  if (domain === undefined) return `dkim ${verb} needs a DOMAIN`;
  if (verb === 'rotate') return { action: { verb, domain }, config: values.config };
  const algorithm = values.algorithm ?? 'rsa';
  if (algorithm !== 'rsa' && algorithm !== 'ed25519') return `--algorithm must be rsa or ed25519, not '${algorithm}'`;
  if (algorithm === 'ed25519' && values.bits !== undefined) return '--bits goes with --algorithm rsa only (Ed25519 keys have one size)';
  const rsaBits = values.bits === undefined ? DEFAULT_RSA_BITS : /^\d+$/.test(values.bits) ? Number(values.bits) : Number.NaN;
  if (!(rsaBits >= MIN_RSA_BITS && rsaBits <= MAX_RSA_BITS)) return `--bits must be a whole number from ${MIN_RSA_BITS} to ${MAX_RSA_BITS} (RFC 8301; ${RECOMMENDED_RSA_BITS} recommended)`;
  if (values.selector !== undefined && !isValidSelector(values.selector)) {
    return `'${values.selector}' is not a valid selector: letters, digits and hyphens in dot-separated labels (RFC 6376 §3.1)`;
  }
  return { action: { verb, domain, algorithm, rsaBits, selector: values.selector }, config: values.config };
}

/** The command with an injected clock (the default selectors carry today's UTC date). */
export async function runDkim(args: readonly string[], io: CliIo, deps: DkimDeps): Promise<number> {
  const options = parse(args);
  if (typeof options === 'string') return answerUsage(options, 'dkim', USAGE, io);
  const config = await loadConfigOrReport(options.config, io);
  if (config === undefined) return EXIT_FAILURE;
  const { action } = options;
  if (action.verb === 'records') return listRecords(config, action.domain, io);
  if (!config.domains.has(action.domain)) {
    writeLine(io.stderr, `outpost dkim ${action.verb}: ${action.domain} is not a local domain (not in ${config.domainsFile}); outpost signs only for its own domains, so add it there first`);
    return EXIT_FAILURE;
  }
  if (action.verb === 'keygen') return keygen(action, config, io, deps);
  return rotate(action.domain, config, io, deps);
}

export const dkimCommand: CliCommand = (args, io) => runDkim(args, io, { nowMs: () => Date.now() });

async function keygen(action: DkimAction & { verb: 'keygen' }, config: Config, io: CliIo, deps: DkimDeps): Promise<number> {
  if (action.algorithm === 'rsa' && action.rsaBits < RECOMMENDED_RSA_BITS) {
    writeLine(io.stderr, `warning: ${action.rsaBits}-bit RSA keys are weak; RFC 8301 recommends at least ${RECOMMENDED_RSA_BITS} bits`);
  }
  const request = { folder: config.dkim.keysFolder, domain: action.domain, algorithm: action.algorithm, rsaBits: action.rsaBits, nowMs: deps.nowMs() };
  const made = await createOrReport('keygen', action.selector === undefined ? request : { ...request, selector: action.selector }, io);
  if (made === undefined) return EXIT_FAILURE;
  writeLine(io.stdout, `wrote ${made.file}`);
  writeLine(io.stdout, recordBlock(made));
  writeLine(io.stdout, `Publish this TXT record in the DNS of ${action.domain}, then run \`outpost doctor ${action.domain}\` to check it (a running outpost reads new key files on SIGHUP).`);
  return EXIT_OK;
}

async function rotate(domain: string, config: Config, io: CliIo, deps: DkimDeps): Promise<number> {
  const loaded = await loadDkimKeys(config.dkim.keysFolder, (name) => config.domains.has(name));
  const domainFolder = join(config.dkim.keysFolder, domain);
  reportProblems(loaded, (file) => file.startsWith(`${domainFolder}/`) || file === domainFolder, io);
  const current = loaded.keys.filter((key) => key.domain === domain);
  if (current.length === 0) {
    writeLine(io.stderr, `outpost dkim rotate: ${domain} has no DKIM keys in ${domainFolder}; make the first one with \`outpost dkim keygen ${domain}\``);
    return EXIT_FAILURE;
  }
  const made: NewKey[] = [];
  for (const newest of newestPerAlgorithm(current)) {
    const algorithm = newest.algorithm === 'rsa-sha256' ? 'rsa' : 'ed25519';
    const request = { folder: config.dkim.keysFolder, domain, algorithm, nowMs: deps.nowMs() } as const;
    const key = await createOrReport('rotate', newest.bits === undefined ? request : { ...request, rsaBits: newest.bits }, io);
    if (key === undefined) return EXIT_FAILURE;
    made.push(key);
    writeLine(io.stdout, `wrote ${key.file} (replaces ${newest.selector})`);
    writeLine(io.stdout, recordBlock(key));
  }
  const oldFiles = current.map((key) => key.file).join(', ');
  writeLine(io.stdout, 'Next:');
  writeLine(io.stdout, `  1. Publish the new record${made.length === 1 ? '' : 's'} above in the DNS of ${domain}; keep the old records published for now.`);
  writeLine(io.stdout, '  2. outpost signs with a new key only once it sees its record in DNS (a running outpost reads new key files on SIGHUP);');
  writeLine(io.stdout, `     until then it keeps signing with the old key. \`outpost doctor ${domain}\` shows what DNS says.`);
  writeLine(io.stdout, `  3. Keep the old key file${current.length === 1 ? '' : 's'} (${oldFiles}) until mail signed with ${current.length === 1 ? 'it' : 'them'} has been delivered`);
  writeLine(io.stdout, '     (a few days), then delete them and their DNS records.');
  return EXIT_OK;
}

async function listRecords(config: Config, domain: string | undefined, io: CliIo): Promise<number> {
  const folder = config.dkim.keysFolder;
  const loaded = await loadDkimKeys(folder, (name) => config.domains.has(name));
  const scope = domain === undefined ? folder : join(folder, domain);
  const inScope = (file: string): boolean => domain === undefined || file === scope || file.startsWith(`${scope}/`);
  const keys = loaded.keys.filter((key) => domain === undefined || key.domain === domain);
  keys.forEach((key, index) => {
    if (index > 0) writeLine(io.stdout, '');
    writeLine(io.stdout, `${key.file}`);
    writeLine(io.stdout, recordBlock(key));
  });
  const problems = reportProblems(loaded, inScope, io);
  if (keys.length === 0 && problems === 0) {
    writeLine(io.stderr, `no DKIM keys in ${scope}; \`outpost dkim keygen ${domain ?? 'DOMAIN'}\` makes one`);
    return domain === undefined ? EXIT_OK : EXIT_FAILURE;
  }
  return problems > 0 ? EXIT_FAILURE : EXIT_OK;
}

/** Writes problems and warnings in scope to stderr; returns how many problems. */
function reportProblems(loaded: { problems: readonly KeyProblem[]; warnings: readonly KeyProblem[] }, inScope: (file: string) => boolean, io: CliIo): number {
  const problems = loaded.problems.filter((problem) => inScope(problem.file));
  for (const { file, problem } of problems) writeLine(io.stderr, `${file}: ${problem}`);
  for (const { file, problem } of loaded.warnings.filter((warning) => inScope(warning.file))) writeLine(io.stderr, `warning: ${file}: ${problem}`);
  return problems.length;
}

async function createOrReport(verb: string, request: Parameters<typeof createKey>[0], io: CliIo): Promise<NewKey | undefined> {
  try {
    return await createKey(request);
  } catch (error: unknown) {
    if (!(error instanceof OutpostError) && !(error instanceof Error && 'code' in error)) throw error;
    writeLine(io.stderr, `outpost dkim ${verb}: ${errorMessage(error)}`);
    return undefined;
  }
}

/** The newest key of each algorithm, RSA first. */
function newestPerAlgorithm(keys: readonly DkimKey[]): DkimKey[] {
  const newest = new Map<string, DkimKey>();
  for (const key of keys) {
    const seen = newest.get(key.algorithm);
    if (seen === undefined || key.createdMs >= seen.createdMs) newest.set(key.algorithm, key);
  }
  return ['rsa-sha256', 'ed25519-sha256'].flatMap((algorithm) => newest.get(algorithm) ?? []);
}

function recordBlock(key: Pick<DkimKey, 'domain' | 'selector' | 'algorithm' | 'publicKeyBase64' | 'bits'>): string {
  const record = dkimRecord(key);
  const kind = key.bits === undefined ? key.algorithm : `${key.algorithm}, ${key.bits} bits`;
  return [`  key:   ${key.domain} selector ${key.selector} (${kind})`, `  name:  ${record.name}`, '  type:  TXT', `  value: ${record.value}`, `  zone:  ${record.zoneLine}`].join('\n');
}
