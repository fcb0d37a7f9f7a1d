// A local HTTPS receiver of TLS reports (RFC 8460 §5.2 https: rua) on node:https
// with a test certificate: records each request (method, path, type, body),
// answers with the status the test sets, and lets a test wait for requests.

import { createServer, type Server } from 'node:https';
import type { TestCertificate } from './tls-cert.js';

export interface ReceivedReport {
  readonly method: string;
  readonly path: string;
  readonly host: string;
  readonly contentType: string | undefined;
  readonly body: Buffer;
}

export class ReportServer {
  readonly received: ReceivedReport[] = [];
  /** The status of the next answers; default 200. A 3xx status carries a Location. */
  status = 200;
  #waiters: { count: number; resolve: () => void }[] = [];

  private constructor(private readonly server: Server) {}

  static async start(certificate: TestCertificate): Promise<ReportServer> {
    const server = createServer({ key: certificate.key, cert: certificate.cert });
    const reports = new ReportServer(server);
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        reports.received.push({
          method: request.method ?? '',
          path: request.url ?? '',
          host: (request.headers.host ?? '').replace(/:\d+$/, ''),
          contentType: request.headers['content-type'],
          body: Buffer.concat(chunks),
        });
        const status = reports.status;
        response.writeHead(status, status >= 300 && status < 400 ? { location: 'https://elsewhere.test/' } : {});
        response.end();
        reports.#wake();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return reports;
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** Resolves once `count` requests have been answered. */
  waitForReports(count: number): Promise<void> {
    return new Promise((resolve) => {
      this.#waiters.push({ count, resolve });
      this.#wake();
    });
  }

  #wake(): void {
    const ready = this.#waiters.filter((waiter) => this.received.length >= waiter.count);
    this.#waiters = this.#waiters.filter((waiter) => this.received.length < waiter.count);
    for (const waiter of ready) waiter.resolve();
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
