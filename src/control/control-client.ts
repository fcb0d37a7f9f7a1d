// The CLI side of the control channel: sends one queue action to a running
// server, or says that none is running (no socket, or a stale one).

import { connect } from 'node:net';
import { errnoCode } from '../core/errors.js';
import type { ControlRequest, ControlResponse } from './protocol.js';

export type ControlResult<R = ControlResponse> = { readonly kind: 'answered'; readonly response: R } | { readonly kind: 'no-server' };

export function sendControlRequest<Q = ControlRequest, R = ControlResponse>(socketPath: string, request: Q, timeoutMs = 30_000): Promise<ControlResult<R>> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let text = '';
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer from the server on ${socketPath} within ${timeoutMs} ms`)));
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', (error) => {
      const code = errnoCode(error);
      if (code === 'ENOENT' || code === 'ECONNREFUSED') resolve({ kind: 'no-server' });
      else reject(error);
    });
    socket.on('end', () => {
      try {
        resolve({ kind: 'answered', response: JSON.parse(text) as R });
      } catch {
        reject(new Error(`malformed answer from the server on ${socketPath}`));
      }
    });
  });
}
