// DNS record and result types shared by the resolver, its cache and its users:
// answers are values (RFC 1035 §3.3, RFC 2308 negative answers, RFC 4035 §3.2.3 AD,
// RFC 4033 §5 "secure" only when the resolver is trusted to validate).

export type RecordType = 'A' | 'AAAA' | 'MX' | 'CNAME' | 'TXT' | 'TLSA' | 'SOA' | 'PTR' | 'SRV';

export interface MxRecord {
  readonly preference: number;
  /** Lowercase, no trailing dot; "." (the root) for a null MX (RFC 7505). */
  readonly exchange: string;
}

export interface TlsaRecord {
  readonly usage: number;
  readonly selector: number;
  readonly matchingType: number;
  readonly certificateData: Uint8Array;
}

/** RFC 2782 service location; target lowercase without trailing dot ("." = service not offered). */
export interface SrvRecord {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: string;
}

export interface SoaRecord {
  readonly mname: string;
  readonly rname: string;
  readonly serial: number;
  readonly refresh: number;
  readonly retry: number;
  readonly expire: number;
  readonly minimum: number;
}

/** The data of one record, by type. TXT: the character-strings, decoded as UTF-8. */
export interface RecordDataByType {
  readonly A: string;
  readonly AAAA: string;
  readonly MX: MxRecord;
  readonly CNAME: string;
  readonly TXT: readonly string[];
  readonly TLSA: TlsaRecord;
  readonly SOA: SoaRecord;
  /** The pointed-to name, lowercase without trailing dot (RFC 1035 §3.3.12). */
  readonly PTR: string;
  readonly SRV: SrvRecord;
}

export type RecordData<T extends RecordType> = RecordDataByType[T];

/** A resource record as decoded from the wire, owner name lowercased without trailing dot. */
export interface ResourceRecord {
  readonly name: string;
  readonly type: string;
  readonly ttlSeconds: number;
  /** Decoded data for the types in RecordType; undefined for other types. */
  readonly data: RecordDataByType[RecordType] | undefined;
}

export interface DnsOk<T extends RecordType> {
  readonly kind: 'ok';
  readonly records: readonly RecordData<T>[];
  /** Smallest TTL of the answer and of the CNAME chain leading to it (remaining, when cached). */
  readonly ttlSeconds: number;
  /** The name the records belong to after following CNAMEs. */
  readonly canonicalName: string;
  /** AD flag of every response that contributed (RFC 4035 §3.2.3). */
  readonly authenticated: boolean;
  /** DNSSEC-secure: `authenticated` and the servers are trusted to validate (dns.dnssec); what DANE relies on. */
  readonly secure: boolean;
}

/** NXDOMAIN / NODATA (RFC 2308); ttlSeconds is the negative-caching TTL (0: not cacheable). */
export interface DnsNegative {
  readonly kind: 'nxdomain' | 'nodata';
  readonly ttlSeconds: number;
  readonly canonicalName: string;
  readonly authenticated: boolean;
  /** A secure denial of existence (see DnsOk.secure). */
  readonly secure: boolean;
}

/** No usable answer: server failure (also malformed responses, CNAME loops), timeout, refusal. */
export interface DnsFailure {
  readonly kind: 'servfail' | 'timeout' | 'refused';
  readonly reason: string;
}

export type DnsResult<T extends RecordType> = DnsOk<T> | DnsNegative | DnsFailure;

export type DnsResultKind = DnsResult<RecordType>['kind'];

/** A recursive server to ask. */
export interface DnsServer {
  readonly host: string;
  readonly port: number;
}

export function ok<T extends RecordType>(
  records: readonly RecordData<T>[],
  ttlSeconds: number,
  canonicalName: string,
  authenticated = false,
  secure = false,
): DnsOk<T> {
  return { kind: 'ok', records, ttlSeconds, canonicalName, authenticated, secure };
}

export function failure(kind: DnsFailure['kind'], reason: string): DnsFailure {
  return { kind, reason };
}

/** Uniform random integer in [0, maxExclusive); node:crypto randomInt unless a test injects one. */
export type RandomInt = (maxExclusive: number) => number;
