// Environment overrides (INTERFACE.md "Configuration"): `OUTPOST_` + the key path
// in upper snake case sets that key, and `OUTPOST_<KEY>_FILE` reads the value from a
// file (the Docker secrets convention). The names derive from the schema table.

import { ConfigError } from '../core/errors.js';
import { readValueFileSync } from './files.js';
import { pathType, type LeafType } from './leaf-types.js';
import { CONFIG_SCHEMA, joinPath, type Fields } from './schema.js';
import { closestName, type Outcome } from './values.js';

export const ENV_PREFIX = 'OUTPOST_';
/** `OUTPOST_X_FILE` sets key X to the content of the file it names. */
export const FILE_SUFFIX = '_FILE';
/** `OUTPOST_*` variables that are not configuration keys. */
export const NON_KEY_VARIABLES: ReadonlySet<string> = new Set(['OUTPOST_CONFIG']);
/** The "file" named by problems in environment values. */
export const ENVIRONMENT_SOURCE = 'environment';

export interface EnvOverride {
  /** The variable that gave the value (`OUTPOST_X` or `OUTPOST_X_FILE`). */
  readonly variable: string;
  /** The raw value, as YAML would have given it. */
  readonly value: unknown;
  /** The file the value was read from (`OUTPOST_X_FILE`): problems then never quote the value. */
  readonly file?: string;
}

/** Key path (e.g. `delivery.port`) -> override. */
export type EnvOverrides = ReadonlyMap<string, EnvOverride>;

export interface EnvKey {
  readonly path: string;
  readonly type: LeafType<unknown>;
  /**
   * The key's value is a file or folder path (`tls.key`, `users`, `spoolDir`...): the plain
   * variable sets the path, so there is no `_FILE` form (Docker secrets are mounted as files:
   * `OUTPOST_TLS_KEY=/run/secrets/tls-key`).
   */
  readonly namesFile: boolean;
}

/** `delivery.maxQueueLifetime` -> `OUTPOST_DELIVERY_MAX_QUEUE_LIFETIME`. */
export function envVariableName(path: string): string {
  return ENV_PREFIX + path.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/\./g, '_').toUpperCase();
}

function namesFile(name: string, type: LeafType<unknown>): boolean {
  return type === pathType || /(?:File|Dir|Folder)$/.test(name);
}

/** Every settable key by its variable name. */
export function envKeys(fields: Fields = CONFIG_SCHEMA.fields, parent = ''): ReadonlyMap<string, EnvKey> {
  const keys = new Map<string, EnvKey>();
  for (const [name, spec] of Object.entries(fields)) {
    const path = joinPath(parent, name);
    if (spec.kind === 'leaf') keys.set(envVariableName(path), { path, type: spec.type, namesFile: namesFile(name, spec.type) });
    else for (const [variable, key] of envKeys(spec.fields, path)) keys.set(variable, key);
  }
  return keys;
}

/** The `_FILE` variables that exist: one per key whose value is not a path. */
export function envFileVariables(keys: ReadonlyMap<string, EnvKey> = envKeys()): ReadonlyMap<string, EnvKey> {
  return new Map([...keys].filter(([, key]) => !key.namesFile).map(([variable, key]) => [variable + FILE_SUFFIX, key]));
}

export interface EnvReadOptions {
  /** Reads an `OUTPOST_X_FILE` file (default: readValueFileSync, trailing line ends removed). */
  readonly readValueFile?: (path: string) => Outcome<string>;
}

/** The overrides set by `env`, and the problems: unknown `OUTPOST_*` names, unreadable value files, malformed values. */
export function readEnvOverrides(
  env: Readonly<Record<string, string | undefined>>,
  options: EnvReadOptions = {},
): {
  readonly overrides: EnvOverrides;
  readonly problems: readonly ConfigError[];
} {
  const readValueFile = options.readValueFile ?? readValueFileSync;
  const keys = envKeys();
  const fileVariables = envFileVariables(keys);
  const overrides = new Map<string, EnvOverride>();
  const problems: ConfigError[] = [];
  const problem = (variable: string, text: string): void => void problems.push(new ConfigError(ENVIRONMENT_SOURCE, text, { key: variable }));
  const names = Object.keys(env).filter((name) => name.startsWith(ENV_PREFIX) && !NON_KEY_VARIABLES.has(name)).sort();
  for (const variable of names) {
    const text = env[variable];
    if (text === undefined) continue;
    const key = keys.get(variable);
    const fileKey = key === undefined ? fileVariables.get(variable) : undefined;
    if (key !== undefined) {
      if (!key.namesFile && env[variable + FILE_SUFFIX] !== undefined) {
        problem(variable, `set ${variable} or ${variable}${FILE_SUFFIX}, not both`);
        continue;
      }
      const raw = key.type.fromEnv(text);
      if (raw.ok) overrides.set(key.path, { variable, value: raw.value });
      else problem(variable, raw.problem);
    } else if (fileKey !== undefined) {
      if (env[variable.slice(0, -FILE_SUFFIX.length)] !== undefined) continue; // reported at the plain variable
      const read = readValueFile(text);
      const raw = read.ok ? fileKey.type.fromEnv(read.value) : read;
      if (raw.ok) overrides.set(fileKey.path, { variable, value: raw.value, file: text });
      else problem(variable, read.ok ? withoutValue(raw.problem, read.value, text) : raw.problem);
    } else {
      problem(variable, unknownVariable(variable, keys, fileVariables));
    }
  }
  return { overrides, problems };
}

function unknownVariable(variable: string, keys: ReadonlyMap<string, EnvKey>, fileVariables: ReadonlyMap<string, EnvKey>): string {
  if (variable.endsWith(FILE_SUFFIX)) {
    const named = keys.get(variable.slice(0, -FILE_SUFFIX.length));
    if (named !== undefined) {
      const plain = variable.slice(0, -FILE_SUFFIX.length);
      return `${named.path} already names a file: set ${plain} to the file's path (${FILE_SUFFIX} reads a value from a file, for keys whose value is not a path)`;
    }
  }
  const suggestion = closestName(variable, [...keys.keys(), ...fileVariables.keys()]);
  return suggestion === undefined ? 'unknown variable (it names no configuration key)' : `unknown variable (did you mean ${suggestion}?)`;
}

/**
 * A problem about a value read from `file`, with the value left out: it may be a
 * secret, and problems end up in logs. Quoted text and a leading bare value go.
 */
export function withoutValue(problem: string, value: string, file: string): string {
  const trimmed = value.trim();
  let text = problem.replace(/"(?:[^"\\]|\\.)*"/g, 'the value');
  if (trimmed !== '' && text.startsWith(trimmed)) text = `the value${text.slice(trimmed.length)}`;
  return `${text} (the value read from ${file}, not shown)`;
}

/** A problem found at an overridden key, as an error naming the variable (and the file, with the value left out). */
export function envProblem(override: EnvOverride, problem: string): ConfigError {
  const text = override.file === undefined ? problem : withoutValue(problem, String(override.value), override.file);
  return new ConfigError(ENVIRONMENT_SOURCE, text, { key: override.variable });
}
