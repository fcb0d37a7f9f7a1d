// What DNS publishes for a key (RFC 6376 §3.6.2.2, §3.6.1): its
// <selector>._domainkey TXT record read and compared with the key on disk.
// One judgement for the signing keyring and for `outpost doctor`.

import type { Resolver } from '../dns/resolver.js';
import type { DkimKey } from './keys.js';
import { dkimRecord, parseDkimRecord } from './record.js';

export type PublishedKey =
  /** A record with this key's p= is published; `records` TXT records share the name. */
  | { readonly kind: 'published'; readonly keyType: string; readonly records: number }
  | { readonly kind: 'missing' }
  /** Key records are published, none with this key: `revoked` when all have an empty p=. */
  | { readonly kind: 'mismatch'; readonly revoked: boolean }
  /** Only records that are not DKIM key records. */
  | { readonly kind: 'malformed'; readonly problem: string }
  /** DNS gave no answer (timeout, SERVFAIL...): nothing is known. */
  | { readonly kind: 'error'; readonly reason: string };

export async function publishedKey(resolver: Resolver, key: Pick<DkimKey, 'domain' | 'selector' | 'algorithm' | 'publicKeyBase64'>): Promise<PublishedKey> {
  const name = dkimRecord(key).name;
  const answer = await resolver.lookup(name, 'TXT');
  if (answer.kind === 'nxdomain' || answer.kind === 'nodata') return { kind: 'missing' };
  if (answer.kind !== 'ok') return { kind: 'error', reason: `TXT lookup of ${name} failed: ${answer.kind}${'reason' in answer ? ` (${answer.reason})` : ''}` };
  const parsed = answer.records.map((strings) => parseDkimRecord(strings.join('')));
  const keys = parsed.flatMap((result) => (result.ok ? [result] : []));
  if (keys.length === 0) {
    const first = parsed[0];
    return { kind: 'malformed', problem: first !== undefined && !first.ok ? first.problem : 'no key record' };
  }
  const matching = keys.find((candidate) => candidate.publicKeyBase64 === key.publicKeyBase64);
  if (matching === undefined) return { kind: 'mismatch', revoked: keys.every((candidate) => candidate.revoked) };
  return { kind: 'published', keyType: matching.keyType, records: answer.records.length };
}
