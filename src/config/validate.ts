// Judges the raw configuration tree (parsed YAML with environment overrides laid
// over it) against the schema table: unknown keys, missing keys, value types.

import type { EnvOverrides } from './env.js';
import type { FieldContext } from './leaf-types.js';
import { CONFIG_SCHEMA, joinPath, type Fields, type LeafSpec, type SectionSpec, type ValidatedConfig } from './schema.js';
import { closestName, describeValue, isPlainObject } from './values.js';

/** One problem at a key path ("" is the whole file). */
export interface Issue {
  readonly path: string;
  readonly problem: string;
}

export interface Validation {
  /** The whole validated tree, when there were no issues. */
  readonly complete: ValidatedConfig | undefined;
  /** Every leaf that was valid, by key path (e.g. `domains`, `tls.cert`), even when others were not. */
  readonly leaves: ReadonlyMap<string, unknown>;
  readonly issues: readonly Issue[];
}

interface Walk {
  readonly overrides: EnvOverrides;
  readonly baseDir: string;
  readonly leaves: Map<string, unknown>;
  readonly issues: Issue[];
}

export function validateConfig(raw: unknown, overrides: EnvOverrides, baseDir: string): Validation {
  const walk: Walk = { overrides, baseDir, leaves: new Map(), issues: [] };
  const tree = validateSection(CONFIG_SCHEMA, raw, '', walk);
  // Every leaf and section reports an issue whenever it yields no value, so no issues means complete.
  const complete = walk.issues.length === 0 ? (tree as ValidatedConfig) : undefined;
  return { complete, leaves: walk.leaves, issues: walk.issues };
}

function hasOverrideBelow(path: string, overrides: EnvOverrides): boolean {
  return [...overrides.keys()].some((key) => key.startsWith(`${path}.`));
}

/** The section's keys; undefined when the section is off (absent optional, `false` disableable). */
function sectionObject(spec: SectionSpec<Fields>, raw: unknown, path: string, walk: Walk): Record<string, unknown> | undefined {
  const overridden = path !== '' && hasOverrideBelow(path, walk.overrides);
  if (raw === false && spec.presence === 'disableable') return overridden ? {} : undefined;
  if (raw === undefined || raw === null) return spec.presence === 'optional' && !overridden ? undefined : {};
  if (isPlainObject(raw)) return raw;
  const keys = Object.keys(spec.fields).join(', ');
  const what = path === '' ? 'the configuration must be a mapping of keys' : `${describeValue(raw)} is not a mapping`;
  const off = spec.presence === 'disableable' ? '; or false to turn it off' : '';
  walk.issues.push({ path, problem: `${what} (keys: ${keys}${off})` });
  // A broken required section still yields its defaults, so its keys are judged (and env applied).
  return spec.presence === 'always' ? {} : undefined;
}

function validateSection(spec: SectionSpec<Fields>, raw: unknown, path: string, walk: Walk): Record<string, unknown> | undefined {
  const object = sectionObject(spec, raw, path, walk);
  if (object === undefined) return undefined;
  const names = Object.keys(spec.fields);
  for (const key of Object.keys(object).filter((name) => !names.includes(name))) {
    const suggestion = closestName(key, names);
    walk.issues.push({ path: joinPath(path, key), problem: suggestion === undefined ? 'unknown key' : `unknown key (did you mean ${suggestion}?)` });
  }
  const result: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(spec.fields)) {
    const childPath = joinPath(path, name);
    const override = walk.overrides.get(childPath);
    const childRaw = override === undefined ? object[name] : override.value;
    result[name] = field.kind === 'leaf' ? validateLeaf(field, childRaw, childPath, walk) : validateSection(field, childRaw, childPath, walk);
  }
  return result;
}

function validateLeaf(spec: LeafSpec<unknown>, raw: unknown, path: string, walk: Walk): unknown {
  let value = raw;
  if (value === undefined || value === null) {
    if (spec.presence === 'required') walk.issues.push({ path, problem: 'required key is missing' });
    if (spec.defaultRaw === undefined) return undefined;
    value = spec.defaultRaw();
  }
  const field: FieldContext = {
    path,
    baseDir: walk.baseDir,
    report: (issuePath, problem) => walk.issues.push({ path: issuePath, problem }),
  };
  const parsed = spec.type.parse(value, field);
  if (parsed !== undefined) walk.leaves.set(path, parsed);
  return parsed;
}
