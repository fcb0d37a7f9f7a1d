// Reads the PROXY protocol header (proxy-header.ts) off a freshly accepted socket, before anything is
// sent: whatever the client sent after the header (a pipelined EHLO, a TLS ClientHello) is put back
// on the socket for the SMTP session. Bounded in bytes (the parser) and in time (the injected clock).

import type { Socket } from 'node:net';
import type { Clock } from '../core/clock.js';
import { parseProxyHeader, type ProxyHeader } from './proxy-header.js';

/**
 * How long a balancer may take to send the header. It sends it at once with the connection; the spec
 * asks receivers to allow at least 3 s (a TCP retransmit). Postfix's smtpd_upstream_proxy_timeout is 5 s.
 */
export const PROXY_HEADER_TIMEOUT_MS = 5_000;

export type ProxyReadOutcome =
  | { readonly kind: 'header'; readonly header: ProxyHeader }
  | { readonly kind: 'failed'; readonly reason: string };

export function readProxyHeader(socket: Socket, clock: Clock, timeoutMs = PROXY_HEADER_TIMEOUT_MS): Promise<ProxyReadOutcome> {
  return new Promise((resolve) => {
    let received: Buffer = Buffer.alloc(0);
    const finish = (outcome: ProxyReadOutcome): void => {
      timer.cancel();
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      resolve(outcome);
    };
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
        const parse = parseProxyHeader(received);
        if (parse.kind === 'incomplete') continue;
        if (parse.kind === 'invalid') {
          finish({ kind: 'failed', reason: parse.problem });
          return;
        }
        const rest = received.subarray(parse.headerBytes);
        finish({ kind: 'header', header: parse.header });
        if (rest.length > 0) socket.unshift(rest);
        return;
      }
    };
    const onEnd = (): void => finish({ kind: 'failed', reason: received.length === 0 ? 'closed before sending a PROXY header' : 'closed in the middle of the PROXY header' });
    const onError = (error: Error): void => finish({ kind: 'failed', reason: `socket error before the PROXY header: ${error.message}` });
    const timer = clock.setTimer(timeoutMs, () =>
      finish({ kind: 'failed', reason: `no complete PROXY header within ${timeoutMs / 1000} s (${received.length} bytes received)` }),
    );
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
  });
}
