// One DNS question over UDP (RFC 1035 §4.2.1) from a fresh random source port;
// replies not from the server or not matching id and question are ignored (RFC 5452).

import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Clock, Timer } from '../core/clock.js';
import { answersQuery, sameEndpoint, type ExchangeOptions, type ExchangeOutcome } from './exchange.js';
import { decodeMessage, EDNS_UDP_PAYLOAD_BYTES } from './wire.js';
import type { RandomInt } from './types.js';

const LOWEST_SOURCE_PORT = 1024;
const SOURCE_PORT_TRIES = 8;

function bindAddress(server: string): string {
  const family = isIP(server.split('%')[0] ?? '');
  if (family === 4) return server.startsWith('127.') ? '127.0.0.1' : '0.0.0.0';
  return server === '::1' ? '::1' : '::';
}

function bindSocket(socket: Socket, port: number, address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const onError = (): void => resolve(false);
    socket.once('error', onError);
    socket.bind({ port, address, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(true);
    });
  });
}

/** A socket bound to a random port chosen with `randomInt`; the OS picks one if all tries collide. */
async function openSocket(server: string, randomInt: RandomInt): Promise<Socket> {
  const type = isIP(server.split('%')[0] ?? '') === 6 ? 'udp6' : 'udp4';
  const address = bindAddress(server);
  for (let attempt = 0; attempt <= SOURCE_PORT_TRIES; attempt += 1) {
    const socket = createSocket({ type });
    const port = attempt < SOURCE_PORT_TRIES ? LOWEST_SOURCE_PORT + randomInt(65536 - LOWEST_SOURCE_PORT) : 0;
    if (await bindSocket(socket, port, address)) return socket;
    socket.close();
  }
  throw new Error('could not bind a UDP socket');
}

export async function udpExchange(options: ExchangeOptions, clock: Clock, randomInt: RandomInt): Promise<ExchangeOutcome> {
  const { server, query, timeoutMs } = options;
  let socket: Socket;
  try {
    socket = await openSocket(server.host, randomInt);
  } catch (error: unknown) {
    return { kind: 'network', reason: error instanceof Error ? error.message : String(error) };
  }
  return new Promise<ExchangeOutcome>((resolve) => {
    let settled = false;
    let timer: Timer | undefined;
    const finish = (outcome: ExchangeOutcome): void => {
      if (settled) return;
      settled = true;
      timer?.cancel();
      socket.close();
      resolve(outcome);
    };
    socket.on('error', (error) => finish({ kind: 'network', reason: error.message }));
    socket.on('message', (datagram, remote) => {
      if (!sameEndpoint(server, remote.address, remote.port)) return;
      const claimsOurs = datagram.length >= 2 && datagram.readUInt16BE(0) === query.id;
      if (datagram.length > EDNS_UDP_PAYLOAD_BYTES) {
        if (claimsOurs) finish({ kind: 'malformed', reason: `UDP response of ${datagram.length} bytes exceeds the advertised ${EDNS_UDP_PAYLOAD_BYTES}` });
        return;
      }
      const decoded = decodeMessage(datagram);
      if (!decoded.ok) {
        if (claimsOurs) finish({ kind: 'malformed', reason: decoded.reason });
        return;
      }
      if (answersQuery(decoded.message, query)) finish({ kind: 'response', message: decoded.message });
    });
    // The per-try timeout starts once the query has left.
    socket.send(query.packet, server.port, server.host, (error) => {
      if (error) finish({ kind: 'network', reason: error.message });
      else if (!settled) timer = clock.setTimer(timeoutMs, () => finish({ kind: 'timeout' }));
    });
  });
}
