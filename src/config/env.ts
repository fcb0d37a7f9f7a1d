// Environment overrides (INTERFACE.md "Configuration"): `OUTPOST_` + the key path
// in upper snake case sets that key. The names derive from the schema table.

import { ConfigError } from '../core/errors.js';
import type { LeafType } from './leaf-types.js';
import { CONFIG_SCHEMA, joinPath, type Fields } from './schema.js';
import { closestName } from './values.js';

export const ENV_PREFIX = 'OUTPOST_';
/** `OUTPOST_*` variables that are not configuration keys. */
export const NON_KEY_VARIABLES: ReadonlySet<string> = new Set(['OUTPOST_CONFIG']);
/** The "file" named by problems in environment values. */
export const ENVIRONMENT_SOURCE = 'environment';

export interface EnvOverride {
  readonly variable: string;
  /** The raw value, as YAML would have given it. */
  readonly value: unknown;
}

/** Key path (e.g. `delivery.port`) -> override. */
export type EnvOverrides = ReadonlyMap<string, EnvOverride>;

export interface EnvKey {
  readonly path: string;
  readonly type: LeafType<unknown>;
}

/** `delivery.maxQueueLifetime` -> `OUTPOST_DELIVERY_MAX_QUEUE_LIFETIME`. */
export function envVariableName(path: string): string {
  return ENV_PREFIX + path.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/\./g, '_').toUpperCase();
}

/** Every settable key by its variable name. */
export function envKeys(fields: Fields = CONFIG_SCHEMA.fields, parent = ''): ReadonlyMap<string, EnvKey> {
  const keys = new Map<string, EnvKey>();
  for (const [name, spec] of Object.entries(fields)) {
    const path = joinPath(parent, name);
    if (spec.kind === 'leaf') keys.set(envVariableName(path), { path, type: spec.type });
    else for (const [variable, key] of envKeys(spec.fields, path)) keys.set(variable, key);
  }
  return keys;
}

/** The overrides set by `env`, and the problems: unknown `OUTPOST_*` names and malformed values. */
export function readEnvOverrides(env: Readonly<Record<string, string | undefined>>): {
  readonly overrides: EnvOverrides;
  readonly problems: readonly ConfigError[];
} {
  const keys = envKeys();
  const overrides = new Map<string, EnvOverride>();
  const problems: ConfigError[] = [];
  const names = Object.keys(env).filter((name) => name.startsWith(ENV_PREFIX) && !NON_KEY_VARIABLES.has(name)).sort();
  for (const variable of names) {
    const text = env[variable];
    if (text === undefined) continue;
    const key = keys.get(variable);
    if (key === undefined) {
      const suggestion = closestName(variable, [...keys.keys()]);
      const hint = suggestion === undefined ? 'it names no configuration key' : `did you mean ${suggestion}?`;
      problems.push(new ConfigError(ENVIRONMENT_SOURCE, `unknown variable (${hint})`, { key: variable }));
      continue;
    }
    const raw = key.type.fromEnv(text);
    if (raw.ok) overrides.set(key.path, { variable, value: raw.value });
    else problems.push(new ConfigError(ENVIRONMENT_SOURCE, raw.problem, { key: variable }));
  }
  return { overrides, problems };
}
