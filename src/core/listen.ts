// Binding a listening socket (SMTP listeners, the HTTP endpoint) with a clear
// error naming the address and what went wrong, instead of a raw errno.

import type { Server } from 'node:net';
import { OutpostError, errnoCode } from './errors.js';

function reason(error: unknown): string {
  switch (errnoCode(error)) {
    case 'EADDRINUSE':
      return 'the port is already in use';
    case 'EACCES':
      return 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE; use a higher port or the Docker image)';
    case 'EADDRNOTAVAIL':
      return 'the address is not on this machine';
    default:
      return String(error);
  }
}

/** Binds `server` (a net or http Server); rejects with OutpostError ELISTEN "cannot listen on a:p (what): why". */
export function listenOn(server: Server, address: string, port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: unknown): void => {
      reject(new OutpostError('ELISTEN', `cannot listen on ${address}:${port} (${what}): ${reason(error)}`, { cause: error }));
    };
    server.once('error', onError);
    server.listen({ host: address, port, backlog: 511 }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
