// The operations HTTP endpoint on `http.address:port`: `GET /healthz` (JSON,
// 200 or 503) and `GET /metrics` (Prometheus text 0.0.4). Read-only; every
// request and every injected callback is bounded by a timeout.

import { listenOn } from '../core/listen.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Clock } from '../core/clock.js';
import { OutpostError } from '../core/errors.js';
import type { HttpConfig } from '../config/types.js';
import type { Logger } from './logger.js';
import { withDeadline } from './deadline.js';
import { runHealthChecks, type HealthChecks } from './health.js';
import { PROMETHEUS_CONTENT_TYPE } from './prometheus.js';

/** Anything that renders exposition text at scrape time (`Metrics`, `Registry`). */
export interface MetricsSource {
  render(): Promise<string>;
}

export interface OpsHttpServerOptions {
  /** `config.http`; undefined turns the endpoint off (`start()` then binds nothing). */
  readonly http: HttpConfig | undefined;
  readonly metrics: MetricsSource;
  readonly checks: HealthChecks;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Deadline for each health check and for metrics collection (default 5 s). */
  readonly callbackTimeoutMs?: number;
  /** Deadline for receiving a whole request, headers included (408 after it); sockets idle twice as long are dropped (default 10 s). */
  readonly requestTimeoutMs?: number;
}

export interface OpsHttpAddress {
  readonly address: string;
  readonly port: number;
}

const DEFAULT_CALLBACK_TIMEOUT_MS = 5_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
const TEXT_CONTENT_TYPE = 'text/plain; charset=utf-8';

export class OpsHttpServer {
  private server: Server | undefined;
  private readonly log: Logger;
  private readonly callbackTimeoutMs: number;
  private readonly requestTimeoutMs: number;

  constructor(private readonly options: OpsHttpServerOptions) {
    this.log = options.logger.child({ component: 'http' });
    this.callbackTimeoutMs = options.callbackTimeoutMs ?? DEFAULT_CALLBACK_TIMEOUT_MS;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /**
   * Binds `http.address:port` (port 0 picks a free port) and resolves with the bound address,
   * or undefined when `http` is off. Rejects with an OutpostError `ELISTEN` naming the address.
   */
  async start(): Promise<OpsHttpAddress | undefined> {
    const config = this.options.http;
    if (config === undefined) return undefined;
    if (this.server !== undefined) throw new OutpostError('ESTATE', 'the HTTP endpoint is already started');
    const checkingIntervalMs = Math.min(1_000, this.requestTimeoutMs);
    const server = createServer(
      { requestTimeout: this.requestTimeoutMs, headersTimeout: this.requestTimeoutMs, connectionsCheckingInterval: checkingIntervalMs },
      (request, response) => void this.handle(request, response),
    );
    // Backstop for an idle socket. A stalled request is found by the periodic check up to one
    // interval after its deadline; the backstop waits two intervals more, so the 408 always comes first.
    server.setTimeout(2 * this.requestTimeoutMs + 2 * checkingIntervalMs);
    server.keepAliveTimeout = Math.min(5_000, this.requestTimeoutMs);
    await listenOn(server, config.address, config.port, 'http');
    this.server = server;
    const bound = this.address();
    this.log.info(bound, 'http listening');
    return bound;
  }

  /** The bound address, or undefined before `start()` / when off. */
  address(): OpsHttpAddress | undefined {
    const config = this.options.http;
    const address = this.server?.address();
    if (config === undefined || typeof address !== 'object' || address === null) return undefined;
    return { address: config.address, port: address.port };
  }

  /** Stops listening and drops open connections (scrapes are short and retried). */
  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      const path = (request.url ?? '/').split('?')[0];
      if (path !== '/healthz' && path !== '/metrics') return send(response, 404, TEXT_CONTENT_TYPE, 'not found\n');
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.setHeader('Allow', 'GET, HEAD');
        return send(response, 405, TEXT_CONTENT_TYPE, 'method not allowed\n');
      }
      if (path === '/healthz') await this.healthz(response);
      else await this.metrics(response);
    } catch (error: unknown) {
      this.log.error({ err: error, url: request.url }, 'http request failed');
      if (!response.headersSent) send(response, 500, TEXT_CONTENT_TYPE, 'internal error\n');
      else response.destroy();
    }
  }

  private async healthz(response: ServerResponse): Promise<void> {
    const report = await runHealthChecks(this.options.checks, { clock: this.options.clock, timeoutMs: this.callbackTimeoutMs, logger: this.log });
    const hasDetails = Object.keys(report.details).length > 0;
    const body = { status: report.healthy ? 'ok' : 'fail', checks: report.checks, ...(hasDetails ? { details: report.details } : {}) };
    send(response, report.healthy ? 200 : 503, JSON_CONTENT_TYPE, `${JSON.stringify(body)}\n`);
  }

  private async metrics(response: ServerResponse): Promise<void> {
    const result = await withDeadline(() => this.options.metrics.render(), this.options.clock, this.callbackTimeoutMs);
    if (result.state === 'done') return send(response, 200, PROMETHEUS_CONTENT_TYPE, result.value);
    if (result.state === 'timeout') {
      this.log.warn({ timeoutMs: this.callbackTimeoutMs }, 'metrics collection timed out');
      return send(response, 503, TEXT_CONTENT_TYPE, 'metrics collection timed out\n');
    }
    this.log.error({ err: result.error }, 'metrics collection failed');
    send(response, 500, TEXT_CONTENT_TYPE, 'metrics collection failed\n');
  }
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  response.end(body);
}
