// Splits a message's pending recipients into transactions: grouped by
// destination (the canonical recipient domain, RFC 5321 §5.1), at most
// `recipientsPerTransaction` recipients each, no recipient twice.

import type { Readable } from 'node:stream';
import { canonicalDomain } from '../core/domain.js';
import type { OutboundMessage } from '../delivery/types.js';
import type { EnvelopeRecord } from '../spool/types.js';
import { pendingRecipients } from './outcomes.js';

const NON_ASCII = /[^\x00-\x7f]/;

export interface Transaction {
  readonly destination: string;
  readonly message: OutboundMessage;
}

/**
 * The destination of a recipient: its domain in canonical form (lowercase
 * A-labels), an address literal lowercased as written, or this host for a
 * domain-less <Postmaster>.
 */
export function destinationOf(address: string, hostname: string): string {
  const at = address.lastIndexOf('@');
  const domain = at < 0 ? hostname : address.slice(at + 1);
  if (domain.startsWith('[')) return domain.toLowerCase();
  return canonicalDomain(domain) ?? domain.toLowerCase();
}

export function planTransactions(
  record: EnvelopeRecord,
  openBody: (id: string) => Readable,
  recipientsPerTransaction: number,
  hostname: string,
): Transaction[] {
  const byDestination = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const { address } of pendingRecipients(record)) {
    if (seen.has(address)) continue;
    seen.add(address);
    const destination = destinationOf(address, hostname);
    const group = byDestination.get(destination);
    if (group === undefined) byDestination.set(destination, [address]);
    else group.push(address);
  }
  const perTransaction = Math.max(1, Math.floor(recipientsPerTransaction));
  const transactions: Transaction[] = [];
  for (const [destination, addresses] of byDestination) {
    for (let start = 0; start < addresses.length; start += perTransaction) {
      transactions.push({ destination, message: outboundMessage(record, addresses.slice(start, start + perTransaction), openBody) });
    }
  }
  return transactions;
}

function outboundMessage(record: EnvelopeRecord, recipients: readonly string[], openBody: (id: string) => Readable): OutboundMessage {
  const { id } = record;
  const prefix = record.dkimSignature === undefined ? undefined : Buffer.from(record.dkimSignature, 'utf8');
  return {
    id,
    from: record.from,
    recipients,
    sizeBytes: record.size + (prefix?.length ?? 0),
    // The record keeps the BODY= the client declared; declaring 8BITMIME for a 7-bit body is harmless.
    eightBit: record.body === '8BITMIME',
    // SMTPUTF8 as the client asked (its headers may be UTF-8, RFC 6532), or when an address needs it.
    smtputf8: record.smtputf8 || NON_ASCII.test(record.from) || recipients.some((address) => NON_ASCII.test(address)),
    // RFC 6376 §3.5: the stored DKIM-Signature fields go in front of the stored message.
    ...(prefix === undefined ? {} : { headerPrefix: prefix }),
    ...(record.tlsRequirement === undefined ? {} : { tlsRequirement: record.tlsRequirement }),
    openBody: () => openBody(id),
  };
}
