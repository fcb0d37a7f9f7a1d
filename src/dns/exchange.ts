// What one try of one question against one server yields, and the check that
// a response really answers our query (RFC 5452 §4.3: id, source, question).

import { isIP } from 'node:net';
import type { DnsMessage } from './wire.js';
import type { DnsServer, RecordType } from './types.js';

export interface OutgoingQuery {
  readonly id: number;
  /** Canonical name (lowercase, no trailing dot). */
  readonly name: string;
  readonly type: RecordType;
  readonly packet: Buffer;
}

export type ExchangeOutcome =
  | { readonly kind: 'response'; readonly message: DnsMessage }
  /** A reply that claimed to be ours but could not be used (malformed, oversized). */
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'timeout' }
  /** The socket failed (refused connection, unreachable network). */
  | { readonly kind: 'network'; readonly reason: string };

export interface ExchangeOptions {
  readonly server: DnsServer;
  readonly query: OutgoingQuery;
  readonly timeoutMs: number;
}

/** True when `message` is a response to `query`: same id, exactly our question. */
export function answersQuery(message: DnsMessage, query: OutgoingQuery): boolean {
  if (!message.isResponse || message.id !== query.id || message.questions.length !== 1) return false;
  const question = message.questions[0];
  return question !== undefined && question.name === query.name && question.type === query.type && question.class === 'IN';
}

/** Comparable form of an IP address: IPv6 compressed and lowercase, zone kept. */
export function normalizeAddress(address: string): string {
  const [plain = '', zone] = address.split('%');
  if (isIP(plain) !== 6) return address;
  const normalized = new URL(`http://[${plain}]/`).hostname.slice(1, -1);
  return zone === undefined ? normalized : `${normalized}%${zone}`;
}

export function sameEndpoint(server: DnsServer, address: string, port: number): boolean {
  return port === server.port && normalizeAddress(address) === normalizeAddress(server.host);
}
