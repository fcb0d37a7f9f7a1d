// A local MTA-STS policy web server (RFC 8461 §3.3) on node:https with a test
// certificate: answers each Host as the test scripts it (policy text, status,
// Content-Type, size, redirect, no answer) and records every request.

import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { TestCertificate } from './tls-cert.js';

export interface PolicyAnswer {
  readonly status?: number;
  /** Default text/plain; null sends no Content-Type. */
  readonly contentType?: string | null;
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Send the body in pieces without Content-Length (chunked). */
  readonly chunked?: boolean;
  /** Never answer. */
  readonly hang?: boolean;
}

export interface PolicyRequest {
  readonly host: string;
  readonly path: string;
  readonly servername: string | undefined;
}

export class PolicyServer {
  readonly requests: PolicyRequest[] = [];
  /** Host header (mta-sts.<domain>) -> answer; a host without one gets 404. */
  readonly answers = new Map<string, PolicyAnswer>();
  #waiters: { count: number; resolve: () => void }[] = [];

  private constructor(private readonly server: Server) {}

  static async start(certificate: TestCertificate): Promise<PolicyServer> {
    const server = createServer({ key: certificate.key, cert: certificate.cert });
    const policies = new PolicyServer(server);
    server.on('request', (request, response) => {
      const host = (request.headers.host ?? '').replace(/:\d+$/, '');
      policies.requests.push({ host, path: request.url ?? '', servername: (request.socket as TLSSocket).servername || undefined });
      policies.#wake();
      const answer = policies.answers.get(host) ?? { status: 404, body: 'not found' };
      if (answer.hang === true) return;
      const body = answer.body ?? '';
      const type = answer.contentType === undefined ? { 'content-type': 'text/plain' } : answer.contentType === null ? {} : { 'content-type': answer.contentType };
      const length = answer.chunked === true ? {} : { 'content-length': String(Buffer.byteLength(body)) };
      response.writeHead(answer.status ?? 200, { ...type, ...length, ...answer.headers });
      if (answer.chunked !== true) {
        response.end(body);
        return;
      }
      for (let offset = 0; offset < body.length; offset += 4096) response.write(body.slice(offset, offset + 4096));
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return policies;
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** Serves `text` as the policy of `domain`. */
  serve(domain: string, text: string, answer: Omit<PolicyAnswer, 'body'> = {}): void {
    this.answers.set(`mta-sts.${domain}`, { ...answer, body: text });
  }

  /** Resolves once `count` requests have arrived. */
  waitForRequests(count: number): Promise<void> {
    return new Promise((resolve) => {
      this.#waiters.push({ count, resolve });
      this.#wake();
    });
  }

  #wake(): void {
    const ready = this.#waiters.filter((waiter) => this.requests.length >= waiter.count);
    this.#waiters = this.#waiters.filter((waiter) => this.requests.length < waiter.count);
    for (const waiter of ready) waiter.resolve();
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A policy file as domains publish it (CRLF lines). */
export function policyText(mode: string, mx: readonly string[], maxAgeSeconds = 86_400): string {
  return ['version: STSv1', `mode: ${mode}`, ...mx.map((pattern) => `mx: ${pattern}`), `max_age: ${maxAgeSeconds}`, ''].join('\r\n');
}
