// The value types of the outbound TLS keys (INTERFACE.md "Configuration"):
// `delivery.caFile` (extra PEM CA certificates, "" for none) and `delivery.tlsPolicy`
// (domain -> dane|verify|encrypt|may|none, Postfix's smtp_tls_policy_maps levels; dane is
// Postfix's dane-only: DANE TLSA authentication required, RFC 7672).

import { canonicalDomain } from '../core/domain.js';
import { pathType, type LeafType } from './leaf-types.js';
import { caFileType } from './route-type.js';
import type { TlsPolicyLevel } from './types.js';
import { describeValue, failure, isPlainObject, listChoices, success } from './values.js';

export const TLS_POLICY_LEVELS: readonly TlsPolicyLevel[] = ['dane', 'verify', 'encrypt', 'may', 'none'];

/** A readable PEM file of CA certificates (absolute path), or "" for none. */
export const optionalCaFileType: LeafType<string> = {
  parse(raw, field) {
    if (raw === '' || (typeof raw === 'string' && raw.trim() === '')) return '';
    return caFileType.parse(raw, field);
  },
  fromEnv: pathType.fromEnv,
};

function parseLevel(raw: unknown, path: string, report: (path: string, problem: string) => void): TlsPolicyLevel | undefined {
  const level = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
  if (typeof level === 'string' && (TLS_POLICY_LEVELS as readonly string[]).includes(level)) return level as TlsPolicyLevel;
  report(path, `${describeValue(raw)} is not one of ${listChoices(TLS_POLICY_LEVELS)}`);
  return undefined;
}

/** Domain (canonical) -> TLS level; the environment form is "domain=level,domain=level". */
export const tlsPolicyType: LeafType<ReadonlyMap<string, TlsPolicyLevel>> = {
  parse(raw, field) {
    if (!isPlainObject(raw)) {
      field.report(field.path, `${describeValue(raw)} is not a mapping of domain: dane|verify|encrypt|may|none`);
      return undefined;
    }
    const levels = new Map<string, TlsPolicyLevel>();
    let valid = true;
    for (const [domain, value] of Object.entries(raw)) {
      const path = `${field.path}.${domain}`;
      const canonical = canonicalDomain(domain);
      const level = parseLevel(value, path, field.report);
      if (canonical === undefined) field.report(path, `${JSON.stringify(domain)} is not a valid domain`);
      else if (levels.has(canonical)) field.report(path, `a TLS policy for ${canonical} is already given`);
      if (canonical === undefined || level === undefined || levels.has(canonical)) valid = false;
      else levels.set(canonical, level);
    }
    return valid ? levels : undefined;
  },
  fromEnv(text) {
    const levels: Record<string, string> = {};
    for (const entry of text.split(',').map((item) => item.trim()).filter((item) => item !== '')) {
      const equals = entry.indexOf('=');
      if (equals <= 0) return failure(`${JSON.stringify(entry)} is not domain=level`);
      levels[entry.slice(0, equals).trim()] = entry.slice(equals + 1).trim();
    }
    return success(levels);
  },
};
