// Answers of the test DNS server: records from a zones table (A, AAAA, MX,
// TXT with several strings, TLSA, SOA, PTR, SRV; CNAMEs chased in-table, glue
// in additionals, SOA in negative answers), the AD bit of a validating resolver
// per name (RFC 4035 §3.2.3, only to queries with AD or DO: RFC 6840 §5.7), and crafted faults.

import dnsPacket from 'dns-packet';
import type { Answer, Packet, Question, RecordType, SoaData } from 'dns-packet';

export type Transport = 'udp' | 'tcp';

export interface ZoneEntry {
  A?: string[];
  AAAA?: string[];
  MX?: { preference: number; exchange: string }[];
  CNAME?: string;
  TXT?: (string | string[])[];
  TLSA?: { usage: number; selector: number; matchingType: number; certificate: Buffer }[];
  SOA?: SoaData;
  /** Names the PTR records point at (reverse zones: `1.2.0.192.in-addr.arpa`). */
  PTR?: string[];
  SRV?: { priority: number; weight: number; port: number; target: string }[];
  /** TTL of this name's records; default 300. */
  ttl?: number;
  /**
   * Whether answers for this name (and, for denials, names below it) are DNSSEC-secure,
   * i.e. carry the AD bit a validating resolver sets; default the server's `authenticated`.
   */
  secure?: boolean;
}

export type Zones = Record<string, ZoneEntry>;

export type DnsFault = (
  | { kind: 'servfail' | 'nxdomain' | 'refused' | 'silence' }
  /** UDP: TC set and no answers; TCP: the full answer. */
  | { kind: 'truncate' }
  /** The query id followed by junk. */
  | { kind: 'garbage' }
  /** An answer whose owner name is a compression pointer to itself. */
  | { kind: 'compression-loop' }
  /** An A record whose RDLENGTH says 5 but whose address is 4 bytes plus one stray byte. */
  | { kind: 'bad-rdlength' }
  /** A UDP answer larger than the 1232 bytes the client advertised, without TC. */
  | { kind: 'oversized' }
  /** name CNAME loop.name, loop.name CNAME name. */
  | { kind: 'cname-loop' }
  /** A forged reply first (wrong id / other question / from another port), then the genuine one unless `thenAnswer` is false. */
  | { kind: 'wrong-id' | 'wrong-question' | 'wrong-port'; thenAnswer?: boolean }
  /** The genuine answer after `delayMs` on the server's clock. */
  | { kind: 'slow'; delayMs: number }
  /** The genuine answer plus an unrelated record off the CNAME chain. */
  | { kind: 'extra-answer'; record: Answer }
) & {
  /** Only for these query types; default all. */
  types?: RecordType[];
};

export interface AnswerRequest {
  query: Packet;
  question: Question;
  transport: Transport;
  zones: Zones;
  faults: Record<string, DnsFault>;
  negativeTtlSeconds: number;
  authenticated: boolean;
  edns: boolean;
  /** The query's EDNS DO bit (RFC 3225). */
  dnssecOk: boolean;
}

export interface AnswerPlan {
  reply: Buffer | undefined;
  /** Sent before the reply; `fromOtherPort` ones from a different source port. */
  forged: { packet: Buffer; fromOtherPort: boolean }[];
  delayMs: number;
}

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;
const FORGED_ADDRESS = '127.0.0.66';
/** The DO bit of an OPT record's flags (RFC 3225 §3). */
const DNSSEC_OK = 1 << 15;

function soaFor(name: string, zones: Zones, negativeTtlSeconds: number): Answer {
  const labels = name.split('.');
  for (let index = 0; index < labels.length; index += 1) {
    const candidate = labels.slice(index).join('.');
    const soa = zones[candidate]?.SOA;
    if (soa !== undefined) return { type: 'SOA', name: candidate, ttl: zones[candidate]?.ttl ?? negativeTtlSeconds, data: soa };
  }
  const apex = labels.slice(-2).join('.');
  const data: SoaData = { mname: `ns.${apex}`, rname: `hostmaster.${apex}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: negativeTtlSeconds };
  return { type: 'SOA', name: apex, ttl: negativeTtlSeconds, data };
}

function recordsOf(name: string, type: string, entry: ZoneEntry): Answer[] {
  const ttl = entry.ttl ?? 300;
  switch (type) {
    case 'A':
      return (entry.A ?? []).map((data) => ({ type: 'A', name, ttl, data }));
    case 'AAAA':
      return (entry.AAAA ?? []).map((data) => ({ type: 'AAAA', name, ttl, data }));
    case 'MX':
      return (entry.MX ?? []).map((data) => ({ type: 'MX', name, ttl, data }));
    case 'TXT':
      return (entry.TXT ?? []).map((data) => ({ type: 'TXT', name, ttl, data }));
    case 'TLSA':
      return (entry.TLSA ?? []).map((data) => ({ type: 'TLSA', name, ttl, data }));
    case 'PTR':
      return (entry.PTR ?? []).map((data) => ({ type: 'PTR', name, ttl, data }));
    case 'SRV':
      return (entry.SRV ?? []).map((data) => ({ type: 'SRV', name, ttl, data }));
    case 'SOA':
      return entry.SOA === undefined ? [] : [{ type: 'SOA', name, ttl, data: entry.SOA }];
    case 'CNAME':
      return entry.CNAME === undefined ? [] : [{ type: 'CNAME', name, ttl, data: entry.CNAME }];
    default:
      return [];
  }
}

function glue(answers: Answer[], zones: Zones): Answer[] {
  return answers.flatMap((answer) => {
    if (answer.type !== 'MX') return [];
    const entry = zones[answer.data.exchange.toLowerCase()];
    return entry === undefined ? [] : [...recordsOf(answer.data.exchange, 'A', entry), ...recordsOf(answer.data.exchange, 'AAAA', entry)];
  });
}

/** The zone's answer: chases CNAMEs inside the table (at most 16 hops). */
function zoneResponse(question: Question, zones: Zones, negativeTtlSeconds: number): { rcode: number; answers: Answer[]; authorities: Answer[]; additionals: Answer[] } {
  const answers: Answer[] = [];
  let name = question.name.toLowerCase();
  const seen = new Set<string>();
  for (let hop = 0; hop < 16; hop += 1) {
    const entry = zones[name];
    if (entry === undefined) {
      const exists = Object.keys(zones).some((owner) => owner.endsWith(`.${name}`));
      // A CNAME target outside the table is outside our zone: the chain so far, no SOA.
      if (hop > 0) return { rcode: RCODE.NOERROR, answers, authorities: [], additionals: [] };
      if (!exists) return { rcode: RCODE.NXDOMAIN, answers, authorities: [soaFor(name, zones, negativeTtlSeconds)], additionals: [] };
      return { rcode: RCODE.NOERROR, answers, authorities: [soaFor(name, zones, negativeTtlSeconds)], additionals: [] };
    }
    if (entry.CNAME !== undefined && question.type !== 'CNAME') {
      answers.push(...recordsOf(name, 'CNAME', entry));
      if (seen.has(name)) break;
      seen.add(name);
      name = entry.CNAME.toLowerCase();
      continue;
    }
    const found = recordsOf(name, question.type, entry);
    answers.push(...found);
    const authorities = found.length === 0 ? [soaFor(name, zones, negativeTtlSeconds)] : [];
    return { rcode: RCODE.NOERROR, answers, authorities, additionals: glue(found, zones) };
  }
  return { rcode: RCODE.NOERROR, answers, authorities: [], additionals: [] };
}

/** The `secure` of the name's entry or its nearest ancestor's that says, else the server's default. */
function isSecure(name: string, zones: Zones, fallback: boolean): boolean {
  const labels = name.toLowerCase().split('.');
  for (let index = 0; index < labels.length; index += 1) {
    const secure = zones[labels.slice(index).join('.')]?.secure;
    if (secure !== undefined) return secure;
  }
  return fallback;
}

/** AD only for secure data and only to a client that asked for it with AD or DO (RFC 6840 §5.7). */
function setsAd(request: AnswerRequest): boolean {
  const asked = ((request.query.flags ?? 0) & dnsPacket.AUTHENTIC_DATA) !== 0 || request.dnssecOk;
  return asked && isSecure(request.question.name, request.zones, request.authenticated);
}

function encodeResponse(request: AnswerRequest, rcode: number, parts: { answers?: Answer[]; authorities?: Answer[]; additionals?: Answer[]; truncated?: boolean; id?: number; question?: Question }): Buffer {
  const flags =
    (request.query.flags ?? 0) & dnsPacket.RECURSION_DESIRED |
    dnsPacket.RECURSION_AVAILABLE |
    (rcode === RCODE.NOERROR || rcode === RCODE.NXDOMAIN ? (setsAd(request) ? dnsPacket.AUTHENTIC_DATA : 0) : 0) |
    (parts.truncated === true ? dnsPacket.TRUNCATED_RESPONSE : 0) |
    rcode;
  const opt: Answer[] = request.edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: request.dnssecOk ? DNSSEC_OK : 0, flag_do: request.dnssecOk, options: [] }] : [];
  return dnsPacket.encode({
    type: 'response',
    id: parts.id ?? request.query.id ?? 0,
    flags,
    questions: [parts.question ?? request.question],
    answers: parts.answers ?? [],
    authorities: parts.authorities ?? [],
    additionals: [...(parts.additionals ?? []), ...opt],
  });
}

/** The table's answer; over UDP one too big for the client's buffer is sent truncated (TC). */
function genuine(request: AnswerRequest): Buffer {
  const zone = zoneResponse(request.question, request.zones, request.negativeTtlSeconds);
  const full = encodeResponse(request, zone.rcode, zone);
  const limit = request.edns ? 1232 : 512;
  return request.transport === 'udp' && full.length > limit ? encodeResponse(request, zone.rcode, { truncated: true }) : full;
}

function forgedAnswer(request: AnswerRequest, overrides: { id?: number; question?: Question }): Buffer {
  const name = overrides.question?.name ?? request.question.name;
  const answers: Answer[] = [{ type: 'A', name, ttl: 86400, data: FORGED_ADDRESS }];
  return encodeResponse(request, RCODE.NOERROR, { answers, ...overrides });
}

/** Hand-made packet: header + the question + one answer whose name points at itself. */
function compressionLoop(request: AnswerRequest): Buffer {
  const header = encodeResponse({ ...request, edns: false }, RCODE.NOERROR, {});
  header.writeUInt16BE(1, 6);
  const pointerOffset = header.length;
  const record = Buffer.alloc(2 + 10 + 4);
  record.writeUInt16BE(0xc000 | pointerOffset, 0);
  record.writeUInt16BE(1, 2);
  record.writeUInt16BE(1, 4);
  record.writeUInt32BE(300, 6);
  record.writeUInt16BE(4, 10);
  return Buffer.concat([header, record]);
}

function badRdlength(request: AnswerRequest): Buffer {
  const answers: Answer[] = [{ type: 'A', name: request.question.name, ttl: 300, data: '127.0.0.9' }];
  const plain = encodeResponse({ ...request, edns: false }, RCODE.NOERROR, { answers });
  // The A record's data is the last 4 bytes: claim 5 and append a stray byte.
  plain.writeUInt16BE(5, plain.length - 6);
  return Buffer.concat([plain, Buffer.from([0x2a])]);
}

export function buildAnswer(request: AnswerRequest): AnswerPlan {
  const name = request.question.name.toLowerCase();
  const fault = request.faults[name];
  const applies = fault !== undefined && (fault.types === undefined || fault.types.includes(request.question.type));
  const plan: AnswerPlan = { reply: undefined, forged: [], delayMs: 0 };
  if (!applies) return { ...plan, reply: genuine(request) };
  switch (fault.kind) {
    case 'servfail':
      return { ...plan, reply: encodeResponse(request, RCODE.SERVFAIL, {}) };
    case 'refused':
      return { ...plan, reply: encodeResponse(request, RCODE.REFUSED, {}) };
    case 'nxdomain':
      return { ...plan, reply: encodeResponse(request, RCODE.NXDOMAIN, { authorities: [soaFor(name, request.zones, request.negativeTtlSeconds)] }) };
    case 'silence':
      return plan;
    case 'truncate':
      return { ...plan, reply: request.transport === 'udp' ? encodeResponse(request, RCODE.NOERROR, { truncated: true }) : genuine(request) };
    case 'garbage': {
      const junk = Buffer.from([0, 0, 0x81, 0x80, 0xff, 0xff, 0xff, 0xff, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0xc0, 0xff]);
      junk.writeUInt16BE(request.query.id ?? 0, 0);
      return { ...plan, reply: junk };
    }
    case 'compression-loop':
      return { ...plan, reply: compressionLoop(request) };
    case 'bad-rdlength':
      return { ...plan, reply: badRdlength(request) };
    case 'oversized': {
      const answers: Answer[] = Array.from({ length: 40 }, (_, index) => ({ type: 'TXT', name, ttl: 300, data: `filler ${index} ${'x'.repeat(40)}` }));
      return { ...plan, reply: encodeResponse(request, RCODE.NOERROR, { answers }) };
    }
    case 'cname-loop': {
      const other = `loop.${name}`;
      const answers: Answer[] = [
        { type: 'CNAME', name, ttl: 300, data: other },
        { type: 'CNAME', name: other, ttl: 300, data: name },
      ];
      return { ...plan, reply: encodeResponse(request, RCODE.NOERROR, { answers }) };
    }
    case 'wrong-id':
    case 'wrong-question':
    case 'wrong-port': {
      const id = request.query.id ?? 0;
      const forged =
        fault.kind === 'wrong-id'
          ? forgedAnswer(request, { id: (id + 1) % 65536 })
          : fault.kind === 'wrong-question'
            ? forgedAnswer(request, { question: { ...request.question, name: `other.${name}` } })
            : forgedAnswer(request, {});
      const reply = fault.thenAnswer === false ? undefined : genuine(request);
      return { reply, forged: [{ packet: forged, fromOtherPort: fault.kind === 'wrong-port' }], delayMs: 0 };
    }
    case 'slow':
      return { reply: genuine(request), forged: [], delayMs: fault.delayMs };
    case 'extra-answer': {
      const zone = zoneResponse(request.question, request.zones, request.negativeTtlSeconds);
      return { ...plan, reply: encodeResponse(request, zone.rcode, { ...zone, answers: [...zone.answers, fault.record] }) };
    }
  }
}
