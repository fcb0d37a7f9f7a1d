// The one table of configuration keys (INTERFACE.md "Configuration"): each key's
// value type, default (in YAML form) and presence. Validation and env names derive from it.

import { hostname } from 'node:os';
import type { LogLevel, UnavailableAction } from './types.js';
import {
  addressType,
  booleanType,
  choiceType,
  cidrType,
  dnsServerType,
  durationType,
  hostnameType,
  integerType,
  ipAddressType,
  optionalAddressType,
  listType,
  pathType,
  portType,
  positiveIntegerType,
  sizeType,
  type LeafType,
} from './leaf-types.js';
import { listenersType, routesType } from './structured-types.js';
import { providersType, publicSuffixesType } from './provider-type.js';
import { optionalCaFileType, tlsPolicyType } from './outbound-tls-types.js';
import { reportTextType } from './tlsrpt-types.js';
import { webhooksType } from './webhook-type.js';

/** default: a default applies when absent; required: absent is an error; optional: absent is undefined. */
export type Presence = 'default' | 'required' | 'optional';

export interface LeafSpec<T, P extends Presence = Presence> {
  readonly kind: 'leaf';
  readonly type: LeafType<T>;
  readonly presence: P;
  /** The default in YAML form, judged like a configured value; computed only when needed. */
  readonly defaultRaw: (() => unknown) | undefined;
}

/** always: defaults fill it when absent; optional: absent unless given; disableable: `false` turns it off. */
export type SectionPresence = 'always' | 'optional' | 'disableable';

export interface Fields {
  readonly [key: string]: Spec;
}

export interface SectionSpec<F extends Fields, P extends SectionPresence = SectionPresence> {
  readonly kind: 'section';
  readonly fields: F;
  readonly presence: P;
}

export type Spec = LeafSpec<unknown> | SectionSpec<Fields>;

/** The validated value a spec yields. */
export type ValueOf<S> =
  S extends LeafSpec<infer T, infer P>
    ? T | (P extends 'optional' ? undefined : never)
    : S extends SectionSpec<infer F extends Fields, infer P>
      ? { readonly [K in keyof F]: ValueOf<F[K]> } | (P extends 'always' ? never : undefined)
      : never;

function withDefault<T>(type: LeafType<T>, raw: unknown): LeafSpec<T, 'default'> {
  return { kind: 'leaf', type, presence: 'default', defaultRaw: () => raw };
}

function computedDefault<T>(type: LeafType<T>, compute: () => unknown): LeafSpec<T, 'default'> {
  return { kind: 'leaf', type, presence: 'default', defaultRaw: compute };
}

function required<T>(type: LeafType<T>): LeafSpec<T, 'required'> {
  return { kind: 'leaf', type, presence: 'required', defaultRaw: undefined };
}

function optional<T>(type: LeafType<T>): LeafSpec<T, 'optional'> {
  return { kind: 'leaf', type, presence: 'optional', defaultRaw: undefined };
}

function section<F extends Fields>(fields: F): SectionSpec<F, 'always'> {
  return { kind: 'section', fields, presence: 'always' };
}

function optionalSection<F extends Fields>(fields: F): SectionSpec<F, 'optional'> {
  return { kind: 'section', fields, presence: 'optional' };
}

function disableableSection<F extends Fields>(fields: F): SectionSpec<F, 'disableable'> {
  return { kind: 'section', fields, presence: 'disableable' };
}

export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export const UNAVAILABLE_ACTIONS: readonly UnavailableAction[] = ['defer', 'accept'];

const allowZero = durationType({ allowZero: true });
/** A count where 0 means unlimited. */
const countType = integerType(0, Number.MAX_SAFE_INTEGER, 'a whole number (0 = unlimited)');
const positiveDuration = durationType({ allowZero: false });

export const CONFIG_SCHEMA = section({
  hostname: computedDefault(hostnameType, () => hostname()),
  domains: required(pathType),
  listen: withDefault(listenersType, [{ address: '0.0.0.0', port: 25, mode: 'mta' }]),
  trustedNetworks: withDefault(listType(cidrType, { nonEmpty: false }), ['127.0.0.0/8', '::1/128']),
  trustGateway: withDefault(booleanType, false),
  users: optional(pathType),
  tls: optionalSection({ cert: required(pathType), key: required(pathType) }),
  spoolDir: withDefault(pathType, '/var/spool/outpost'),
  dns: section({
    servers: withDefault(listType(dnsServerType, { nonEmpty: false }), []),
    timeout: withDefault(positiveDuration, '3s'),
    ipv6: withDefault(booleanType, true),
    dnssec: withDefault(booleanType, false),
  }),
  delivery: section({
    port: withDefault(portType, 25),
    retry: withDefault(listType(allowZero, { nonEmpty: true }), ['5m', '10m', '20m', '40m', '1h', '2h', '4h']),
    maxQueueLifetime: withDefault(positiveDuration, '5d'),
    routes: withDefault(routesType, {}),
    tlsPolicy: withDefault(tlsPolicyType, {}),
    mtaSts: withDefault(booleanType, true),
    caFile: withDefault(optionalCaFileType, ''),
    delayWarning: withDefault(allowZero, '4h'),
    maxConcurrency: withDefault(positiveIntegerType, 100),
    concurrencyPerDomain: withDefault(positiveIntegerType, 10),
    concurrencyPerProvider: withDefault(positiveIntegerType, 20),
    providers: withDefault(providersType, {}),
    publicSuffixes: withDefault(publicSuffixesType, []),
    recipientsPerTransaction: withDefault(positiveIntegerType, 50),
    connectTimeout: withDefault(positiveDuration, '30s'),
    commandTimeout: withDefault(positiveDuration, '5m'),
    dataDoneTimeout: withDefault(positiveDuration, '10m'),
    connectionReuseTime: withDefault(allowZero, '2s'),
    bind: section({
      ipv4: withDefault(optionalAddressType(4), ''),
      ipv6: withDefault(optionalAddressType(6), ''),
    }),
  }),
  limits: section({
    maxMessageSize: withDefault(sizeType, '25MB'),
    maxRecipients: withDefault(positiveIntegerType, 100),
    maxConnections: withDefault(positiveIntegerType, 500),
    maxConnectionsPerClient: withDefault(positiveIntegerType, 20),
    idleTimeout: withDefault(positiveDuration, '5m'),
    minDataRate: withDefault(positiveIntegerType, 500),
    minFreeSpace: withDefault(sizeType, '100MB'),
  }),
  publicAddresses: withDefault(listType(ipAddressType, { nonEmpty: false }), []),
  dkim: section({ keys: withDefault(pathType, 'dkim') }),
  verifyRecipients: section({
    probe: withDefault(booleanType, true),
    file: optional(pathType),
    positiveTtl: withDefault(allowZero, '7d'),
    negativeTtl: withDefault(allowZero, '3h'),
    whenUnavailable: withDefault(choiceType(UNAVAILABLE_ACTIONS), 'defer'),
    probeTimeout: withDefault(positiveDuration, '30s'),
    maxProbes: withDefault(positiveIntegerType, 20),
    cacheSize: withDefault(positiveIntegerType, 100_000),
  }),
  tlsrpt: section({
    enabled: withDefault(booleanType, true),
    organization: withDefault(reportTextType, ''),
    contact: withDefault(reportTextType, ''),
  }),
  events: section({
    webhooks: withDefault(webhooksType, []),
  }),
  suppression: section({
    enabled: withDefault(booleanType, true),
    after: withDefault(positiveIntegerType, 1),
    ttl: withDefault(positiveDuration, '30d'),
  }),
  quotas: section({
    perHour: withDefault(countType, 0),
    perDay: withDefault(countType, 0),
  }),
  http: disableableSection({ address: withDefault(addressType, '127.0.0.1'), port: withDefault(portType, 8025) }),
  log: section({ level: withDefault(choiceType(LOG_LEVELS), 'info') }),
});

export type ConfigSchema = typeof CONFIG_SCHEMA;
export type ValidatedConfig = ValueOf<ConfigSchema>;

/** "a.b" + "c" -> "a.b.c"; the root path is "". */
export function joinPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}
