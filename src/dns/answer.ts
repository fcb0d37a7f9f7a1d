// Reading one response for one question: follow the CNAME chain inside the
// answer section (RFC 1034 §3.6.2), keep only records on that chain, and take
// the negative-caching TTL from the authority SOA (RFC 2308 §5).

import { RCODE, type DnsMessage } from './wire.js';
import type { DnsFailure, RecordData, RecordType, ResourceRecord, SoaRecord } from './types.js';

export type AnswerReading<T extends RecordType> =
  | { readonly kind: 'records'; readonly name: string; readonly records: readonly RecordData<T>[]; readonly ttlSeconds: number }
  | { readonly kind: 'nxdomain' | 'nodata'; readonly name: string; readonly ttlSeconds: number; readonly chainTtlSeconds: number }
  /** The chain left the data this response carries: ask again for `name`. */
  | { readonly kind: 'follow'; readonly name: string; readonly ttlSeconds: number }
  | DnsFailure;

/** Shared across the responses of one lookup so loops through several queries are seen. */
export interface ChainState {
  readonly visited: Set<string>;
  hops: number;
  readonly maxHops: number;
}

function negativeTtl(message: DnsMessage, name: string): number {
  const soa = message.authorities.find(
    (record) => record.type === 'SOA' && record.data !== undefined && (name === record.name || name.endsWith(`.${record.name}`) || record.name === '.'),
  );
  if (soa === undefined) return 0;
  const data = soa.data as SoaRecord;
  return Math.min(soa.ttlSeconds, data.minimum);
}

function cnameOf(answers: readonly ResourceRecord[], name: string): ResourceRecord[] {
  return answers.filter((record) => record.type === 'CNAME' && record.name === name && typeof record.data === 'string');
}

export function readAnswer<T extends RecordType>(message: DnsMessage, asked: string, type: T, chain: ChainState): AnswerReading<T> {
  let name = asked;
  let ttlSeconds = Number.POSITIVE_INFINITY;
  while (type !== 'CNAME') {
    const cnames = cnameOf(message.answers, name);
    const first = cnames[0];
    if (first === undefined) break;
    if (cnames.length > 1) return { kind: 'servfail', reason: `several CNAME records for ${name}` };
    const target = first.data as string;
    if (chain.visited.has(target)) return { kind: 'servfail', reason: `CNAME loop at ${target}` };
    chain.hops += 1;
    if (chain.hops > chain.maxHops) return { kind: 'servfail', reason: `CNAME chain longer than ${chain.maxHops}` };
    chain.visited.add(target);
    ttlSeconds = Math.min(ttlSeconds, first.ttlSeconds);
    name = target;
  }
  const matching = message.answers.filter((record) => record.name === name && record.type === type && record.data !== undefined);
  if (matching.length > 0) {
    const records = matching.map((record) => record.data as RecordData<T>);
    const minimum = Math.min(ttlSeconds, ...matching.map((record) => record.ttlSeconds));
    return { kind: 'records', name, records, ttlSeconds: minimum };
  }
  const chainTtlSeconds = Number.isFinite(ttlSeconds) ? ttlSeconds : Number.POSITIVE_INFINITY;
  if (message.rcode === RCODE.NXDOMAIN) return { kind: 'nxdomain', name, ttlSeconds: negativeTtl(message, name), chainTtlSeconds };
  if (message.rcode !== RCODE.NOERROR) return { kind: 'servfail', reason: `response code ${message.rcode}` };
  const hasSoa = message.authorities.some((record) => record.type === 'SOA');
  // A chain that ends without data or a SOA means the server did not chase it: ask for the target.
  if (name !== asked && !hasSoa) return { kind: 'follow', name, ttlSeconds };
  return { kind: 'nodata', name, ttlSeconds: negativeTtl(message, name), chainTtlSeconds };
}
