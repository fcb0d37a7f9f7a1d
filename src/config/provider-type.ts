// `delivery.providers` (INTERFACE.md "Configuration"): provider name -> its limits
// (maxConnections, ratePerMinute, ratePerHour) and the MX host patterns that
// belong to it; and `delivery.publicSuffixes`, extra multi-label public suffixes.

import { canonicalDomain } from '../core/domain.js';
import { integerType, listType, positiveIntegerType, type FieldContext, type LeafType } from './leaf-types.js';
import type { ProviderConfig } from './types.js';
import { closestName, describeValue, failure, isPlainObject, listChoices, success } from './values.js';

const PROVIDER_FIELDS = ['maxConnections', 'ratePerMinute', 'ratePerHour', 'mx'] as const;
/** A provider name: a domain such as google.com, or a label such as microsoft. */
const PROVIDER_NAME = /^[a-z0-9](?:[a-z0-9._-]{0,253})$/;
const rateType = integerType(0, Number.MAX_SAFE_INTEGER, 'a whole number of messages (0 for no cap)');

/** "example.net" (it and every name under it) or "*.example.net" (only names under it). */
export const mxPatternType: LeafType<string> = {
  parse(raw, field) {
    const text = typeof raw === 'string' ? raw.trim().toLowerCase() : undefined;
    const wildcard = text?.startsWith('*.') === true;
    const domain = text === undefined ? undefined : canonicalDomain(wildcard ? text.slice(2) : text);
    if (domain !== undefined && domain.includes('.')) return wildcard ? `*.${domain}` : domain;
    field.report(field.path, `${describeValue(raw)} is not an MX host pattern (a domain such as example.net, or *.example.net)`);
    return undefined;
  },
  fromEnv: (text) => success(text),
};

const mxListType = listType(mxPatternType, { nonEmpty: true });

/** A public suffix of two labels or more, such as co.uk. */
export const publicSuffixType: LeafType<string> = {
  parse(raw, field) {
    const domain = typeof raw === 'string' ? canonicalDomain(raw.trim().replace(/^\./, '')) : undefined;
    if (domain !== undefined && domain.includes('.')) return domain;
    field.report(field.path, `${describeValue(raw)} is not a public suffix of two labels or more (e.g. co.uk)`);
    return undefined;
  },
  fromEnv: (text) => success(text),
};

function parseProvider(raw: unknown, field: FieldContext): ProviderConfig | undefined {
  if (!isPlainObject(raw)) {
    field.report(field.path, `${describeValue(raw)} is not a provider (write { maxConnections: 10, ratePerMinute: 0, ratePerHour: 0, mx: [...] })`);
    return undefined;
  }
  let valid = true;
  for (const key of Object.keys(raw).filter((name) => !(PROVIDER_FIELDS as readonly string[]).includes(name))) {
    const suggestion = closestName(key, PROVIDER_FIELDS);
    field.report(`${field.path}.${key}`, `unknown key${suggestion === undefined ? ` (a provider has ${listChoices(PROVIDER_FIELDS)})` : ` (did you mean ${suggestion}?)`}`);
    valid = false;
  }
  const part = <T>(key: (typeof PROVIDER_FIELDS)[number], type: LeafType<T>): T | undefined | null => {
    if (raw[key] === undefined || raw[key] === null) return null;
    const value = type.parse(raw[key], { ...field, path: `${field.path}.${key}` });
    if (value === undefined) valid = false;
    return value;
  };
  const maxConnections = part('maxConnections', positiveIntegerType);
  const ratePerMinute = part('ratePerMinute', rateType);
  const ratePerHour = part('ratePerHour', rateType);
  const mx = part('mx', mxListType);
  if (!valid) return undefined;
  const given = <T>(value: T | undefined | null): T | undefined => (value === null ? undefined : value);
  return { maxConnections: given(maxConnections), ratePerMinute: given(ratePerMinute) || undefined, ratePerHour: given(ratePerHour) || undefined, mx: given(mx) ?? [] };
}

/**
 * Provider name -> limits and MX patterns. The environment form sets session caps
 * only: "google.com=10,outlook.com=5".
 */
export const providersType: LeafType<ReadonlyMap<string, ProviderConfig>> = {
  parse(raw, field) {
    if (!isPlainObject(raw)) {
      field.report(field.path, `${describeValue(raw)} is not a mapping of provider name: { maxConnections, ratePerMinute, ratePerHour, mx }`);
      return undefined;
    }
    const providers = new Map<string, ProviderConfig>();
    let valid = true;
    for (const [name, value] of Object.entries(raw)) {
      const path = `${field.path}.${name}`;
      const key = name.trim().toLowerCase();
      const provider = parseProvider(value, { ...field, path });
      if (!PROVIDER_NAME.test(key)) field.report(path, `${JSON.stringify(name)} is not a provider name (a domain such as google.com, or letters, digits, ".", "-", "_")`);
      else if (providers.has(key)) field.report(path, `the provider ${key} is already given`);
      if (provider === undefined || !PROVIDER_NAME.test(key) || providers.has(key)) valid = false;
      else providers.set(key, provider);
    }
    const owners = new Map<string, string>();
    for (const [name, provider] of providers) {
      for (const pattern of provider.mx) {
        const owner = owners.get(pattern);
        if (owner !== undefined) {
          field.report(`${field.path}.${name}.mx`, `${pattern} already belongs to the provider ${owner}`);
          valid = false;
        }
        owners.set(pattern, name);
      }
    }
    return valid ? providers : undefined;
  },
  fromEnv(text) {
    const providers: Record<string, { maxConnections: number }> = {};
    for (const entry of text.split(',').map((item) => item.trim()).filter((item) => item !== '')) {
      const equals = entry.indexOf('=');
      const count = Number(entry.slice(equals + 1).trim());
      if (equals <= 0 || !Number.isInteger(count)) return failure(`${JSON.stringify(entry)} is not provider=maxConnections`);
      providers[entry.slice(0, equals).trim()] = { maxConnections: count };
    }
    return success(providers);
  },
};

export const publicSuffixesType = listType(publicSuffixType, { nonEmpty: false });
