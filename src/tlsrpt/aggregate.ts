// Counting sessions for one policy domain and UTC day (RFC 8460 §4.4): per policy
// the successful and failed sessions, and failure details merged when they are
// equal but for the count; bounded, and convertible to and from its stored JSON form.

import { RESULT_TYPES, type FailureDetails, type PolicyType, type ReportedPolicy, type ResultType } from './types.js';

/** Distinct policies kept per domain and day (a domain changing its policy all day long stays bounded). */
export const MAX_POLICIES = 50;
/** Distinct failure details kept per policy; beyond, failures are counted in the summary only. */
export const MAX_DETAILS_PER_POLICY = 500;

export interface CountedDetails {
  readonly details: FailureDetails;
  count: number;
}

export interface PolicyCounts {
  readonly policy: ReportedPolicy;
  successes: number;
  failures: number;
  /** Keyed by every field but the count. */
  readonly details: Map<string, CountedDetails>;
}

const DETAIL_FIELDS = ['resultType', 'sendingMtaIp', 'receivingMxHostname', 'receivingMxHelo', 'receivingIp', 'failureReasonCode', 'additionalInformation'] as const;
const POLICY_TYPES: readonly PolicyType[] = ['sts', 'tlsa', 'no-policy-found'];

function policyKey(policy: ReportedPolicy): string {
  return JSON.stringify([policy.type, policy.domain, policy.strings, policy.mxHosts]);
}

function detailKey(details: FailureDetails): string {
  return JSON.stringify(DETAIL_FIELDS.map((field) => details[field] ?? null));
}

/** The sessions of one policy domain on one UTC day. */
export class DomainDay {
  readonly policies = new Map<string, PolicyCounts>();

  get empty(): boolean {
    return this.policies.size === 0;
  }

  /** One session: a success when `details` is undefined. */
  add(policy: ReportedPolicy, details: FailureDetails | undefined, count = 1): void {
    const counts = this.#counts(policy);
    if (counts === undefined) return;
    if (details === undefined) {
      counts.successes += count;
      return;
    }
    counts.failures += count;
    this.#addDetails(counts, details, count);
  }

  /** Adds everything `other` counted. */
  merge(other: DomainDay): void {
    for (const counts of other.policies.values()) {
      const mine = this.#counts(counts.policy);
      if (mine === undefined) continue;
      mine.successes += counts.successes;
      mine.failures += counts.failures;
      for (const { details, count } of counts.details.values()) this.#addDetails(mine, details, count);
    }
  }

  #counts(policy: ReportedPolicy): PolicyCounts | undefined {
    const key = policyKey(policy);
    let counts = this.policies.get(key);
    if (counts === undefined) {
      if (this.policies.size >= MAX_POLICIES) return undefined;
      counts = { policy, successes: 0, failures: 0, details: new Map() };
      this.policies.set(key, counts);
    }
    return counts;
  }

  #addDetails(counts: PolicyCounts, details: FailureDetails, count: number): void {
    const key = detailKey(details);
    const known = counts.details.get(key);
    if (known !== undefined) known.count += count;
    else if (counts.details.size < MAX_DETAILS_PER_POLICY) counts.details.set(key, { details, count });
  }

  /** The stored form: plain JSON values. */
  toJson(): StoredPolicy[] {
    return [...this.policies.values()].map(({ policy, successes, failures, details }) => ({
      type: policy.type,
      domain: policy.domain,
      strings: [...policy.strings],
      mxHosts: [...policy.mxHosts],
      successes,
      failures,
      details: [...details.values()].map(({ details: fields, count }) => ({ ...fields, count })),
    }));
  }

  /** The counts in a stored form; a problem when it is not one. */
  static fromJson(value: unknown): DomainDay | string {
    if (!Array.isArray(value)) return 'policies is not a list';
    const day = new DomainDay();
    for (const [index, item] of value.entries()) {
      const parsed = storedPolicy(item);
      if (typeof parsed === 'string') return `policies[${index}]: ${parsed}`;
      const { successes, failures, details, ...policy } = parsed;
      day.add(policy, undefined, successes);
      const counts = day.#counts(policy);
      if (counts === undefined) continue;
      counts.failures += failures;
      for (const { count, ...fields } of details) day.#addDetails(counts, fields, count);
    }
    return day;
  }
}

export interface StoredDetails extends FailureDetails {
  readonly count: number;
}

export interface StoredPolicy extends ReportedPolicy {
  readonly successes: number;
  readonly failures: number;
  readonly details: readonly StoredDetails[];
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isStringList = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');

function storedPolicy(value: unknown): StoredPolicy | string {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const record = value as Record<string, unknown>;
  const { type, domain, strings, mxHosts, successes, failures, details } = record;
  if (!POLICY_TYPES.includes(type as PolicyType)) return 'no valid type';
  if (typeof domain !== 'string' || domain === '') return 'no domain';
  if (!isStringList(strings) || !isStringList(mxHosts)) return 'no valid strings or mxHosts';
  if (!isCount(successes) || !isCount(failures)) return 'no valid counts';
  if (!Array.isArray(details)) return 'details is not a list';
  const parsed: StoredDetails[] = [];
  for (const item of details) {
    const one = storedDetails(item);
    if (typeof one === 'string') return one;
    parsed.push(one);
  }
  return { type: type as PolicyType, domain, strings, mxHosts, successes, failures, details: parsed };
}

function storedDetails(value: unknown): StoredDetails | string {
  if (typeof value !== 'object' || value === null) return 'a detail is not an object';
  const record = value as Record<string, unknown>;
  if (!RESULT_TYPES.includes(record['resultType'] as ResultType)) return 'a detail has no valid resultType';
  if (!isCount(record['count'])) return 'a detail has no valid count';
  const details: Record<string, unknown> = { resultType: record['resultType'], count: record['count'] };
  for (const field of DETAIL_FIELDS.slice(1)) {
    const text = record[field];
    if (text === undefined) continue;
    if (typeof text !== 'string') return `a detail's ${field} is not text`;
    details[field] = text;
  }
  return details as unknown as StoredDetails;
}
