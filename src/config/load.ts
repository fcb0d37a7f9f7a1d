// Loads the configuration (INTERFACE.md "Configuration"): the YAML file, OUTPOST_*
// environment overrides, validation, the domains file and the other files it names
// (users, TLS, the recipients allow-list).

import { dirname, resolve } from 'node:path';
import { ConfigError, ConfigErrors } from '../core/errors.js';
import { assembleConfig } from './assemble.js';
import { DOMAINS_KEY, readDomainsFile } from './domains-file.js';
import { readRecipientsFile, RECIPIENTS_FILE_KEY } from './recipients-file.js';
import { ENVIRONMENT_SOURCE, envProblem, readEnvOverrides, type EnvOverrides } from './env.js';
import { readTextFile, unreadableReason } from './files.js';
import type { Config } from './types.js';
import { validateConfig, type Issue } from './validate.js';
import { loadTlsContext } from './tls-files.js';
import { parseYamlSource } from './yaml-source.js';
import { loadDkimKeys } from '../dkim/keys.js';
import type { GatewayReader } from '../core/default-gateway.js';
import { gatewayTrustIssues } from './gateway-trust.js';
import { dnssecIssues } from './dnssec-check.js';

export { loadDomainsFile } from './domains-file.js';

export type Locate = (issue: Issue) => ConfigError;

/**
 * Files that must be readable when their key is set (TLS contents are judged
 * elsewhere). The users file may be missing: `outpost user add` creates it.
 */
const READABLE_FILE_KEYS = ['users', 'tls.cert', 'tls.key'] as const;
const MAY_BE_MISSING: ReadonlySet<string> = new Set(['users']);

export interface LoadOptions {
  /** Also judge every DKIM key file (serve and check-config); other commands must work while a key is broken. */
  readonly checkDkimKeys?: boolean;
  /**
   * The machine's default gateways (serve and check-config): a trustedNetworks entry containing one
   * is refused unless trustGateway is set (config/gateway-trust.ts). Absent: no such check.
   */
  readonly defaultGateways?: GatewayReader;
}

/**
 * The validated, deeply frozen configuration of `file` with `env` overrides applied.
 * Throws ConfigErrors listing every problem found, each naming the file, key and line.
 */
export async function loadConfig(file: string, env: Readonly<Record<string, string | undefined>>, options: LoadOptions = {}): Promise<Config> {
  const configFile = resolve(file);
  const text = await readTextFile(configFile);
  if (!text.ok) throw new ConfigErrors([new ConfigError(configFile, `cannot read the config file: ${text.problem}`)]);
  const source = parseYamlSource(text.value);
  if (source.problems.length > 0) {
    throw new ConfigErrors(source.problems.map(({ line, problem }) => new ConfigError(configFile, problem, { line })));
  }
  const environment = readEnvOverrides(env);
  const validation = validateConfig(source.value, environment.overrides, dirname(configFile));
  const locate = locator(configFile, source.lines, environment.overrides);
  const problems = [...validation.issues.map(locate), ...environment.problems];
  const domainsPath = validation.leaves.get(DOMAINS_KEY);
  let domains: ReadonlySet<string> | undefined;
  if (typeof domainsPath === 'string') {
    const outcome = await readDomainsFile(domainsPath);
    if (outcome.readable) problems.push(...outcome.problems);
    else problems.push(locate({ path: DOMAINS_KEY, problem: `cannot read ${domainsPath}: ${outcome.reason}` }));
    domains = outcome.readable ? outcome.domains : undefined;
  }
  const recipientsPath = validation.leaves.get(RECIPIENTS_FILE_KEY);
  if (typeof recipientsPath === 'string') {
    const outcome = await readRecipientsFile(recipientsPath);
    if (outcome.readable) problems.push(...outcome.problems);
    else problems.push(locate({ path: RECIPIENTS_FILE_KEY, problem: `cannot read ${recipientsPath}: ${outcome.reason}` }));
  }
  for (const key of READABLE_FILE_KEYS) {
    const path = validation.leaves.get(key);
    const reason = typeof path === 'string' ? await unreadableReason(path) : undefined;
    if (reason === 'no such file' && MAY_BE_MISSING.has(key)) continue;
    if (reason !== undefined) problems.push(locate({ path: key, problem: `cannot read ${String(path)}: ${reason}` }));
  }
  if (problems.length > 0 || validation.complete === undefined || domains === undefined) {
    throw new ConfigErrors(inReadingOrder(problems));
  }
  const config = assembleConfig(validation.complete, configFile, domains);
  problems.push(...(await tlsProblems(config)).map(locate));
  problems.push(...dnssecIssues(config).map(locate));
  if (options.defaultGateways !== undefined) {
    problems.push(...gatewayTrustIssues(config.trustedNetworks, await options.defaultGateways(), config.trustGateway).map(locate));
  }
  if (options.checkDkimKeys === true) problems.push(...(await dkimKeyProblems(config)));
  if (problems.length > 0) throw new ConfigErrors(inReadingOrder(problems));
  return config;
}

/**
 * TLS: the pair must load, and AUTH listeners need it — AUTH never travels in
 * clear, so submission and smtps without a certificate are refused (RFC 8314).
 */
async function tlsProblems(config: Config): Promise<Issue[]> {
  const issues: Issue[] = [];
  if (config.tls === undefined) {
    config.listen.forEach((listener, index) => {
      if (listener.mode !== 'mta') issues.push({ path: `listen[${index}].mode`, problem: `a ${listener.mode} listener needs tls (cert and key): AUTH must not travel in clear` });
    });
    return issues;
  }
  const context = await loadTlsContext(config.tls);
  if (!context.ok) issues.push({ path: 'tls.cert', problem: context.problem });
  return issues;
}

/** Every DKIM key file must load and sit in the folder of a local domain; each problem names its file. */
async function dkimKeyProblems(config: Config): Promise<ConfigError[]> {
  const loaded = await loadDkimKeys(config.dkim.keysFolder, (domain) => config.domains.has(domain));
  return loaded.problems.map(({ file, problem }) => new ConfigError(file, problem, { key: 'dkim.keys' }));
}

/** Turns an issue at a key path into an error naming the environment variable, or the file and line. */
export function locator(configFile: string, lines: ReadonlyMap<string, number>, overrides: EnvOverrides): Locate {
  return ({ path, problem }) => {
    for (const [overridePath, override] of overrides) {
      if (path === overridePath || path.startsWith(`${overridePath}.`) || path.startsWith(`${overridePath}[`)) return envProblem(override, problem);
    }
    return new ConfigError(configFile, problem, { key: path === '' ? undefined : path, line: lineOf(path, lines) });
  };
}

/** The line of `path`, else of its nearest ancestor that has one (a missing key points at its section). */
function lineOf(path: string, lines: ReadonlyMap<string, number>): number | undefined {
  for (let current = path; current !== ''; current = current.replace(/(?:\.[^.[\]]*|\[\d+\])$/, '')) {
    const line = lines.get(current);
    if (line !== undefined) return line;
    if (!/[.[]/.test(current)) return undefined;
  }
  return undefined;
}

/** Grouped by file in order of first mention, each file's problems by line (unlined last). */
function inReadingOrder(problems: readonly ConfigError[]): readonly ConfigError[] {
  const fileRank = new Map<string, number>();
  for (const problem of problems) if (!fileRank.has(problem.file)) fileRank.set(problem.file, fileRank.size);
  return [...problems].sort(
    (a, b) => (fileRank.get(a.file) ?? 0) - (fileRank.get(b.file) ?? 0) || (a.line ?? Infinity) - (b.line ?? Infinity),
  );
}
