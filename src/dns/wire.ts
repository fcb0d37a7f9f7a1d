// DNS messages on the wire via dns-packet (RFC 1035 §4.1, EDNS0 RFC 6891):
// query encoding, and a decoder that never throws and checks every RDLENGTH.

import dnsPacket from 'dns-packet';
import type { Answer, Question } from 'dns-packet';
import { wireName } from './names.js';
import type { RecordType, ResourceRecord, RecordDataByType } from './types.js';

/** Advertised EDNS0 UDP payload size (the DNS flag day 2020 value). */
export const EDNS_UDP_PAYLOAD_BYTES = 1232;
export const HEADER_BYTES = 12;
export const MAX_MESSAGE_BYTES = 65535;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

const FLAG_QR = 1 << 15;
const FLAG_TC = 1 << 9;
const FLAG_RD = 1 << 8;
const FLAG_AD = 1 << 5;
/** The DO bit in the OPT record's flags (RFC 3225 §3). */
const EDNS_FLAG_DO = 1 << 15;

export interface DnsQuestion {
  readonly name: string;
  readonly type: string;
  readonly class: string;
}

export interface DnsMessage {
  readonly id: number;
  readonly isResponse: boolean;
  readonly opcode: number;
  readonly truncated: boolean;
  readonly authenticated: boolean;
  /** Including the EDNS extended bits when an OPT record is present. */
  readonly rcode: number;
  readonly questions: readonly DnsQuestion[];
  readonly answers: readonly ResourceRecord[];
  readonly authorities: readonly ResourceRecord[];
  readonly additionals: readonly ResourceRecord[];
}

export type DecodeResult =
  | { readonly ok: true; readonly message: DnsMessage }
  /** `id` is the header id when at least two bytes arrived, so a caller can tell whose reply it was. */
  | { readonly ok: false; readonly reason: string; readonly id: number | undefined };

/** The parts of dns-packet's runtime API that its type declarations leave out. */
interface RecordCodecs {
  readonly name: { decode(buf: Buffer, offset: number): string; readonly [key: string]: unknown };
  readonly answer: { decode(buf: Buffer, offset: number): Answer; readonly [key: string]: unknown };
  readonly question: { decode(buf: Buffer, offset: number): Question; readonly [key: string]: unknown };
}

const codecs = dnsPacket as unknown as RecordCodecs;

function consumedBytes(codec: { readonly [key: string]: unknown }): number {
  const decode = codec['decode'] as { bytes?: unknown } | undefined;
  return typeof decode?.bytes === 'number' ? decode.bytes : -1;
}

/**
 * A query with RD and AD set (RFC 6840 §5.7) and an EDNS0 OPT record; `dnssecOk`
 * sets its DO bit (RFC 3225: the validating server returns the DNSSEC records too).
 */
export function encodeQuery(id: number, name: string, type: RecordType, dnssecOk = false): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: FLAG_RD | FLAG_AD,
    questions: [{ name, type, class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_PAYLOAD_BYTES, extendedRcode: 0, ednsVersion: 0, flags: dnssecOk ? EDNS_FLAG_DO : 0, flag_do: dnssecOk, options: [] }],
  });
}

class MalformedError extends Error {}

function decodeName(buf: Buffer, offset: number): { name: string; end: number } {
  const name = codecs.name.decode(buf, offset);
  const bytes = consumedBytes(codecs.name);
  if (bytes <= 0) throw new MalformedError('bad name');
  return { name, end: offset + bytes };
}

function readQuestion(buf: Buffer, offset: number): { question: DnsQuestion; end: number } {
  const { end } = decodeName(buf, offset);
  if (end + 4 > buf.length) throw new MalformedError('question past end of message');
  const decoded = codecs.question.decode(buf, offset);
  return { question: { name: wireName(decoded.name), type: decoded.type, class: decoded.class ?? 'IN' }, end: end + 4 };
}

function recordData(answer: Answer): RecordDataByType[RecordType] | undefined {
  switch (answer.type) {
    case 'A':
    case 'AAAA':
      return answer.data;
    case 'CNAME':
    case 'PTR':
      return wireName(answer.data);
    case 'SRV':
      return { priority: answer.data.priority ?? 0, weight: answer.data.weight ?? 0, port: answer.data.port, target: wireName(answer.data.target) };
    case 'MX':
      return { preference: answer.data.preference ?? 0, exchange: wireName(answer.data.exchange) };
    case 'TXT': {
      const parts = Array.isArray(answer.data) ? answer.data : [answer.data];
      return parts.map((part) => (typeof part === 'string' ? part : part.toString('utf8')));
    }
    case 'TLSA':
      return { usage: answer.data.usage, selector: answer.data.selector, matchingType: answer.data.matchingType, certificateData: Uint8Array.from(answer.data.certificate) };
    case 'SOA': {
      const soa = answer.data;
      return { mname: wireName(soa.mname), rname: wireName(soa.rname), serial: soa.serial ?? 0, refresh: soa.refresh ?? 0, retry: soa.retry ?? 0, expire: soa.expire ?? 0, minimum: soa.minimum ?? 0 };
    }
    default:
      return undefined;
  }
}

interface RawRecord {
  readonly record: ResourceRecord;
  readonly extendedRcode: number | undefined;
}

/** One resource record; its data must use exactly RDLENGTH bytes. */
function readRecord(buf: Buffer, offset: number): { raw: RawRecord; end: number } {
  const { end: nameEnd } = decodeName(buf, offset);
  if (nameEnd + 10 > buf.length) throw new MalformedError('record header past end of message');
  const rdLength = buf.readUInt16BE(nameEnd + 8);
  const end = nameEnd + 10 + rdLength;
  if (end > buf.length) throw new MalformedError('record data past end of message');
  const answer = codecs.answer.decode(buf, offset);
  if (offset + consumedBytes(codecs.answer) !== end) throw new MalformedError(`${answer.type} record data does not match its RDLENGTH`);
  const name = wireName(answer.name);
  if (answer.type === 'OPT') {
    return { raw: { record: { name, type: 'OPT', ttlSeconds: 0, data: undefined }, extendedRcode: answer.extendedRcode }, end };
  }
  const record: ResourceRecord = { name, type: answer.type, ttlSeconds: answer.ttl ?? 0, data: answer.class === 'IN' ? recordData(answer) : undefined };
  return { raw: { record, extendedRcode: undefined }, end };
}

function readSection(buf: Buffer, offset: number, count: number, into: RawRecord[]): number {
  let at = offset;
  for (let index = 0; index < count; index += 1) {
    const { raw, end } = readRecord(buf, at);
    into.push(raw);
    at = end;
  }
  return at;
}

function decodeUnsafe(buf: Buffer): DnsMessage {
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  const counts = [4, 6, 8, 10].map((at) => buf.readUInt16BE(at));
  const [questionCount = 0, answerCount = 0, authorityCount = 0, additionalCount = 0] = counts;
  let at = HEADER_BYTES;
  const questions: DnsQuestion[] = [];
  for (let index = 0; index < questionCount; index += 1) {
    const { question, end } = readQuestion(buf, at);
    questions.push(question);
    at = end;
  }
  const answers: RawRecord[] = [];
  const authorities: RawRecord[] = [];
  const additionals: RawRecord[] = [];
  at = readSection(buf, at, answerCount, answers);
  at = readSection(buf, at, authorityCount, authorities);
  readSection(buf, at, additionalCount, additionals);
  const opts = additionals.filter((raw) => raw.extendedRcode !== undefined);
  if (opts.length > 1) throw new MalformedError('more than one OPT record');
  const extendedRcode = opts[0]?.extendedRcode ?? 0;
  const plain = (raws: RawRecord[]): ResourceRecord[] => raws.filter((raw) => raw.extendedRcode === undefined).map((raw) => raw.record);
  return {
    id,
    isResponse: (flags & FLAG_QR) !== 0,
    opcode: (flags >> 11) & 0xf,
    truncated: (flags & FLAG_TC) !== 0,
    authenticated: (flags & FLAG_AD) !== 0,
    rcode: (extendedRcode << 4) | (flags & 0xf),
    questions,
    answers: plain(answers),
    authorities: plain(authorities),
    additionals: plain(additionals),
  };
}

/** Decodes a message; malformed input (bad pointers, short data, RDLENGTH mismatches) is a value. */
export function decodeMessage(buf: Buffer): DecodeResult {
  const id = buf.length >= 2 ? buf.readUInt16BE(0) : undefined;
  if (buf.length < HEADER_BYTES) return { ok: false, reason: 'message shorter than a DNS header', id };
  if (buf.length > MAX_MESSAGE_BYTES) return { ok: false, reason: 'message longer than 65535 bytes', id };
  try {
    return { ok: true, message: decodeUnsafe(buf) };
  } catch (error: unknown) {
    const detail = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: `malformed DNS message: ${detail}`, id };
  }
}
