// The value types of configuration keys: how each judges a raw YAML value and
// how environment text becomes such a raw value (INTERFACE.md "Configuration").

import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { isValidHostname } from '../core/domain.js';
import { parseCidr } from '../core/network.js';
import { isHostOrAddress, splitHostPort } from './endpoints.js';
import { parseDurationMs, parseSizeBytes } from './units.js';
import { describeValue, failure, listChoices, success, type Outcome } from './values.js';

export interface FieldContext {
  /** Key path of the value being judged, e.g. `delivery.retry`. */
  readonly path: string;
  /** Folder of the config file: relative paths resolve against it. */
  readonly baseDir: string;
  /** Records a problem at a key path (this one or one below it, e.g. `listen[0].mode`). */
  report(path: string, problem: string): void;
}

export interface LeafType<T> {
  /** The value, or undefined after reporting what is wrong. */
  parse(raw: unknown, field: FieldContext): T | undefined;
  /** Environment text as the raw value YAML would have given, or why it cannot be one. */
  fromEnv(text: string): Outcome<unknown>;
}

/** Numbers in environment text become numbers; everything else stays text. */
function scalarFromEnv(text: string): Outcome<unknown> {
  return success(/^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text.trim()) : text);
}

/** "a, b,c" -> ["a", "b", "c"]; empty text is an empty list. */
function listFromEnv(text: string): Outcome<unknown> {
  return success(text.split(',').map((item) => item.trim()).filter((item) => item !== ''));
}

function accept<T>(outcome: Outcome<T>, field: FieldContext, path = field.path): T | undefined {
  if (outcome.ok) return outcome.value;
  field.report(path, outcome.problem);
  return undefined;
}

function textType<T>(judge: (text: string, field: FieldContext) => Outcome<T>, what: string): LeafType<T> {
  return {
    parse: (raw, field) =>
      accept(typeof raw === 'string' && raw.trim() !== '' ? judge(raw.trim(), field) : failure(`${describeValue(raw)} is not ${what}`), field),
    fromEnv: (text) => success(text),
  };
}

export const hostnameType = textType<string>(
  (text) => (isValidHostname(text) ? success(text) : failure(`${JSON.stringify(text)} is not a valid hostname`)),
  'a hostname',
);

/** A listening address: an IP address or a hostname such as localhost. */
export const addressType = textType<string>(
  (text) => (isHostOrAddress(text) ? success(text) : failure(`${JSON.stringify(text)} is not an IP address or hostname`)),
  'an IP address',
);

/** An IP address (v4 or v6), kept as written. */
export const ipAddressType = textType<string>(
  (text) => (isIP(text) === 0 ? failure(`${JSON.stringify(text)} is not an IP address`) : success(text)),
  'an IP address',
);

/** An IP address of one family, or "" for none (the system's choice). */
export function optionalAddressType(family: 4 | 6): LeafType<string> {
  return {
    parse(raw, field) {
      if (raw === '' || raw === null) return '';
      if (typeof raw === 'string' && isIP(raw.trim()) === family) return raw.trim();
      field.report(field.path, `${describeValue(raw)} is not an IPv${family} address (or "" for the system's choice)`);
      return undefined;
    },
    fromEnv: (text) => success(text.trim()),
  };
}

/** A file or folder path, made absolute against the config file's folder. */
export const pathType = textType<string>((text, field) => success(resolve(field.baseDir, text)), 'a file path');

export function integerType(min: number, max: number, what: string): LeafType<number> {
  return {
    parse(raw, field) {
      if (typeof raw === 'number' && Number.isInteger(raw) && raw >= min && raw <= max) return raw;
      const quoted = typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw);
      const problem = quoted ? `${describeValue(raw)} is quoted text; write ${what} without quotes` : `${describeValue(raw)} is not ${what}`;
      field.report(field.path, problem);
      return undefined;
    },
    fromEnv: scalarFromEnv,
  };
}

export const portType = integerType(0, 65535, 'a port number (0-65535)');
export const positiveIntegerType = integerType(1, Number.MAX_SAFE_INTEGER, 'a positive whole number');

export const booleanType: LeafType<boolean> = {
  parse: (raw, field) => accept(typeof raw === 'boolean' ? success(raw) : failure(`${describeValue(raw)} is not true or false`), field),
  fromEnv: (text) => {
    const lower = text.trim().toLowerCase();
    return success(lower === 'true' ? true : lower === 'false' ? false : text);
  },
};

export function choiceType<T extends string>(choices: readonly T[]): LeafType<T> {
  const isChoice = (value: unknown): value is T => typeof value === 'string' && (choices as readonly string[]).includes(value);
  return {
    parse: (raw, field) => accept(isChoice(raw) ? success(raw) : failure(`${describeValue(raw)} is not one of ${listChoices(choices)}`), field),
    fromEnv: (text) => success(text.trim()),
  };
}

export function durationType(options: { readonly allowZero: boolean }): LeafType<number> {
  return {
    parse(raw, field) {
      const ms = accept(parseDurationMs(raw), field);
      if (ms === 0 && !options.allowZero) return accept(failure(`${describeValue(raw)} must be more than 0`), field);
      return ms;
    },
    fromEnv: scalarFromEnv,
  };
}

export const sizeType: LeafType<number> = {
  parse(raw, field) {
    const bytes = accept(parseSizeBytes(raw), field);
    return bytes === 0 ? accept(failure(`${describeValue(raw)} must be more than 0`), field) : bytes;
  },
  fromEnv: scalarFromEnv,
};

/** A YAML list whose items are judged one by one (errors name `key[i]`). */
export function listType<T>(item: LeafType<T>, options: { readonly nonEmpty: boolean }): LeafType<readonly T[]> {
  return {
    parse(raw, field) {
      if (!Array.isArray(raw)) return accept(failure(`${describeValue(raw)} is not a list (write [a, b] or one "- item" per line)`), field);
      if (options.nonEmpty && raw.length === 0) return accept(failure('the list is empty; give at least one item'), field);
      const values = raw.map((element: unknown, index) => item.parse(element, { ...field, path: `${field.path}[${index}]` }));
      return values.every((value): value is T => value !== undefined) ? values : undefined;
    },
    fromEnv: listFromEnv,
  };
}

/** A CIDR ("10.0.0.0/8", "::1/128") or single address; kept as "address/prefix". */
export const cidrType = textType<string>((text) => {
  const cidr = parseCidr(text);
  return cidr === undefined ? failure(`${JSON.stringify(text)} is not a network (use CIDR like 10.0.0.0/8 or ::1/128)`) : success(`${cidr.address}/${cidr.prefix}`);
}, 'a network in CIDR form');

export interface Endpoint {
  readonly host: string;
  readonly port: number | undefined;
}

/** "ip", "ip:port" or "[ipv6]:port" of a DNS server. */
export const dnsServerType = textType<Endpoint>((text) => {
  const split = splitHostPort(text);
  if (!split.ok) return split;
  return isIP(split.value.host) === 0 ? failure(`${JSON.stringify(text)} is not an IP address (DNS servers are given by address)`) : split;
}, 'a DNS server address');

/** "host[:port]" where host is a hostname, an IPv4 address or an [IPv6] address. */
export const nextHopType = textType<Endpoint>((text) => {
  const split = splitHostPort(text);
  if (!split.ok) return split;
  return isHostOrAddress(split.value.host) ? split : failure(`${JSON.stringify(text)} does not name a valid host`);
}, 'a next hop "host[:port]"');
