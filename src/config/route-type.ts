// A `delivery.routes` value written as an object (INTERFACE.md "Configuration"):
// host, port, TLS mode (RFC 3207, RFC 8314), AUTH (RFC 4954; XOAUTH2 with a token
// file or the OAuth2 client-credentials grant, RFC 6749 §4.4) and limits.

import { readFileSync } from 'node:fs';
import { isHostOrAddress } from './endpoints.js';
import { unreadableReasonSync } from './files.js';
import { booleanType, choiceType, integerType, pathType, positiveIntegerType, type FieldContext, type LeafType } from './leaf-types.js';
import type { PasswordMechanism, RouteAuthConfig, RouteConfig, RoutePolicyConfig, RouteTlsMode } from './types.js';
import { closestName, describeValue, isPlainObject, listChoices, success } from './values.js';

export const ROUTE_TLS_MODES: readonly RouteTlsMode[] = ['starttls', 'implicit', 'opportunistic', 'none'];
/** Port of implicit-TLS submission (RFC 8314 §3.3), the default of `tls: implicit` routes. */
export const IMPLICIT_TLS_PORT = 465;
/** RFC 6409: where a relay hands mail to a provider with a password. */
export const SUBMISSION_PORT = 587;

const ROUTE_FIELDS = ['host', 'port', 'tls', 'verify', 'ca', 'auth', 'maxConnections', 'ratePerMinute'] as const;
const AUTH_FIELDS = ['username', 'mechanism', 'passwordFile', 'tokenFile', 'oauth2'] as const;
const OAUTH2_FIELDS = ['tokenUrl', 'clientId', 'clientSecretFile', 'scope'] as const;
const MECHANISMS = ['plain', 'login', 'xoauth2'] as const;

/** A route as parsed: the port stays open until the defaults are known. */
export interface ParsedRoute {
  readonly host: string;
  readonly port: number | undefined;
  readonly policy: RoutePolicyConfig | undefined;
}

/** The policy of a "host[:port]" route: opportunistic STARTTLS, no AUTH, no limits of its own. */
export const STRING_ROUTE_POLICY: RoutePolicyConfig = Object.freeze({
  tls: 'opportunistic',
  verify: false,
  caFile: undefined,
  auth: undefined,
  maxConnections: undefined,
  ratePerMinute: undefined,
});

export function routePolicyOf(route: RouteConfig): RoutePolicyConfig {
  return route.policy ?? STRING_ROUTE_POLICY;
}

/** The configured route with its port filled in: given, else 465 for implicit TLS, 587 for AUTH over STARTTLS, else `delivery.port`. */
export function routeConfigOf(route: ParsedRoute, deliveryPort: number): RouteConfig {
  const submission = route.policy?.tls === 'starttls' && route.policy.auth !== undefined;
  const port = route.port ?? (route.policy?.tls === 'implicit' ? IMPLICIT_TLS_PORT : submission ? SUBMISSION_PORT : deliveryPort);
  return route.policy === undefined ? { host: route.host, port } : { host: route.host, port, policy: route.policy };
}

const ABSENT = Symbol('absent');
type Part<T> = T | undefined | typeof ABSENT;

function given<T>(part: Part<T>): part is T {
  return part !== ABSENT && part !== undefined;
}

/** Reports keys that are not `allowed`, with a "did you mean" when one is close. */
function reportUnknownKeys(raw: Record<string, unknown>, field: FieldContext, allowed: readonly string[], what: string): boolean {
  const unknown = Object.keys(raw).filter((key) => !allowed.includes(key));
  for (const key of unknown) {
    const suggestion = closestName(key, allowed);
    field.report(`${field.path}.${key}`, `unknown key${suggestion === undefined ? ` (${what} has ${listChoices(allowed)})` : ` (did you mean ${suggestion}?)`}`);
  }
  return unknown.length === 0;
}

/** The value at `key`: ABSENT when not given, undefined after reporting a problem. */
function part<T>(raw: Record<string, unknown>, field: FieldContext, key: string, type: LeafType<T>): Part<T> {
  const value = raw[key];
  if (value === undefined || value === null) return ABSENT;
  return type.parse(value, { ...field, path: `${field.path}.${key}` });
}

function required<T>(value: Part<T>, field: FieldContext, key: string, why: string): T | undefined {
  if (value !== ABSENT) return value;
  field.report(`${field.path}.${key}`, `missing (${why})`);
  return undefined;
}

function textType(what: string, judge: (text: string) => string | undefined = () => undefined): LeafType<string> {
  return {
    parse(raw, field) {
      const text = typeof raw === 'string' ? raw.trim() : typeof raw === 'number' ? String(raw) : undefined;
      const problem = text === undefined || text === '' ? `${describeValue(raw)} is not ${what}` : judge(text);
      if (problem === undefined && text !== undefined) return text;
      field.report(field.path, problem ?? `${describeValue(raw)} is not ${what}`);
      return undefined;
    },
    fromEnv: (text) => success(text),
  };
}

const hostType = textType('a host name or IP address', (text) => (isHostOrAddress(text) ? undefined : `${JSON.stringify(text)} is not a valid host name or IP address`));
const routePortType = integerType(1, 65535, 'a port number (1-65535)');

const httpsUrlType = textType('an https:// URL', (text) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `${JSON.stringify(text)} is not a URL`;
  }
  return url.protocol === 'https:' ? undefined : `${JSON.stringify(text)} is not an https:// URL (the client secret never travels in clear)`;
});

/** A path (relative to the config file's folder) to a file that must be readable now. */
function readableFileType(check: (path: string) => string | undefined = () => undefined): LeafType<string> {
  return {
    parse(raw, field) {
      const path = pathType.parse(raw, field);
      if (path === undefined) return undefined;
      const problem = unreadableReasonSync(path) ?? check(path);
      if (problem === undefined) return path;
      field.report(field.path, `cannot read ${path}: ${problem}`);
      return undefined;
    },
    fromEnv: pathType.fromEnv,
  };
}

const secretFileType = readableFileType();
export const caFileType = readableFileType((path) => (readFileSync(path, 'latin1').includes('-----BEGIN CERTIFICATE-----') ? undefined : 'no PEM certificate in it'));

const mechanismType: LeafType<(typeof MECHANISMS)[number]> = {
  parse: (raw, field) => choiceType(MECHANISMS).parse(typeof raw === 'string' ? raw.trim().toLowerCase() : raw, field),
  fromEnv: (text) => success(text.trim()),
};

function parseOAuth2(raw: unknown, field: FieldContext): RouteAuthConfig | undefined {
  if (!isPlainObject(raw)) {
    field.report(field.path, `${describeValue(raw)} is not a mapping (write { tokenUrl, clientId, clientSecretFile, scope })`);
    return undefined;
  }
  let valid = reportUnknownKeys(raw, field, OAUTH2_FIELDS, 'oauth2');
  const why = 'oauth2 needs tokenUrl, clientId and clientSecretFile';
  const tokenUrl = required(part(raw, field, 'tokenUrl', httpsUrlType), field, 'tokenUrl', why);
  const clientId = required(part(raw, field, 'clientId', textType('a client id')), field, 'clientId', why);
  const clientSecretFile = required(part(raw, field, 'clientSecretFile', secretFileType), field, 'clientSecretFile', why);
  const scope = part(raw, field, 'scope', textType('an OAuth2 scope'));
  valid &&= tokenUrl !== undefined && clientId !== undefined && clientSecretFile !== undefined && scope !== undefined;
  if (!valid || tokenUrl === undefined || clientId === undefined || clientSecretFile === undefined || scope === undefined) return undefined;
  return { kind: 'client-credentials', username: '', tokenUrl, clientId, clientSecretFile, scope: scope === ABSENT ? undefined : scope };
}

const PASSWORD_MECHANISMS: Readonly<Record<string, readonly PasswordMechanism[]>> = { plain: ['PLAIN'], login: ['LOGIN'] };

function parseAuth(raw: unknown, field: FieldContext): RouteAuthConfig | undefined {
  if (!isPlainObject(raw)) {
    field.report(field.path, `${describeValue(raw)} is not a mapping (write { username, passwordFile } or { username, mechanism: xoauth2, tokenFile })`);
    return undefined;
  }
  let valid = reportUnknownKeys(raw, field, AUTH_FIELDS, 'auth');
  const username = required(part(raw, field, 'username', textType('a user name')), field, 'username', 'auth needs a username');
  const mechanism = part(raw, field, 'mechanism', mechanismType);
  const passwordFile = part(raw, field, 'passwordFile', secretFileType);
  const tokenFile = part(raw, field, 'tokenFile', secretFileType);
  const oauth2 = part(raw, field, 'oauth2', { parse: parseOAuth2, fromEnv: (text) => success(text) });
  const sources = [passwordFile, tokenFile, oauth2].filter((source) => source !== ABSENT).length;
  if (sources !== 1) {
    field.report(field.path, sources === 0 ? 'give passwordFile, or tokenFile or oauth2 (with mechanism: xoauth2)' : 'give only one of passwordFile, tokenFile and oauth2');
    valid = false;
  }
  if (mechanism === 'xoauth2' && passwordFile !== ABSENT) {
    field.report(`${field.path}.mechanism`, 'xoauth2 takes a tokenFile or oauth2, not a passwordFile');
    valid = false;
  }
  if ((mechanism === 'plain' || mechanism === 'login') && passwordFile === ABSENT) {
    field.report(`${field.path}.mechanism`, `${mechanism} takes a passwordFile (tokenFile and oauth2 are for mechanism: xoauth2)`);
    valid = false;
  }
  if (!valid || username === undefined || mechanism === undefined) return undefined;
  if (given(passwordFile)) {
    return { kind: 'password', username, passwordFile, mechanisms: mechanism === ABSENT ? ['PLAIN', 'LOGIN'] : PASSWORD_MECHANISMS[mechanism] ?? ['PLAIN'] };
  }
  if (given(tokenFile)) return { kind: 'token-file', username, tokenFile };
  return given(oauth2) ? { ...oauth2, username } : undefined;
}

/** Judges a route object; reports every problem at its own key path. */
export function parseRouteObject(raw: Record<string, unknown>, field: FieldContext): ParsedRoute | undefined {
  let valid = reportUnknownKeys(raw, field, ROUTE_FIELDS, 'a route');
  const host = required(part(raw, field, 'host', hostType), field, 'host', 'a route object needs a host');
  const port = part(raw, field, 'port', routePortType);
  const tls = part(raw, field, 'tls', choiceType(ROUTE_TLS_MODES));
  const verify = part(raw, field, 'verify', booleanType);
  const caFile = part(raw, field, 'ca', caFileType);
  const auth = part(raw, field, 'auth', { parse: parseAuth, fromEnv: (text) => success(text) });
  const maxConnections = part(raw, field, 'maxConnections', positiveIntegerType);
  const ratePerMinute = part(raw, field, 'ratePerMinute', positiveIntegerType);
  valid &&= [host, port, tls, verify, caFile, auth, maxConnections, ratePerMinute].every((value) => value !== undefined);
  if (given(auth) && given(tls) && tls !== 'starttls' && tls !== 'implicit') {
    // Opportunistic TLS can be stripped or faked by anyone on the path: a password never rides on it.
    field.report(`${field.path}.auth`, `credentials need tls: starttls or implicit (TLS required and verified), not tls: ${tls}`);
    valid = false;
  }
  if (!valid || host === undefined) return undefined;
  const value = <T>(item: Part<T>): T | undefined => (given(item) ? item : undefined);
  const policy: RoutePolicyConfig = {
    // AUTH wants TLS: a route with credentials requires STARTTLS unless it says otherwise.
    tls: value(tls) ?? (given(auth) ? 'starttls' : 'opportunistic'),
    verify: value(verify) ?? true,
    caFile: value(caFile),
    auth: value(auth),
    maxConnections: value(maxConnections),
    ratePerMinute: value(ratePerMinute),
  };
  return { host, port: value(port), policy };
}
