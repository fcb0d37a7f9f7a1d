// Fetching a policy (RFC 8461 §3.3): GET https://mta-sts.<domain>/.well-known/mta-sts.txt
// over node:https with the certificate verified for that name (SNI), the name
// resolved by outpost's resolver, no redirects, 200 and text/plain only, 64 KB cap, a timeout.

import { request, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Clock } from '../core/clock.js';
import { errnoCode, errorMessage } from '../core/errors.js';
import { resolverLookup } from '../dns/node-lookup.js';
import type { Resolver } from '../dns/resolver.js';

export const POLICY_PATH = '/.well-known/mta-sts.txt';
/** §3.3: policies larger than this are not read. */
export const MAX_POLICY_BYTES = 64 * 1024;
/** §3.3 suggests about a minute. */
export const DEFAULT_POLICY_FETCH_TIMEOUT_MS = 60_000;
export const HTTPS_PORT = 443;

export type PolicyFetch =
  | { readonly ok: true; readonly text: string }
  /** `code`: the Node error code when there is one (e.g. CERT_HAS_EXPIRED: the policy host's certificate failed). */
  | { readonly ok: false; readonly reason: string; readonly code?: string };

/** Where policy texts come from; never rejects for network or HTTP failures. */
export interface PolicyFetcher {
  fetch(domain: string, signal: AbortSignal): Promise<PolicyFetch>;
}

export interface HttpsPolicyFetcherOptions {
  readonly resolver: Resolver;
  /** Also connect to AAAA addresses (dns.ipv6). */
  readonly ipv6: boolean;
  readonly clock: Clock;
  readonly timeoutMs?: number;
  /** PEM CA certificates trusted instead of Node's default store (Node's roots plus delivery.caFile). */
  readonly ca?: readonly string[];
  /** 443; another port only in tests. */
  readonly port?: number;
}

function isTextPlain(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.split(';')[0]?.trim().toLowerCase() === 'text/plain';
}

export class HttpsPolicyFetcher implements PolicyFetcher {
  readonly #options: HttpsPolicyFetcherOptions;

  constructor(options: HttpsPolicyFetcherOptions) {
    this.#options = options;
  }

  async fetch(domain: string, signal: AbortSignal): Promise<PolicyFetch> {
    const host = `mta-sts.${domain}`;
    const url = `https://${host}${POLICY_PATH}`;
    const timeoutMs = this.#options.timeoutMs ?? DEFAULT_POLICY_FETCH_TIMEOUT_MS;
    const controller = new AbortController();
    let why: string | undefined;
    const stop = (reason: string): void => {
      why ??= reason;
      controller.abort();
    };
    const onAbort = (): void => stop('aborted');
    const timer = this.#options.clock.setTimer(timeoutMs, () => stop(`no complete answer within ${timeoutMs} ms`));
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    try {
      return { ok: true, text: await this.#get(host, controller.signal) };
    } catch (error: unknown) {
      const code = why === undefined ? errnoCode(error) : undefined;
      return { ok: false, reason: `${url}: ${why ?? errorMessage(error)}`, ...(code === undefined ? {} : { code }) };
    } finally {
      timer.cancel();
      signal.removeEventListener('abort', onAbort);
    }
  }

  #get(host: string, signal: AbortSignal): Promise<string> {
    const options: RequestOptions = {
      host,
      servername: host,
      port: this.#options.port ?? HTTPS_PORT,
      path: POLICY_PATH,
      method: 'GET',
      agent: false,
      signal,
      minVersion: 'TLSv1.2',
      headers: { accept: 'text/plain', connection: 'close' },
      lookup: resolverLookup(this.#options.resolver, this.#options.ipv6),
      ...(this.#options.ca === undefined ? {} : { ca: [...this.#options.ca] }),
    };
    return new Promise<string>((resolve, reject) => {
      const outgoing = request(options, (response) => {
        readPolicy(response).then(resolve, (error: unknown) => {
          outgoing.destroy();
          reject(error instanceof Error ? error : new Error(String(error)));
        });
      });
      outgoing.on('error', reject);
      outgoing.end();
    });
  }
}

/** The body of a 200 text/plain answer of at most MAX_POLICY_BYTES, as UTF-8. */
async function readPolicy(response: IncomingMessage): Promise<string> {
  const status = response.statusCode ?? 0;
  if (status >= 300 && status < 400) {
    throw new Error(`HTTP ${status} redirect${typeof response.headers.location === 'string' ? ` to ${response.headers.location.slice(0, 200)}` : ''} (redirects are not followed)`);
  }
  if (status !== 200) throw new Error(`HTTP ${status} (only 200 gives a policy)`);
  const type = response.headers['content-type'];
  if (!isTextPlain(type)) throw new Error(`Content-Type ${type === undefined ? 'missing' : JSON.stringify(type.slice(0, 100))}, not text/plain`);
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_POLICY_BYTES) throw new Error(`the policy is ${declared} bytes, more than ${MAX_POLICY_BYTES}`);
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > MAX_POLICY_BYTES) throw new Error(`the policy is more than ${MAX_POLICY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new Error('the policy is not UTF-8 text');
  }
}
