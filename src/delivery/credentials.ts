// Where a route's AUTH credentials come from (RFC 4954): a password file, a
// token file kept fresh by something else, or the OAuth2 client-credentials
// grant; read at use time, so rotating a file takes effect on the next session.

import type { Clock } from '../core/clock.js';
import type { PasswordMechanism, RouteAuthConfig } from '../config/types.js';
import { ClientCredentialsToken } from './oauth2-token.js';
import { readSecretFile } from './secret-file.js';

export type Credentials =
  | { readonly kind: 'password'; readonly username: string; readonly password: string; readonly mechanisms: readonly PasswordMechanism[] }
  | { readonly kind: 'xoauth2'; readonly username: string; readonly token: string };

export type CredentialsOutcome = { readonly ok: true; readonly credentials: Credentials } | { readonly ok: false; readonly reason: string };

export interface CredentialSource {
  readonly username: string;
  /** "PLAIN/LOGIN" or "XOAUTH2": for logs and `outpost resolve`. */
  readonly mechanisms: string;
  /** The OAuth2 token endpoint is involved: its failures are 4.7.x, not local configuration problems. */
  readonly fetchesTokens: boolean;
  get(signal: AbortSignal): Promise<CredentialsOutcome>;
  /** The server refused what `get` gave: a cached token is dropped. */
  rejected(): void;
}

export interface CredentialDependencies {
  readonly clock: Clock;
  /** CA certificates trusted for OAuth2 token endpoints instead of the default ones. */
  readonly tokenEndpointCa?: string | Buffer;
  readonly tokenTimeoutMs?: number;
}

export function credentialSource(auth: RouteAuthConfig, deps: CredentialDependencies): CredentialSource {
  const { username } = auth;
  switch (auth.kind) {
    case 'password':
      return {
        username,
        mechanisms: auth.mechanisms.join('/'),
        fetchesTokens: false,
        async get() {
          const read = await readSecretFile(auth.passwordFile);
          return read.ok ? { ok: true, credentials: { kind: 'password', username, password: read.secret, mechanisms: auth.mechanisms } } : { ok: false, reason: `password file: ${read.reason}` };
        },
        rejected: () => undefined,
      };
    case 'token-file':
      return {
        username,
        mechanisms: 'XOAUTH2',
        fetchesTokens: false,
        async get() {
          const read = await readSecretFile(auth.tokenFile);
          return read.ok ? { ok: true, credentials: { kind: 'xoauth2', username, token: read.secret } } : { ok: false, reason: `token file: ${read.reason}` };
        },
        rejected: () => undefined,
      };
    case 'client-credentials': {
      const tokens = new ClientCredentialsToken({
        tokenUrl: auth.tokenUrl,
        clientId: auth.clientId,
        clientSecretFile: auth.clientSecretFile,
        scope: auth.scope,
        clock: deps.clock,
        ...(deps.tokenEndpointCa === undefined ? {} : { ca: deps.tokenEndpointCa }),
        ...(deps.tokenTimeoutMs === undefined ? {} : { timeoutMs: deps.tokenTimeoutMs }),
      });
      return {
        username,
        mechanisms: 'XOAUTH2',
        fetchesTokens: true,
        async get(signal) {
          const fetched = await tokens.token(signal);
          return fetched.ok ? { ok: true, credentials: { kind: 'xoauth2', username, token: fetched.token } } : { ok: false, reason: fetched.reason };
        },
        rejected: () => tokens.invalidate(),
      };
    }
  }
}
