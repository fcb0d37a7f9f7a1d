// One DNS question over TCP with 2-byte length framing (RFC 1035 §4.2.2,
// RFC 7766), used when a UDP reply came back truncated (TC).

import { connect, type Socket } from 'node:net';
import type { Clock } from '../core/clock.js';
import { answersQuery, type ExchangeOptions, type ExchangeOutcome } from './exchange.js';
import { decodeMessage } from './wire.js';

const LENGTH_PREFIX_BYTES = 2;

export function tcpExchange(options: ExchangeOptions, clock: Clock): Promise<ExchangeOutcome> {
  const { server, query, timeoutMs } = options;
  return new Promise<ExchangeOutcome>((resolve) => {
    let settled = false;
    let received = Buffer.alloc(0);
    const socket: Socket = connect({ host: server.host, port: server.port });
    const finish = (outcome: ExchangeOutcome): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      socket.destroy();
      resolve(outcome);
    };
    const timer = clock.setTimer(timeoutMs, () => finish({ kind: 'timeout' }));
    socket.on('error', (error) => finish({ kind: 'network', reason: error.message }));
    socket.on('end', () => finish({ kind: 'malformed', reason: 'TCP connection closed before a complete response' }));
    socket.on('connect', () => {
      const prefix = Buffer.alloc(LENGTH_PREFIX_BYTES);
      prefix.writeUInt16BE(query.packet.length);
      socket.write(Buffer.concat([prefix, query.packet]));
    });
    socket.on('data', (chunk: Buffer) => {
      // The length prefix caps a response at 65535 bytes, so this buffer is bounded.
      received = Buffer.concat([received, chunk]);
      if (received.length < LENGTH_PREFIX_BYTES) return;
      const length = received.readUInt16BE(0);
      if (received.length < LENGTH_PREFIX_BYTES + length) return;
      const decoded = decodeMessage(received.subarray(LENGTH_PREFIX_BYTES, LENGTH_PREFIX_BYTES + length));
      if (!decoded.ok) return finish({ kind: 'malformed', reason: decoded.reason });
      if (!answersQuery(decoded.message, query)) return finish({ kind: 'malformed', reason: 'TCP response does not match the query' });
      finish({ kind: 'response', message: decoded.message });
    });
  });
}
