// One webhook POST: http or https (certificates verified against the system
// CAs plus delivery.caFile), a timeout on the injected clock, no redirects
// followed (a 3xx is a failure). Resolves with the status or the error; never rejects.

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Clock } from '../core/clock.js';

export type PostResult = { readonly ok: true; readonly status: number } | { readonly ok: false; readonly status: number | null; readonly problem: string };

export type PostEvent = (url: string, headers: Readonly<Record<string, string>>, body: string) => Promise<PostResult>;

export interface HttpPostOptions {
  readonly clock: Clock;
  readonly timeoutMs: number;
  /** Extra trusted CA certificates (PEM), added to Node's defaults. */
  readonly ca?: readonly (string | Buffer)[] | undefined;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

export function httpPoster(options: HttpPostOptions): PostEvent {
  return (url, headers, body) =>
    new Promise<PostResult>((resolve) => {
      const target = new URL(url);
      const payload = Buffer.from(body, 'utf8');
      const requestOptions = {
        method: 'POST',
        headers: { ...headers, 'content-length': String(payload.length), 'user-agent': 'outpost-webhooks' },
        ...(target.protocol === 'https:' && options.ca !== undefined ? { ca: [...options.ca] } : {}),
      };
      let settled = false;
      const finish = (result: PostResult): void => {
        if (settled) return;
        settled = true;
        timer.cancel();
        resolve(result);
      };
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const request = send(target, requestOptions, (response) => {
        const status = response.statusCode ?? 0;
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > MAX_RESPONSE_BYTES) response.destroy();
        });
        response.on('error', () => undefined);
        response.on('close', () => {
          if (status >= 200 && status < 300) finish({ ok: true, status });
          else finish({ ok: false, status, problem: status >= 300 && status < 400 ? `redirect ${status} not followed` : `HTTP ${status}` });
        });
      });
      const timer = options.clock.setTimer(options.timeoutMs, () => {
        finish({ ok: false, status: null, problem: `no answer within ${options.timeoutMs} ms` });
        request.destroy();
      });
      request.on('error', (error) => finish({ ok: false, status: null, problem: error.message }));
      request.end(payload);
    });
}
