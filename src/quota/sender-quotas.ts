// Sender quotas: messages per hour and per day for each AUTH user and each
// trusted client address, counted when a message is queued and checked at MAIL
// (450 4.7.1, RFC 3463 "delivery not authorized"). Sliding windows approximated
// with per-minute buckets (hour) and per-hour buckets (day): memory bounded, in memory only.

import type { Clock } from '../core/clock.js';
import { reply, type Reply } from '../smtp/reply.js';

export interface QuotaLimits {
  /** Messages per sliding hour; 0 = unlimited. */
  readonly perHour: number;
  /** Messages per sliding day; 0 = unlimited. */
  readonly perDay: number;
}

/** Whom a message counts against: the AUTH user when there is one, else a trusted client's address. */
export interface QuotaSender {
  readonly user: string | null;
  readonly clientAddress: string;
  readonly trusted: boolean;
}

export type QuotaKind = 'hour' | 'day';

export interface QuotaRefusal {
  readonly kind: QuotaKind;
  readonly limit: number;
  /** "user app@example.org" or "client address 192.0.2.7". */
  readonly subject: string;
  /** When one more message fits again. */
  readonly retryAtMs: number;
  readonly reply: Reply;
}

interface Window {
  readonly kind: QuotaKind;
  readonly limit: number;
  readonly bucketMs: number;
  readonly buckets: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
/** Senders whose buckets all left their windows are forgotten every this many counted messages. */
const SWEEP_EVERY = 1000;

/** Counts per bucket index (time / bucketMs), oldest first; at most `buckets` of them. */
type Buckets = { index: number; count: number }[];

export class SenderQuotas {
  private readonly windows: Window[];
  private readonly counts = new Map<string, Buckets[]>();
  private sinceSweep = 0;

  constructor(
    limits: QuotaLimits,
    private readonly clock: Clock,
  ) {
    this.windows = [
      { kind: 'hour' as const, limit: limits.perHour, bucketMs: MINUTE_MS, buckets: 60 },
      { kind: 'day' as const, limit: limits.perDay, bucketMs: HOUR_MS, buckets: 24 },
    ].filter((window) => window.limit > 0);
  }

  get enabled(): boolean {
    return this.windows.length > 0;
  }

  /** The refusal for one more message from `sender` now, or undefined (also for senders no quota applies to). */
  check(sender: QuotaSender): QuotaRefusal | undefined {
    const key = quotaKey(sender);
    if (key === undefined) return undefined;
    const nowMs = this.clock.now();
    const perWindow = this.counts.get(key);
    if (perWindow === undefined) return undefined;
    for (const [position, window] of this.windows.entries()) {
      const buckets = current(perWindow[position] ?? [], window, nowMs);
      const total = buckets.reduce((sum, bucket) => sum + bucket.count, 0);
      if (total < window.limit) continue;
      const subject = key;
      const retryAtMs = retryTime(buckets, window, total);
      return { kind: window.kind, limit: window.limit, subject, retryAtMs, reply: quotaReply(window, subject, retryAtMs) };
    }
    return undefined;
  }

  /** Counts one queued message from `sender`. */
  record(sender: QuotaSender): void {
    const key = quotaKey(sender);
    if (key === undefined || !this.enabled) return;
    const nowMs = this.clock.now();
    const perWindow = this.counts.get(key) ?? this.windows.map(() => []);
    this.windows.forEach((window, position) => {
      const buckets = current(perWindow[position] ?? [], window, nowMs);
      const index = Math.floor(nowMs / window.bucketMs);
      const last = buckets[buckets.length - 1];
      if (last !== undefined && last.index === index) last.count += 1;
      else buckets.push({ index, count: 1 });
      perWindow[position] = buckets;
    });
    this.counts.set(key, perWindow);
    if (++this.sinceSweep >= SWEEP_EVERY) this.sweep(nowMs);
  }

  /** Senders tracked now (for tests and the memory bound). */
  get trackedSenders(): number {
    return this.counts.size;
  }

  private sweep(nowMs: number): void {
    this.sinceSweep = 0;
    for (const [key, perWindow] of this.counts) {
      if (this.windows.every((window, position) => current(perWindow[position] ?? [], window, nowMs).length === 0)) this.counts.delete(key);
    }
  }
}

/** Unauthenticated, untrusted clients (mail for the local domains from outside) have no quota. */
function quotaKey(sender: QuotaSender): string | undefined {
  if (sender.user !== null) return `user ${sender.user.toLowerCase()}`;
  return sender.trusted ? `client address ${sender.clientAddress}` : undefined;
}

/** The buckets still inside the window ending now (the current bucket counts whole). */
function current(buckets: Buckets, window: Window, nowMs: number): Buckets {
  const oldest = Math.floor(nowMs / window.bucketMs) - window.buckets + 1;
  const start = buckets.findIndex((bucket) => bucket.index >= oldest);
  if (start === -1) return [];
  if (start > 0) buckets.splice(0, start);
  return buckets;
}

/** When enough old buckets will have left the window for one more message to fit. */
function retryTime(buckets: Buckets, window: Window, total: number): number {
  let remaining = total;
  for (const bucket of buckets) {
    remaining -= bucket.count;
    if (remaining < window.limit) return (bucket.index + window.buckets) * window.bucketMs;
  }
  return ((buckets[buckets.length - 1]?.index ?? 0) + window.buckets) * window.bucketMs;
}

function quotaReply(window: Window, subject: string, retryAtMs: number): Reply {
  const at = new Date(retryAtMs);
  const hhmm = `${String(at.getUTCHours()).padStart(2, '0')}:${String(at.getUTCMinutes()).padStart(2, '0')} UTC`;
  const day = window.kind === 'day' ? ` on ${at.toISOString().slice(0, 10)}` : '';
  const text = `Sender quota reached: quota of ${window.limit} message${window.limit === 1 ? '' : 's'} per ${window.kind} for ${subject} reached, try again after ${hhmm}${day}`;
  return reply(450, '4.7.1', text);
}
