// Value types made of several parts: `delivery.routes` (domain or "*" -> next
// hop, a "host[:port]" or a route object) and `listen` (address, port, mode, PROXY protocol), with their environment forms.

import { canonicalDomain } from '../core/domain.js';
import type { ListenerConfig, ListenerMode } from './types.js';
import { splitHostPort } from './endpoints.js';
import { addressType, booleanType, choiceType, cidrType, listType, nextHopType, portType, type FieldContext, type LeafType } from './leaf-types.js';
import { parseRouteObject, type ParsedRoute } from './route-type.js';
import { closestName, describeValue, failure, isPlainObject, success, type Outcome } from './values.js';

function parseRoute(raw: unknown, field: FieldContext): ParsedRoute | undefined {
  if (isPlainObject(raw)) return parseRouteObject(raw, field);
  const hop = nextHopType.parse(raw, field);
  return hop === undefined ? undefined : { host: hop.host, port: hop.port, policy: undefined };
}

export const LISTENER_MODES: readonly ListenerMode[] = ['mta', 'submission', 'smtps'];

/** The route key for every domain without a route of its own. */
export const DEFAULT_ROUTE = '*';

/**
 * Domain (canonical) or "*" -> next hop: "host[:port]" (opportunistic TLS, a
 * missing port means `delivery.port`) or a route object (src/config/route-type.ts).
 * Route objects come from YAML only; the environment form takes "host[:port]".
 */
export const routesType: LeafType<ReadonlyMap<string, ParsedRoute>> = {
  parse(raw, field) {
    if (!isPlainObject(raw)) {
      field.report(field.path, `${describeValue(raw)} is not a mapping of domain: "host[:port]" or route object`);
      return undefined;
    }
    const routes = new Map<string, ParsedRoute>();
    let valid = true;
    for (const [domain, target] of Object.entries(raw)) {
      const path = `${field.path}.${domain}`;
      const canonical = domain.trim() === DEFAULT_ROUTE ? DEFAULT_ROUTE : canonicalDomain(domain);
      const route = parseRoute(target, { ...field, path });
      if (canonical === undefined) field.report(path, `${JSON.stringify(domain)} is not a valid domain (or "*" for every other domain)`);
      else if (routes.has(canonical)) field.report(path, `a route for ${canonical} is already given`);
      if (canonical === undefined || route === undefined || routes.has(canonical)) valid = false;
      else routes.set(canonical, route);
    }
    return valid ? routes : undefined;
  },
  fromEnv(text) {
    const routes: Record<string, string> = {};
    for (const entry of text.split(',').map((item) => item.trim()).filter((item) => item !== '')) {
      const equals = entry.indexOf('=');
      if (equals <= 0) return failure(`${JSON.stringify(entry)} is not domain=host[:port]`);
      routes[entry.slice(0, equals).trim()] = entry.slice(equals + 1).trim();
    }
    return success(routes);
  },
};

const REQUIRED_LISTENER_FIELDS = ['address', 'port', 'mode'] as const;
const LISTENER_FIELDS = [...REQUIRED_LISTENER_FIELDS, 'proxyProtocol', 'proxyFrom'] as const;
const modeType = choiceType(LISTENER_MODES);
const proxyFromType = listType(cidrType, { nonEmpty: true });

function parseListener(raw: unknown, field: FieldContext): ListenerConfig | undefined {
  if (!isPlainObject(raw)) {
    field.report(field.path, `${describeValue(raw)} is not a listener (write { address: 0.0.0.0, port: 25, mode: mta })`);
    return undefined;
  }
  for (const key of Object.keys(raw).filter((name) => !(LISTENER_FIELDS as readonly string[]).includes(name))) {
    const suggestion = closestName(key, LISTENER_FIELDS);
    field.report(`${field.path}.${key}`, `unknown key${suggestion === undefined ? ' (a listener has address, port, mode and optionally proxyProtocol, proxyFrom)' : ` (did you mean ${suggestion}?)`}`);
  }
  const part = <T>(key: (typeof REQUIRED_LISTENER_FIELDS)[number], type: LeafType<T>): T | undefined => {
    const path = `${field.path}.${key}`;
    if (raw[key] !== undefined && raw[key] !== null) return type.parse(raw[key], { ...field, path });
    field.report(path, 'missing (a listener needs address, port and mode)');
    return undefined;
  };
  const address = part('address', addressType);
  const port = part('port', portType);
  const mode = part('mode', modeType);
  const proxy = parseProxySetting(raw, field);
  if (address === undefined || port === undefined || mode === undefined || proxy === 'invalid') return undefined;
  return proxy === undefined ? { address, port, mode } : { address, port, mode, proxyFrom: proxy };
}

/**
 * `proxyProtocol: true` with `proxyFrom: [CIDR...]` (the load balancers); one without the other is an
 * error: PROXY headers from anyone would let any client choose its address, and proxyFrom alone
 * would look like a restriction while doing nothing.
 */
function parseProxySetting(raw: Record<string, unknown>, field: FieldContext): readonly string[] | 'invalid' | undefined {
  const given = (key: string): boolean => raw[key] !== undefined && raw[key] !== null;
  const enabled = given('proxyProtocol') ? booleanType.parse(raw['proxyProtocol'], { ...field, path: `${field.path}.proxyProtocol` }) : false;
  const fromPath = `${field.path}.proxyFrom`;
  const from = given('proxyFrom') ? proxyFromType.parse(raw['proxyFrom'], { ...field, path: fromPath }) : undefined;
  if (enabled === undefined || (given('proxyFrom') && from === undefined)) return 'invalid';
  if (enabled && from === undefined) {
    field.report(`${field.path}.proxyProtocol`, 'proxyProtocol: true needs proxyFrom: [CIDR...], the addresses of the load balancers allowed to send PROXY headers');
    return 'invalid';
  }
  if (!enabled && from !== undefined) {
    field.report(fromPath, 'proxyFrom is only used with proxyProtocol: true (add it, or remove proxyFrom)');
    return 'invalid';
  }
  return enabled ? from : undefined;
}

/** The `listen` list: at least one listener, no address:port twice (port 0 excepted: ephemeral). */
export const listenersType: LeafType<readonly ListenerConfig[]> = {
  parse(raw, field) {
    if (!Array.isArray(raw) || raw.length === 0) {
      field.report(field.path, Array.isArray(raw) ? 'the list is empty; give at least one listener' : `${describeValue(raw)} is not a list of listeners`);
      return undefined;
    }
    const listeners = raw.map((item: unknown, index) => parseListener(item, { ...field, path: `${field.path}[${index}]` }));
    if (!listeners.every((listener): listener is ListenerConfig => listener !== undefined)) return undefined;
    const seen = new Set<string>();
    let valid = true;
    listeners.forEach((listener, index) => {
      const where = `${listener.address}:${listener.port}`;
      if (listener.port !== 0 && seen.has(where)) {
        field.report(`${field.path}[${index}]`, `${where} is already used by another listener`);
        valid = false;
      }
      seen.add(where);
    });
    return valid ? listeners : undefined;
  },
  fromEnv(text) {
    const listeners: Array<Record<string, unknown>> = [];
    for (const entry of text.split(',').map((item) => item.trim()).filter((item) => item !== '')) {
      const parsed = listenerFromText(entry);
      if (!parsed.ok) return parsed;
      listeners.push(parsed.value);
    }
    return success(listeners);
  },
};

/** "127.0.0.1:2525/mta" or "[::1]:2587/submission" -> { address, port, mode }. */
function listenerFromText(entry: string): Outcome<Record<string, unknown>> {
  const bad = failure<Record<string, unknown>>(`${JSON.stringify(entry)} is not address:port/mode (e.g. 127.0.0.1:2525/mta, [::1]:2587/submission)`);
  const slash = entry.lastIndexOf('/');
  if (slash < 0) return bad;
  const hostPort = entry.slice(0, slash);
  const split = splitHostPort(hostPort);
  if (!split.ok || split.value.port === undefined) return bad;
  return success({ address: split.value.host, port: split.value.port, mode: entry.slice(slash + 1).trim() });
}
