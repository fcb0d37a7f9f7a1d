// What the delivery.routes entries mean at run time: per route its effective
// TLS policy (RFC 3207, RFC 8314), AUTH credentials (RFC 4954) and lane (limits
// and pacing), found from a destination or from the plan that used the route.

import { readFile } from 'node:fs/promises';
import type { Clock } from '../core/clock.js';
import { errnoCode } from '../core/errors.js';
import { routePolicyOf } from '../config/route-type.js';
import type { RouteConfig, RoutePolicyConfig } from '../config/types.js';
import { routeKeyOf, type PlanSuccess } from '../dns/next-hop.js';
import { credentialSource, type CredentialSource } from './credentials.js';
import { RouteLane } from './route-lane.js';
import { OPPORTUNISTIC_TLS, type SessionTls } from './session-setup.js';

export interface RouteRuntime {
  /** The delivery.routes key: "*" or a domain. */
  readonly key: string;
  readonly host: string;
  readonly policy: RoutePolicyConfig;
  /** Written as an object: its TLS, AUTH and limits are its own, and throttling replies pause it. */
  readonly isObject: boolean;
  readonly lane: RouteLane;
  readonly credentials: CredentialSource | undefined;
}

export interface RoutePoliciesOptions {
  readonly clock: Clock;
  /** CA certificates trusted for OAuth2 token endpoints instead of the default ones. */
  readonly tokenEndpointCa?: string | Buffer;
  readonly tokenTimeoutMs?: number;
}

export type RouteTlsOutcome = { readonly ok: true; readonly tls: SessionTls } | { readonly ok: false; readonly reason: string };

export class RoutePolicies {
  readonly #config: ReadonlyMap<string, RouteConfig>;
  readonly #routes = new Map<string, RouteRuntime>();

  constructor(routes: ReadonlyMap<string, RouteConfig>, options: RoutePoliciesOptions) {
    this.#config = routes;
    const deps = {
      clock: options.clock,
      ...(options.tokenEndpointCa === undefined ? {} : { tokenEndpointCa: options.tokenEndpointCa }),
      ...(options.tokenTimeoutMs === undefined ? {} : { tokenTimeoutMs: options.tokenTimeoutMs }),
    };
    for (const [key, route] of routes) {
      const policy = routePolicyOf(route);
      this.#routes.set(key, {
        key,
        host: route.host,
        policy,
        isObject: route.policy !== undefined,
        lane: new RouteLane({ route: key, maxSessions: policy.maxConnections, ratePerMinute: policy.ratePerMinute }),
        credentials: policy.auth === undefined ? undefined : credentialSource(policy.auth, deps),
      });
    }
  }

  /** The route a destination takes, if any (the same rule as the planner's). */
  forDestination(destination: string): RouteRuntime | undefined {
    const key = routeKeyOf(destination, this.#config);
    return key === undefined ? undefined : this.#routes.get(key);
  }

  /** The route the plan used; undefined for MX and literal plans. */
  forPlan(plan: PlanSuccess): RouteRuntime | undefined {
    return plan.source === 'route' && plan.route !== undefined ? this.#routes.get(plan.route) : undefined;
  }
}

/** The TLS of a route's sessions, with its `ca` file read now (so a replaced file counts). */
export async function routeTls(route: RouteRuntime | undefined): Promise<RouteTlsOutcome> {
  if (route === undefined) return { ok: true, tls: OPPORTUNISTIC_TLS };
  const { tls, verify, caFile } = route.policy;
  if (caFile === undefined) return { ok: true, tls: { mode: tls, verify, ca: undefined } };
  try {
    return { ok: true, tls: { mode: tls, verify, ca: await readFile(caFile, 'utf8') } };
  } catch (error: unknown) {
    return { ok: false, reason: `cannot read the CA file ${caFile} of route ${route.key}: ${errnoCode(error) ?? 'read error'}` };
  }
}
