import { jsonObjectOf } from './json-line.js';
// The provider request of the control channel (`outpost queue why` while a
// server runs): the state of the named providers' delivery limits, as the
// scheduler's ProviderLimits knows them (pause, sessions, last throttling).

/** A provider's state as sent over the socket: times in ms since the epoch, null when unset. */
export interface ProviderStateView {
  readonly provider: string;
  /** False when the server has not sent to it (or forgot it, idle and healthy): nothing else is set then. */
  readonly known: boolean;
  readonly maxSessions: number | null;
  readonly allowedSessions: number | null;
  readonly running: number | null;
  readonly pausedUntilMs: number | null;
  readonly throttledInARow: number | null;
  readonly throttledTotal: number | null;
  readonly lastThrottle: { readonly atMs: number; readonly reason: string; readonly reply: string } | null;
  readonly rateReadyAtMs: number | null;
}

export interface ProviderStateRequest {
  readonly action: 'provider-state';
  readonly providers: readonly string[];
}

export type ProviderStateResponse = { readonly ok: true; readonly providers: readonly ProviderStateView[] } | { readonly ok: false; readonly error: string };

/** What the running server answers with (main.ts wires ProviderLimits.providerState). */
export type ProviderStateSource = (provider: string) => ProviderStateView;

/** Providers asked about in one request at most. */
const MAX_PROVIDERS = 64;
const PROVIDER_NAME = /^[0-9A-Za-z._-]{1,253}$/;

/** The request, or undefined when the line is not a provider request. */
export function parseProviderStateRequest(line: string): ProviderStateRequest | undefined {
  const value = jsonObjectOf(line);
  if (value === undefined) return undefined;
  const { action, providers } = value as { action?: unknown; providers?: unknown };
  if (action !== 'provider-state' || !Array.isArray(providers) || providers.length > MAX_PROVIDERS) return undefined;
  if (!providers.every((name): name is string => typeof name === 'string' && PROVIDER_NAME.test(name))) return undefined;
  return { action, providers };
}

export function unknownProvider(provider: string): ProviderStateView {
  return {
    provider,
    known: false,
    maxSessions: null,
    allowedSessions: null,
    running: null,
    pausedUntilMs: null,
    throttledInARow: null,
    throttledTotal: null,
    lastThrottle: null,
    rateReadyAtMs: null,
  };
}
