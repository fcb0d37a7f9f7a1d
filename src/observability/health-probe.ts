// The client side of `GET /healthz` (http-server.ts): one request to a running
// server with a deadline, summed up in one line. Used by `outpost health`, the
// Docker HEALTHCHECK.

import { request } from 'node:http';
import { isIP } from 'node:net';
import { errnoCode, errorMessage } from '../core/errors.js';

export const HEALTH_PATH = '/healthz';
/** Longest body read: the health JSON is a few hundred bytes. */
const MAX_BODY_BYTES = 16 * 1024;

export interface HealthProbeTarget {
  /** The configured `http.address`; a wildcard address is asked on loopback. */
  readonly address: string;
  readonly port: number;
  readonly timeoutMs: number;
}

export interface HealthProbeResult {
  readonly healthy: boolean;
  /** One line: the URL asked, the status or failure, and the state of each check. */
  readonly line: string;
}

/** Where to connect for a listening address: 0.0.0.0 -> 127.0.0.1, :: -> ::1, anything else as it is. */
export function probeHost(address: string): string {
  if (isIP(address) === 4 && address === '0.0.0.0') return '127.0.0.1';
  if (isIP(address) === 6 && /^[0:]+$/.test(address)) return '::1';
  return address;
}

export function healthUrl(host: string, port: number): string {
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}${HEALTH_PATH}`;
}

/** "listeners ok, spool fail" from the JSON body of /healthz; the first line of any other body. */
export function summarizeHealthBody(body: string): string {
  try {
    const parsed = JSON.parse(body) as { checks?: unknown };
    if (typeof parsed.checks === 'object' && parsed.checks !== null) {
      return Object.entries(parsed.checks as Record<string, unknown>).map(([name, state]) => `${name} ${String(state)}`).join(', ');
    }
  } catch {
    // not the health JSON: show what came
  }
  return (body.split('\n')[0] ?? '').slice(0, 200);
}

const FAILURES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'address not available',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
};

/** GET /healthz on the target; healthy only for a 200 within the deadline. Never throws. */
export function probeHealth(target: HealthProbeTarget): Promise<HealthProbeResult> {
  const host = probeHost(target.address);
  const url = healthUrl(host, target.port);
  const fail = (what: string): HealthProbeResult => ({ healthy: false, line: `unhealthy: ${url}: ${what}` });
  return new Promise((resolve) => {
    const signal = AbortSignal.timeout(target.timeoutMs);
    const outgoing = request({ host, port: target.port, path: HEALTH_PATH, method: 'GET', agent: false, signal }, (response) => {
      const chunks: Buffer[] = [];
      let length = 0;
      response.on('data', (chunk: Buffer) => {
        if (length < MAX_BODY_BYTES) chunks.push(chunk);
        length += chunk.length;
      });
      response.on('error', () => resolve(fail('the answer broke off')));
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        const summary = summarizeHealthBody(Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY_BYTES));
        const healthy = status === 200;
        resolve({ healthy, line: `${healthy ? 'healthy' : 'unhealthy'}: ${url}: ${status}${summary === '' ? '' : ` (${summary})`}` });
      });
    });
    outgoing.on('error', (error: unknown) => {
      if (signal.aborted) return resolve(fail(`no answer within ${target.timeoutMs / 1000} s`));
      const code = errnoCode(error);
      resolve(fail((code === undefined ? undefined : FAILURES[code]) ?? errorMessage(error)));
    });
    outgoing.end();
  });
}
