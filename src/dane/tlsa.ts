// TLSA records as SMTP uses them (RFC 6698 §2.1, RFC 7218 names, RFC 7672 §3.1): the
// owner name `_port._tcp.host`, which records are usable (DANE-TA(2) and DANE-EE(3) with a
// known selector and matching type; PKIX-TA(0) and PKIX-EE(1) are not for SMTP), and their text form.

import type { TlsaRecord } from '../dns/types.js';

export const TLSA_USAGE = { PKIX_TA: 0, PKIX_EE: 1, DANE_TA: 2, DANE_EE: 3 } as const;
export const TLSA_SELECTOR = { CERT: 0, SPKI: 1 } as const;
export const TLSA_MATCHING = { FULL: 0, SHA256: 1, SHA512: 2 } as const;

const USAGE_NAMES: Readonly<Record<number, string>> = { 0: 'PKIX-TA', 1: 'PKIX-EE', 2: 'DANE-TA', 3: 'DANE-EE' };
const DIGEST_BYTES: Readonly<Record<number, number>> = { [TLSA_MATCHING.SHA256]: 32, [TLSA_MATCHING.SHA512]: 64 };
/** Hex digits of the association data shown before it is cut short (full certificates are long). */
const SHOWN_HEX_DIGITS = 64;

/** Where the TLSA records of a TCP service live (RFC 6698 §3, RFC 7672 §2.2.3: the MX host name and the SMTP port). */
export function tlsaName(port: number, host: string): string {
  return `_${port}._tcp.${host}`;
}

/** The RFC 7218 acronym of a certificate usage ("DANE-EE"), or the number. */
export function usageName(usage: number): string {
  return USAGE_NAMES[usage] ?? `usage ${usage}`;
}

/**
 * A record SMTP can authenticate with (RFC 7672 §3.1): DANE-TA or DANE-EE, selector Cert or
 * SPKI, matching type Full (some data), SHA2-256 (32 bytes) or SHA2-512 (64 bytes).
 */
export function isUsableTlsa(record: TlsaRecord): boolean {
  if (record.usage !== TLSA_USAGE.DANE_TA && record.usage !== TLSA_USAGE.DANE_EE) return false;
  if (record.selector !== TLSA_SELECTOR.CERT && record.selector !== TLSA_SELECTOR.SPKI) return false;
  if (record.matchingType === TLSA_MATCHING.FULL) return record.certificateData.length > 0;
  const digestBytes = DIGEST_BYTES[record.matchingType];
  return digestBytes !== undefined && record.certificateData.length === digestBytes;
}

/** Presentation form: "3 1 1 8f3c…" (RFC 6698 §2.2), long data cut short. */
export function tlsaText(record: TlsaRecord): string {
  const hex = Buffer.from(record.certificateData).toString('hex');
  const shown = hex.length <= SHOWN_HEX_DIGITS ? hex : `${hex.slice(0, SHOWN_HEX_DIGITS)}…`;
  return `${record.usage} ${record.selector} ${record.matchingType} ${shown}`;
}

/** "3 1 1": the parameters without the data. */
export function tlsaParameters(record: TlsaRecord): string {
  return `${record.usage} ${record.selector} ${record.matchingType}`;
}
