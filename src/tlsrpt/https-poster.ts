// Submitting a report to an https: rua (RFC 8460 §5.2, §5.4): POST of the gzip
// JSON as application/tlsrpt+gzip over node:https, the certificate verified
// (Node's roots plus delivery.caFile), names resolved by outpost's resolver,
// any 2xx accepted, no redirects followed, a timeout.

import { request, type RequestOptions } from 'node:https';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { resolverLookup } from '../dns/node-lookup.js';
import type { Resolver } from '../dns/resolver.js';

export const DEFAULT_POST_TIMEOUT_MS = 60_000;
/** The answer's body is read (and dropped) up to this much. */
const MAX_ANSWER_BYTES = 64 * 1024;

export type PostResult = { readonly ok: true; readonly status: number } | { readonly ok: false; readonly reason: string };

export interface ReportPoster {
  post(url: string, body: Buffer, signal: AbortSignal): Promise<PostResult>;
}

export interface HttpsReportPosterOptions {
  readonly resolver: Resolver;
  readonly ipv6: boolean;
  readonly clock: Clock;
  /** PEM CA certificates trusted instead of Node's default store (Node's roots plus delivery.caFile). */
  readonly ca?: readonly string[];
  readonly timeoutMs?: number;
  /** Identifies us to the report receiver. */
  readonly userAgent?: string;
}

export class HttpsReportPoster implements ReportPoster {
  readonly #options: HttpsReportPosterOptions;

  constructor(options: HttpsReportPosterOptions) {
    this.#options = options;
  }

  /** Never rejects: network, TLS and HTTP failures are values. */
  async post(url: string, body: Buffer, signal: AbortSignal): Promise<PostResult> {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return { ok: false, reason: `${url} is not a URL` };
    }
    if (target.protocol !== 'https:') return { ok: false, reason: `${url} is not an https: URL` };
    const timeoutMs = this.#options.timeoutMs ?? DEFAULT_POST_TIMEOUT_MS;
    const controller = new AbortController();
    let why: string | undefined;
    const stop = (reason: string): void => {
      why ??= reason;
      controller.abort();
    };
    const onAbort = (): void => stop('aborted');
    const timer = this.#options.clock.setTimer(timeoutMs, () => stop(`no answer within ${timeoutMs} ms`));
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    try {
      const status = await this.#send(target, body, controller.signal);
      if (status >= 200 && status < 300) return { ok: true, status };
      return { ok: false, reason: `${url}: HTTP ${status}${status >= 300 && status < 400 ? ' (redirects are not followed)' : ''}` };
    } catch (error: unknown) {
      return { ok: false, reason: `${url}: ${why ?? errorMessage(error)}` };
    } finally {
      timer.cancel();
      signal.removeEventListener('abort', onAbort);
    }
  }

  #send(target: URL, body: Buffer, signal: AbortSignal): Promise<number> {
    const host = target.hostname.replace(/^\[|\]$/g, '');
    const options: RequestOptions = {
      host,
      servername: host,
      port: target.port === '' ? 443 : Number(target.port),
      path: `${target.pathname}${target.search}`,
      method: 'POST',
      agent: false,
      signal,
      minVersion: 'TLSv1.2',
      headers: {
        'content-type': 'application/tlsrpt+gzip',
        'content-length': String(body.length),
        connection: 'close',
        ...(this.#options.userAgent === undefined ? {} : { 'user-agent': this.#options.userAgent }),
      },
      lookup: resolverLookup(this.#options.resolver, this.#options.ipv6),
      ...(this.#options.ca === undefined ? {} : { ca: [...this.#options.ca] }),
    };
    return new Promise<number>((resolve, reject) => {
      const outgoing = request(options, (response) => {
        let bytes = 0;
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > MAX_ANSWER_BYTES) response.destroy();
        });
        response.on('error', () => undefined);
        response.on('close', () => resolve(response.statusCode ?? 0));
      });
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }
}
