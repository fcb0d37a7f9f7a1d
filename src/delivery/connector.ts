// Opening TCP connections to remote MTAs, behind an interface so tests and
// the scheduler can count, refuse or redirect them; the real one uses node:net
// with a connect timeout on the injected clock.

import { connect, isIP, type Socket } from 'node:net';
import type { Clock } from '../core/clock.js';
import { errnoCode, OutpostError } from '../core/errors.js';

export interface ConnectRequest {
  /** An IP address (the plan's addresses), not a name. */
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

export interface Connector {
  /** A connected socket; rejects with ConnectError when the connection cannot be made. */
  connect(request: ConnectRequest): Promise<Socket>;
}

export type ConnectFailure = 'refused' | 'timeout' | 'unreachable' | 'aborted' | 'error';

/** The connection could not be made: why, as a value the transport maps to 4.4.1. */
export class ConnectError extends OutpostError {
  readonly failure: ConnectFailure;

  constructor(failure: ConnectFailure, message: string, options?: { cause?: unknown }) {
    super('ECONNECT', message, options);
    this.name = 'ConnectError';
    this.failure = failure;
  }
}

function failureOf(error: unknown): ConnectFailure {
  switch (errnoCode(error)) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
    case 'EADDRNOTAVAIL':
      return 'unreachable';
    default:
      return 'error';
  }
}

/** Source address per address family ("" or absent: the system's choice). */
export interface SourceAddresses {
  readonly ipv4?: string;
  readonly ipv6?: string;
}

/** The source address for connecting to `host` (an IP address), or undefined for the system's choice. */
export function sourceAddressFor(host: string, bind: SourceAddresses): string | undefined {
  const family = isIP(host);
  const source = family === 4 ? bind.ipv4 : family === 6 ? bind.ipv6 : undefined;
  return source === undefined || source === '' ? undefined : source;
}

/** The real connector: node:net, bounded by `timeoutMs` on `clock`, cancelled by `signal`, from `bind`'s source address. */
export class NetConnector implements Connector {
  readonly #clock: Clock;
  readonly #bind: SourceAddresses;

  constructor(options: { clock: Clock; bind?: SourceAddresses }) {
    this.#clock = options.clock;
    this.#bind = options.bind ?? {};
  }

  connect(request: ConnectRequest): Promise<Socket> {
    return new Promise((resolve, reject) => {
      if (request.signal.aborted) {
        reject(new ConnectError('aborted', 'connection aborted'));
        return;
      }
      const localAddress = sourceAddressFor(request.host, this.#bind);
      // No Nagle: SMTP is request/response; a small command or final "." held back for the
      // receiver's delayed ACK costs ~40 ms per message (the inbound listeners set it too).
      const socket = connect({ host: request.host, port: request.port, noDelay: true, ...(localAddress === undefined ? {} : { localAddress }) });
      const settle = (error: ConnectError | undefined): void => {
        timer.cancel();
        request.signal.removeEventListener('abort', onAbort);
        socket.off('error', onError);
        socket.off('connect', onConnect);
        if (error === undefined) {
          resolve(socket);
          return;
        }
        socket.destroy();
        reject(error);
      };
      const onConnect = (): void => settle(undefined);
      const onError = (error: Error): void => settle(new ConnectError(failureOf(error), error.message, { cause: error }));
      const onAbort = (): void => settle(new ConnectError('aborted', 'connection aborted'));
      const timer = this.#clock.setTimer(request.timeoutMs, () => settle(new ConnectError('timeout', `no connection within ${request.timeoutMs} ms`)));
      socket.once('connect', onConnect);
      socket.once('error', onError);
      request.signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
