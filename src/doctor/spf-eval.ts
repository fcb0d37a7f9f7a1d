// SPF check_host() (RFC 7208 §4): record lookup and selection (§4.4-4.5),
// mechanisms and redirect (§5, §6.1) with the 10-lookup and 2-void-lookup
// limits (§4.6.4), MX/PTR name caps, macros (§7); every outcome is a value.

import { canonicalDnsName } from '../dns/names.js';
import type { Resolver } from '../dns/resolver.js';
import { addressBytes, reverseName } from '../dns/reverse-name.js';
import type { DnsResult, RecordType } from '../dns/types.js';
import { expandMacroTokens, trimExpandedDomain, type MacroValues } from './spf-macro.js';
import { isSpfRecord, parseSpfRecord, type DomainSpec, type SpfDirective, type SpfQualifier, type SpfRecord } from './spf-record.js';

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror';

export interface SpfQuery {
  /** The sending address (IPv4-mapped IPv6 counts as IPv4). */
  readonly ip: string;
  /** MAIL FROM address, or postmaster@HELO when it is empty (§2.4). */
  readonly sender: string;
  readonly helo: string;
  /** The domain whose policy is checked (the sender's domain). */
  readonly domain: string;
}

export interface SpfOutcome {
  readonly result: SpfResult;
  /** What decided it: the matching directive, the default, or the problem. */
  readonly detail: string;
  /** DNS-querying terms evaluated (include a mx ptr exists redirect). */
  readonly lookups: number;
  readonly voidLookups: number;
}

export const MAX_DNS_LOOKUPS = 10;
export const MAX_VOID_LOOKUPS = 2;
/** §4.6.4: at most 10 MX names per mx, 10 PTR names per ptr / %{p}. */
export const MAX_NAMES_PER_LOOKUP = 10;

const RESULT_OF: Readonly<Record<SpfQualifier, SpfResult>> = { '+': 'pass', '-': 'fail', '~': 'softfail', '?': 'neutral' };

type Verdict = { readonly result: SpfResult; readonly detail: string };
/** A mechanism matched, did not, or ended the evaluation with an error. */
type MatchOutcome = boolean | Verdict;

function sameNetwork(ip: Uint8Array, network: Uint8Array, prefix: number): boolean {
  if (ip.length !== network.length) return false;
  for (let bit = 0; bit < prefix; bit += 8) {
    const mask = prefix - bit >= 8 ? 0xff : (0xff << (8 - (prefix - bit))) & 0xff;
    if (((ip[bit / 8] ?? 0) & mask) !== ((network[bit / 8] ?? 0) & mask)) return false;
  }
  return true;
}

function unmapped(bytes: Uint8Array): Uint8Array {
  const mapped = bytes.length === 16 && bytes.slice(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.slice(12) : bytes;
}

function isError(result: DnsResult<RecordType>): boolean {
  return result.kind === 'servfail' || result.kind === 'timeout' || result.kind === 'refused';
}

function failureReason(result: DnsResult<RecordType>): string {
  return 'reason' in result ? result.reason : result.kind;
}

/** One check_host() run with its shared counters; nested include/redirect reuse them. */
class SpfEvaluation {
  lookups = 0;
  voidLookups = 0;
  private readonly ip: Uint8Array;
  private readonly isV4: boolean;

  constructor(
    private readonly resolver: Resolver,
    private readonly query: SpfQuery,
    ip: Uint8Array,
  ) {
    this.ip = unmapped(ip);
    this.isV4 = this.ip.length === 4;
  }

  async checkHost(domain: string): Promise<Verdict> {
    const name = canonicalDnsName(domain);
    if (name === undefined || !name.includes('.')) return { result: 'none', detail: `${JSON.stringify(domain)} is not a valid domain name` };
    const found = await this.resolver.lookup(name, 'TXT');
    if (isError(found)) return { result: 'temperror', detail: `TXT lookup of ${name} failed: ${failureReason(found)}` };
    const texts = found.kind === 'ok' ? found.records.map((strings) => strings.join('')).filter(isSpfRecord) : [];
    if (texts.length === 0) return { result: 'none', detail: `no SPF record at ${name}` };
    if (texts.length > 1) return { result: 'permerror', detail: `${texts.length} SPF records at ${name}` };
    const parsed = parseSpfRecord(texts[0] ?? '');
    if (!parsed.ok) return { result: 'permerror', detail: `${name}: ${parsed.problem}` };
    return this.evaluate(name, parsed.record);
  }

  private async evaluate(domain: string, record: SpfRecord): Promise<Verdict> {
    for (const directive of record.directives) {
      const matched = await this.matches(domain, directive);
      if (typeof matched !== 'boolean') return matched;
      if (matched) return { result: RESULT_OF[directive.qualifier], detail: `matched ${directive.text} at ${domain}` };
    }
    if (record.redirect === undefined) return { result: 'neutral', detail: `no mechanism matched at ${domain} (default neutral)` };
    const limit = this.countLookup();
    if (limit !== undefined) return limit;
    const target = await this.expand(record.redirect, domain);
    if (typeof target !== 'string') return target;
    const redirected = await this.checkHost(target);
    if (redirected.result === 'none') return { result: 'permerror', detail: `redirect=${target}: ${redirected.detail}` };
    return redirected;
  }

  private async matches(domain: string, directive: SpfDirective): Promise<MatchOutcome> {
    const mechanism = directive.mechanism;
    switch (mechanism.kind) {
      case 'all':
        return true;
      case 'ip4':
      case 'ip6':
        return sameNetwork(this.ip, mechanism.network, mechanism.prefix);
      default:
        break;
    }
    const limit = this.countLookup();
    if (limit !== undefined) return limit;
    const target = mechanism.target === undefined ? domain : await this.expand(mechanism.target, domain);
    if (typeof target !== 'string') return target;
    switch (mechanism.kind) {
      case 'include':
        return this.include(target);
      case 'exists':
        return this.exists(target);
      case 'a':
        return this.addressesMatch(target, this.isV4 ? mechanism.ip4Prefix : mechanism.ip6Prefix);
      case 'mx':
        return this.mx(target, this.isV4 ? mechanism.ip4Prefix : mechanism.ip6Prefix);
      case 'ptr':
        return (await this.validatedNames(domain)).some((name) => name === target || name.endsWith(`.${target}`));
    }
  }

  private countLookup(): Verdict | undefined {
    this.lookups += 1;
    return this.lookups > MAX_DNS_LOOKUPS ? { result: 'permerror', detail: `more than ${MAX_DNS_LOOKUPS} DNS lookups (include, a, mx, ptr, exists, redirect)` } : undefined;
  }

  /** Looks `name` up; a void answer is counted, an error is a temperror verdict. */
  private async lookup<T extends RecordType>(name: string, type: T): Promise<DnsResult<T> | Verdict> {
    const result = await this.resolver.lookup(name, type);
    if (isError(result)) return { result: 'temperror', detail: `${type} lookup of ${name} failed: ${failureReason(result)}` };
    if (result.kind !== 'ok' || result.records.length === 0) {
      this.voidLookups += 1;
      if (this.voidLookups > MAX_VOID_LOOKUPS) return { result: 'permerror', detail: `more than ${MAX_VOID_LOOKUPS} void DNS lookups (last: ${type} ${name})` };
    }
    return result;
  }

  private async include(target: string): Promise<MatchOutcome> {
    const included = await this.checkHost(target);
    switch (included.result) {
      case 'pass':
        return true;
      case 'fail':
      case 'softfail':
      case 'neutral':
        return false;
      case 'none':
        return { result: 'permerror', detail: `include:${target}: ${included.detail}` };
      default:
        return included;
    }
  }

  private async exists(target: string): Promise<MatchOutcome> {
    const found = await this.lookup(target, 'A');
    if (!('kind' in found)) return found;
    return found.kind === 'ok' && found.records.length > 0;
  }

  private async addressesMatch(name: string, prefix: number): Promise<MatchOutcome> {
    const found = await this.lookup(name, this.isV4 ? 'A' : 'AAAA');
    if (!('kind' in found)) return found;
    return found.kind === 'ok' && this.anyInNetwork(found.records, prefix);
  }

  private anyInNetwork(addresses: readonly string[], prefix: number): boolean {
    return addresses.some((address) => {
      const bytes = addressBytes(address);
      return bytes !== undefined && sameNetwork(this.ip, bytes, prefix);
    });
  }

  private async mx(target: string, prefix: number): Promise<MatchOutcome> {
    const found = await this.lookup(target, 'MX');
    if (!('kind' in found)) return found;
    if (found.kind !== 'ok') return false;
    if (found.records.length > MAX_NAMES_PER_LOOKUP) return { result: 'permerror', detail: `mx:${target} has ${found.records.length} MX records, over ${MAX_NAMES_PER_LOOKUP}` };
    const hosts = [...found.records].sort((a, b) => a.preference - b.preference).map((record) => record.exchange).filter((host) => host !== '.');
    for (const host of hosts) {
      const matched = await this.addressesMatch(host, prefix);
      if (matched !== false) return matched;
    }
    return false;
  }

  /** §5.5: PTR names of the address that resolve back to it (errors skip a name; at most 10 names). */
  private async validatedNames(preferred: string): Promise<string[]> {
    const reverse = reverseName(ipText(this.ip, false));
    if (reverse === undefined) return [];
    const found = await this.resolver.lookup(reverse, 'PTR');
    if (found.kind !== 'ok') {
      if (found.kind === 'nxdomain' || found.kind === 'nodata') this.voidLookups += 1;
      return [];
    }
    const validated: string[] = [];
    for (const name of found.records.slice(0, MAX_NAMES_PER_LOOKUP)) {
      const addresses = await this.resolver.lookup(name, this.isV4 ? 'A' : 'AAAA');
      if (addresses.kind !== 'ok') continue;
      if (this.anyInNetwork(addresses.records, this.ip.length * 8)) validated.push(name);
    }
    const rank = (name: string): number => (name === preferred ? 0 : name.endsWith(`.${preferred}`) ? 1 : 2);
    return validated.sort((a, b) => rank(a) - rank(b));
  }

  private async expand(spec: DomainSpec, domain: string): Promise<string | Verdict> {
    const sender = this.query.sender.includes('@') ? this.query.sender : `postmaster@${this.query.sender}`;
    const at = sender.lastIndexOf('@');
    const values: MacroValues = {
      sender,
      localPart: at > 0 ? sender.slice(0, at) : 'postmaster',
      senderDomain: sender.slice(at + 1),
      domain,
      ipText: ipText(this.ip, true),
      ipVersionLabel: this.isV4 ? 'in-addr' : 'ip6',
      helo: this.query.helo,
      validatedName: async () => (await this.validatedNames(domain))[0] ?? 'unknown',
    };
    const expanded = trimExpandedDomain(await expandMacroTokens(spec.tokens, values));
    const name = canonicalDnsName(expanded);
    if (name === undefined) return { result: 'permerror', detail: `${spec.text} expands to ${JSON.stringify(expanded)}, not a valid domain name` };
    return name;
  }
}

/** Dotted quad; IPv6 as compressed text, or for macros as 32 dot-separated nibbles (§7.3). */
function ipText(bytes: Uint8Array, forMacro: boolean): string {
  if (bytes.length === 4) return [...bytes].join('.');
  const nibbles = [...bytes].flatMap((byte) => [(byte >> 4).toString(16), (byte & 0xf).toString(16)]);
  if (forMacro) return nibbles.join('.');
  const groups: string[] = [];
  for (let index = 0; index < 32; index += 4) groups.push(nibbles.slice(index, index + 4).join(''));
  return groups.join(':');
}

/** check_host(ip, domain, sender) as a receiver runs it. */
export async function checkHost(resolver: Resolver, query: SpfQuery): Promise<SpfOutcome> {
  const ip = addressBytes(query.ip);
  if (ip === undefined) return { result: 'permerror', detail: `${JSON.stringify(query.ip)} is not an IP address`, lookups: 0, voidLookups: 0 };
  const evaluation = new SpfEvaluation(resolver, query, ip);
  const verdict = await evaluation.checkHost(query.domain);
  return { ...verdict, lookups: evaluation.lookups, voidLookups: evaluation.voidLookups };
}
