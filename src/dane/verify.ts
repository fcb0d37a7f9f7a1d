// Matching a server's certificate chain against usable TLSA records (RFC 6698 §2.1,
// RFC 7671 §5, RFC 7672 §3.1-3.2). DANE-EE(3): the leaf's certificate or public key
// matches; its names and dates do not matter. DANE-TA(2): a certificate the server sent
// (or a full certificate in a "2 0 0" record) matches, the leaf chains to it by signatures,
// every certificate from the leaf to it is within its dates, and the leaf names a reference identifier.

import { createHash, X509Certificate } from 'node:crypto';
import type { TlsaRecord } from '../dns/types.js';
import { TLSA_MATCHING, TLSA_SELECTOR, TLSA_USAGE, tlsaParameters, usageName } from './tlsa.js';

/** What a DANE session must satisfy. */
export interface DaneCheck {
  /** The usable TLSA records of the host (isUsableTlsa). */
  readonly records: readonly TlsaRecord[];
  /**
   * DANE-TA reference identifiers (RFC 7672 §3.2.2): the TLSA base domain (the MX host name)
   * and, reached through a secure MX RRset, the next-hop domain.
   */
  readonly names: readonly string[];
}

export type DaneVerdict =
  | { readonly ok: true; readonly record: TlsaRecord; readonly matched: string }
  | { readonly ok: false; readonly reason: string };

/** A server sends a handful of certificates; more are not looked at. */
const MAX_CHAIN_CERTIFICATES = 10;

function parse(der: Buffer | Uint8Array): X509Certificate | undefined {
  try {
    return new X509Certificate(der);
  } catch {
    return undefined;
  }
}

/** The selected content of a certificate (RFC 6698 §2.1.2): the whole DER or its SubjectPublicKeyInfo. */
function selected(certificate: X509Certificate, selector: number): Buffer | undefined {
  if (selector === TLSA_SELECTOR.CERT) return certificate.raw;
  if (selector !== TLSA_SELECTOR.SPKI) return undefined;
  try {
    return certificate.publicKey.export({ type: 'spki', format: 'der' });
  } catch {
    return undefined;
  }
}

/** RFC 6698 §2.1.3: exact, SHA2-256 or SHA2-512 of the selected content. */
export function matchesRecord(certificate: X509Certificate, record: TlsaRecord): boolean {
  const content = selected(certificate, record.selector);
  if (content === undefined) return false;
  const expected = Buffer.from(record.certificateData);
  switch (record.matchingType) {
    case TLSA_MATCHING.FULL:
      return content.equals(expected);
    case TLSA_MATCHING.SHA256:
      return createHash('sha256').update(content).digest().equals(expected);
    case TLSA_MATCHING.SHA512:
      return createHash('sha512').update(content).digest().equals(expected);
    default:
      return false;
  }
}

function withinDates(certificate: X509Certificate, nowMs: number): boolean {
  return Date.parse(certificate.validFrom) <= nowMs && nowMs <= Date.parse(certificate.validTo);
}

/** `child` was issued and signed by `issuer`, a CA certificate. */
function issuedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  if (!issuer.ca || !child.checkIssued(issuer)) return false;
  try {
    return child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** The trust anchor of a DANE-TA record: its position in `chain`, or the certificate a "2 0 0" record holds. */
function trustAnchor(chain: readonly X509Certificate[], record: TlsaRecord): { readonly index: number; readonly anchor: X509Certificate } | undefined {
  const index = chain.findIndex((certificate) => matchesRecord(certificate, record));
  const found = chain[index];
  if (found !== undefined) return { index, anchor: found };
  // RFC 7671 §5.2.2: a full certificate in the record need not be sent by the server.
  if (record.selector !== TLSA_SELECTOR.CERT || record.matchingType !== TLSA_MATCHING.FULL) return undefined;
  const fromDns = parse(record.certificateData);
  return fromDns === undefined ? undefined : { index: chain.length, anchor: fromDns };
}

/** Why the chain does not satisfy a DANE-TA record, or undefined when it does. */
function daneTaProblem(chain: readonly X509Certificate[], record: TlsaRecord, names: readonly string[], nowMs: number): string | undefined {
  const found = trustAnchor(chain, record);
  if (found === undefined) return 'no certificate in the chain matches';
  const path = [...chain.slice(0, found.index), found.anchor];
  for (let depth = 0; depth + 1 < path.length; depth += 1) {
    if (!issuedBy(path[depth] as X509Certificate, path[depth + 1] as X509Certificate)) return `the certificate at depth ${depth} is not issued by the next one up to the trust anchor`;
  }
  const expired = path.findIndex((certificate) => !withinDates(certificate, nowMs));
  if (expired >= 0) return `the certificate at depth ${expired} is expired or not yet valid`;
  const leaf = chain[0] as X509Certificate;
  // RFC 7672 §3.2.3: a wildcard only as the whole left-most label.
  const named = names.some((name) => leaf.checkHost(name, { subject: 'default', wildcards: true, partialWildcards: false }) !== undefined);
  return named ? undefined : `the certificate names none of ${names.join(', ')}`;
}

/**
 * Checks `chainDer` (DER certificates as the server sent them, leaf first) against `check`
 * at `nowMs`; the first record satisfied wins (RFC 6698 §4.1: any one suffices).
 */
export function verifyDane(chainDer: readonly (Buffer | Uint8Array)[], check: DaneCheck, nowMs: number): DaneVerdict {
  const chain = chainDer.slice(0, MAX_CHAIN_CERTIFICATES).map(parse);
  const leaf = chain[0];
  if (leaf === undefined) return { ok: false, reason: 'the server sent no certificate we could read' };
  // The chain is used up to the first certificate that does not parse.
  const firstUnreadable = chain.findIndex((certificate) => certificate === undefined);
  const readable = (firstUnreadable < 0 ? chain : chain.slice(0, firstUnreadable)) as X509Certificate[];
  const problems: string[] = [];
  for (const record of check.records) {
    const name = `${usageName(record.usage)} ${tlsaParameters(record)}`;
    if (record.usage === TLSA_USAGE.DANE_EE) {
      if (matchesRecord(leaf, record)) return { ok: true, record, matched: name };
      problems.push(`${name}: the server certificate does not match`);
    } else if (record.usage === TLSA_USAGE.DANE_TA) {
      const problem = daneTaProblem(readable, record, check.names, nowMs);
      if (problem === undefined) return { ok: true, record, matched: name };
      problems.push(`${name}: ${problem}`);
    }
  }
  return { ok: false, reason: problems.length === 0 ? 'no usable TLSA record' : problems.join('; ') };
}
