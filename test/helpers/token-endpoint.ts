// A local OAuth2 token endpoint (RFC 6749 §4.4 client credentials) on
// node:https with a test certificate: records each request's form and answers
// what the test scripts (a token and its lifetime, or an error).

import { createServer, type Server } from 'node:https';
import type { TestCertificate } from './tls-cert.js';

export interface TokenAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export class TokenEndpoint {
  /** The form fields of every request, in order. */
  readonly requests: Record<string, string>[] = [];
  /** What the next request gets ('hang': no answer at all); by default a bearer token "token-N" for an hour. */
  answer: (request: Record<string, string>, count: number) => TokenAnswer | 'hang' = (_request, count) => ({
    status: 200,
    body: { access_token: `token-${count}`, token_type: 'Bearer', expires_in: 3600 },
  });

  private constructor(private readonly server: Server) {}

  static async start(certificate: TestCertificate): Promise<TokenEndpoint> {
    const server = createServer({ key: certificate.key, cert: certificate.cert });
    const endpoint = new TokenEndpoint(server);
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
        endpoint.requests.push({ ...form, method: request.method ?? '', contentType: request.headers['content-type'] ?? '' });
        const answer = endpoint.answer(form, endpoint.requests.length);
        if (answer !== 'hang') response.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return endpoint;
  }

  get url(): string {
    const address = this.server.address();
    return `https://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/tenant/oauth2/v2.0/token`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
