// OAuth2 access tokens by the client-credentials grant (RFC 6749 §4.4, §5.1,
// §5.2) for AUTH XOAUTH2: one HTTPS POST (node:https only), the token cached on
// the injected clock until shortly before `expires_in`, the secret never in a reason.

import { request } from 'node:https';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { cleanRemoteText } from './reply-reader.js';
import { readSecretFile } from './secret-file.js';

export const DEFAULT_TOKEN_TIMEOUT_MS = 30_000;
/** Largest token endpoint response read. */
export const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;
/** A token is refreshed this long before it expires (at most a tenth of its lifetime before). */
export const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;
/** Lifetime assumed when the endpoint gives no `expires_in`. */
export const DEFAULT_TOKEN_LIFETIME_MS = 5 * 60_000;

export interface ClientCredentialsOptions {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecretFile: string;
  readonly scope: string | undefined;
  readonly clock: Clock;
  /** CA certificates trusted for the token endpoint instead of the default ones (tests: a local HTTPS server). */
  readonly ca?: string | Buffer;
  readonly timeoutMs?: number;
}

export type TokenOutcome = { readonly ok: true; readonly token: string } | { readonly ok: false; readonly reason: string };

interface CachedToken {
  readonly token: string;
  readonly refreshAtMs: number;
  readonly expiresAtMs: number;
}

interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

export class ClientCredentialsToken {
  readonly #options: ClientCredentialsOptions;
  readonly #endpoint: string;
  #cached: CachedToken | undefined;
  #pending: Promise<TokenOutcome> | undefined;

  constructor(options: ClientCredentialsOptions) {
    this.#options = options;
    const url = new URL(options.tokenUrl);
    this.#endpoint = `${url.host}${url.pathname}`;
  }

  /** A valid token: the cached one, else a fresh one (concurrent callers share one request). */
  async token(signal: AbortSignal): Promise<TokenOutcome> {
    const nowMs = this.#options.clock.now();
    if (this.#cached !== undefined && nowMs < this.#cached.refreshAtMs) return { ok: true, token: this.#cached.token };
    this.#pending ??= this.#refresh().finally(() => {
      this.#pending = undefined;
    });
    return raceAbort(this.#pending, signal);
  }

  /** The server refused the token: the next call fetches a new one. */
  invalidate(): void {
    this.#cached = undefined;
  }

  async #refresh(): Promise<TokenOutcome> {
    const fetched = await this.#fetch();
    if (fetched.ok) return fetched;
    // Refreshing early failed, but the token we have is still good for a while.
    const cached = this.#cached;
    return cached !== undefined && this.#options.clock.now() < cached.expiresAtMs ? { ok: true, token: cached.token } : fetched;
  }

  async #fetch(): Promise<TokenOutcome> {
    const secret = await readSecretFile(this.#options.clientSecretFile);
    if (!secret.ok) return { ok: false, reason: `client secret: ${secret.reason}` };
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: this.#options.clientId, client_secret: secret.secret });
    if (this.#options.scope !== undefined) form.set('scope', this.#options.scope);
    const startMs = this.#options.clock.now();
    let answer: HttpAnswer;
    try {
      answer = await this.#post(form.toString());
    } catch (error: unknown) {
      return { ok: false, reason: scrub(`cannot get a token from ${this.#endpoint}: ${errorMessage(error)}`, secret.secret) };
    }
    const outcome = this.#read(answer, startMs);
    return outcome.ok ? outcome : { ok: false, reason: scrub(outcome.reason, secret.secret) };
  }

  /** RFC 6749 §5.1 success (a bearer token) or §5.2 error, as an outcome. */
  #read(answer: HttpAnswer, startMs: number): TokenOutcome {
    const json = parseJson(answer.body);
    if (answer.status !== 200) {
      const error = typeof json?.['error'] === 'string' ? `: ${json['error']}` : '';
      const description = typeof json?.['error_description'] === 'string' ? ` (${json['error_description'].slice(0, 200)})` : '';
      return { ok: false, reason: cleanRemoteText(`token endpoint ${this.#endpoint} answered HTTP ${answer.status}${error}${description}`) };
    }
    const token = json?.['access_token'];
    const type = json?.['token_type'];
    if (typeof token !== 'string' || token === '' || /[\s\x00-\x1f\x7f]/.test(token)) return { ok: false, reason: `token endpoint ${this.#endpoint} sent no usable access_token` };
    if (typeof type === 'string' && type.toLowerCase() !== 'bearer') return { ok: false, reason: `token endpoint ${this.#endpoint} sent a ${cleanRemoteText(type.slice(0, 40))} token, not a bearer token` };
    const expiresIn = Number(json?.['expires_in']);
    const lifetimeMs = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : DEFAULT_TOKEN_LIFETIME_MS;
    const margin = Math.min(TOKEN_REFRESH_MARGIN_MS, lifetimeMs / 10);
    this.#cached = { token, refreshAtMs: startMs + lifetimeMs - margin, expiresAtMs: startMs + lifetimeMs };
    return { ok: true, token };
  }

  /** POSTs the form over HTTPS; the answer's body is capped; the whole exchange times out on the clock. */
  #post(form: string): Promise<HttpAnswer> {
    const url = new URL(this.#options.tokenUrl);
    if (url.protocol !== 'https:') return Promise.reject(new Error('the token URL is not https'));
    const timeoutMs = this.#options.timeoutMs ?? DEFAULT_TOKEN_TIMEOUT_MS;
    return new Promise<HttpAnswer>((resolve, reject) => {
      const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'content-length': Buffer.byteLength(form) };
      const outgoing = request(url, { method: 'POST', headers, minVersion: 'TLSv1.2', ...(this.#options.ca === undefined ? {} : { ca: this.#options.ca }) }, (response) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > MAX_TOKEN_RESPONSE_BYTES) outgoing.destroy(new Error(`response larger than ${MAX_TOKEN_RESPONSE_BYTES} bytes`));
          else chunks.push(chunk);
        });
        response.on('end', () => {
          timer.cancel();
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        response.on('error', fail);
      });
      const fail = (error: Error): void => {
        timer.cancel();
        reject(error);
      };
      const timer = this.#options.clock.setTimer(timeoutMs, () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      outgoing.on('error', fail);
      outgoing.end(form);
    });
  }
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A reason with every trace of the secret (raw or form-encoded) replaced. */
function scrub(reason: string, secret: string): string {
  return [secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)].reduce((text, form) => text.split(form).join('***'), reason);
}

function raceAbort<T extends TokenOutcome>(pending: Promise<T>, signal: AbortSignal): Promise<TokenOutcome> {
  if (signal.aborted) return Promise.resolve({ ok: false, reason: 'token request aborted' });
  return new Promise((resolve) => {
    const onAbort = (): void => resolve({ ok: false, reason: 'token request aborted' });
    signal.addEventListener('abort', onAbort, { once: true });
    void pending.then((outcome) => {
      signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    });
  });
}
