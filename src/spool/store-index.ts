// The queue log's in-memory index: for every queued message where its current
// record and its body lie (not the record itself: a million queued messages
// must fit in memory), what the scheduler needs at startup, and which segments
// it keeps alive; per segment the counts that say when it may be deleted or is
// worth compacting; and the oldest arrival for the gauges. Pure bookkeeping, no I/O.

import { ArrivalHeap } from './arrival-heap.js';

/** Where a body is stored: inside a segment, or in a file of its own in body/. */
export type BodyLocation =
  | { readonly kind: 'inline'; readonly segment: number; readonly offset: number; readonly length: number }
  | { readonly kind: 'file'; readonly file: string; readonly length: number };

/** The record segment of a message read from the old layout (state/<id>.json) and not yet moved into the log. */
export const LEGACY_SEGMENT = -1;

export interface IndexEntry {
  readonly id: string;
  readonly arrivalMs: number;
  /** The record's nextAttempt (ms since the epoch; NaN when not a time). */
  readonly nextAttemptMs: number;
  /** Some recipient is still pending. */
  readonly pending: boolean;
  readonly body: BodyLocation;
  /** The segment holding the message's latest record (LEGACY_SEGMENT: `json` holds it). */
  readonly recordSegment: number;
  /** The record's JSON: its first byte in the segment and its length in bytes. */
  readonly recordOffset: number;
  readonly recordLength: number;
  /** Only for a record read from the old layout (no segment holds it); else undefined. */
  readonly json: string | undefined;
  /** The oldest segment that may still hold a record of this message (a removal must not outlive it). */
  readonly firstSegment: number;
}

export interface SegmentInfo {
  /** Messages whose body or latest record is in this segment (each role counts once). */
  refs: number;
  /** Body streams open on it. */
  readers: number;
  /** Oldest segment holding records that a removal in this segment cancels (Infinity when none). */
  removeFloor: number;
  /** Inline body bytes of live messages. */
  liveBytes: number;
  /** File size, once known (sealed or scanned). */
  bytes: number;
  /** No more appends go to it. */
  sealed: boolean;
}

/** A new entry, as `put` takes it. */
export type NewEntry = Omit<IndexEntry, 'firstSegment' | 'json'> & { readonly json?: string };

/**
 * Every entry built by one literal with the fields in one order: one hidden class,
 * ~280 bytes a message with its Map slot, id and body (objects built by spreading
 * took twice that: a million of them did not fit in the memory budget).
 */
function makeEntry(identity: { readonly id: string }, facts: RecordFacts, body: BodyLocation, firstSegment: number, json: string | undefined): IndexEntry {
  return {
    id: identity.id,
    arrivalMs: facts.arrivalMs,
    nextAttemptMs: facts.nextAttemptMs,
    pending: facts.pending,
    body,
    recordSegment: facts.recordSegment,
    recordOffset: facts.recordOffset,
    recordLength: facts.recordLength,
    json,
    firstSegment,
  };
}

/** What an update changes of an entry: its record's place and the fields kept from it. */
export type RecordFacts = Pick<IndexEntry, 'arrivalMs' | 'nextAttemptMs' | 'pending' | 'recordSegment' | 'recordOffset' | 'recordLength'>;

export class QueueIndex {
  private readonly entries = new Map<string, IndexEntry>();
  private readonly segments = new Map<number, SegmentInfo>();
  private readonly arrivals = new ArrivalHeap();

  get size(): number {
    return this.entries.size;
  }

  get(id: string): IndexEntry | undefined {
    return this.entries.get(id);
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  ids(): IterableIterator<string> {
    return this.entries.keys();
  }

  values(): IterableIterator<IndexEntry> {
    return this.entries.values();
  }

  /** Sets the message's entry (a new message, or a copy moved forward), replacing any previous one. */
  put(entry: NewEntry): IndexEntry {
    const { id } = entry;
    const previous = this.entries.get(id);
    const previousFirst = previous === undefined || previous.firstSegment === LEGACY_SEGMENT ? Infinity : previous.firstSegment;
    const firstSegment = Math.min(previousFirst, bodySegmentOf(entry.body) ?? entry.recordSegment, entry.recordSegment);
    const next = makeEntry(entry, entry, entry.body, firstSegment, entry.json);
    this.attach(id, next);
    if (previous !== undefined) this.release(previous);
    return next;
  }

  /** Replaces the message's record, now at `facts.recordSegment`; false when the message is unknown. */
  update(id: string, facts: RecordFacts): boolean {
    const previous = this.entries.get(id);
    if (previous === undefined) return false;
    const next = makeEntry(previous, facts, previous.body, previous.firstSegment, undefined);
    this.info(facts.recordSegment).refs += 1;
    this.entries.set(id, next);
    if (next.arrivalMs !== previous.arrivalMs) this.trackArrival(id, next.arrivalMs);
    this.info(previous.recordSegment).refs -= 1;
    return true;
  }

  /** Takes the message out of view; its segments stay referenced until `release`. */
  detach(id: string): IndexEntry | undefined {
    const entry = this.entries.get(id);
    if (entry !== undefined) this.entries.delete(id);
    return entry;
  }

  /** Puts a detached entry back (its removal failed). */
  reattach(id: string, entry: IndexEntry): void {
    if (this.entries.has(id)) return;
    this.entries.set(id, entry);
    this.trackArrival(id, entry.arrivalMs);
  }

  /** Drops a detached entry's references; `removedIn` is the segment holding its removal record. */
  release(entry: IndexEntry, removedIn?: number): void {
    const bodySegment = bodySegmentOf(entry.body);
    if (bodySegment !== undefined) {
      const info = this.info(bodySegment);
      info.refs -= 1;
      info.liveBytes -= entry.body.length;
    }
    this.info(entry.recordSegment).refs -= 1;
    if (removedIn !== undefined) {
      const info = this.info(removedIn);
      info.removeFloor = Math.min(info.removeFloor, entry.firstSegment);
    }
  }

  info(segment: number): SegmentInfo {
    let info = this.segments.get(segment);
    if (info === undefined) {
      info = { refs: 0, readers: 0, removeFloor: Infinity, liveBytes: 0, bytes: 0, sealed: false };
      this.segments.set(segment, info);
    }
    return info;
  }

  segmentNumbers(): number[] {
    return [...this.segments.keys()].filter((segment) => segment !== LEGACY_SEGMENT).sort((a, b) => a - b);
  }

  forget(segment: number): void {
    this.segments.delete(segment);
  }

  /**
   * Sealed segments that can go, oldest first: nothing live in them, no body
   * stream open, and no older segment left whose records one of their removals
   * cancels (else that message would come back after a restart).
   */
  deletableSegments(): number[] {
    const existing = this.segmentNumbers();
    const deletable: number[] = [];
    const gone = new Set<number>();
    for (const segment of existing) {
      const info = this.info(segment);
      if (!info.sealed || info.refs > 0 || info.readers > 0) continue;
      const shadows = existing.some((other) => other >= info.removeFloor && other < segment && !gone.has(other));
      if (shadows) continue;
      deletable.push(segment);
      gone.add(segment);
    }
    return deletable;
  }

  /** Ids of the live messages whose body or latest record is in `segment`. */
  idsIn(segment: number): string[] {
    const ids: string[] = [];
    for (const [id, entry] of this.entries) {
      if (entry.recordSegment === segment || bodySegmentOf(entry.body) === segment) ids.push(id);
    }
    return ids;
  }

  /** Count and oldest arrival, from memory (amortized O(log n), not a scan: /metrics asks on every scrape). */
  summary(): { readonly messages: number; readonly oldestArrivalMs: number | undefined } {
    const isCurrent = (id: string, arrivalMs: number): boolean => this.entries.get(id)?.arrivalMs === arrivalMs;
    return { messages: this.entries.size, oldestArrivalMs: this.entries.size === 0 ? undefined : this.arrivals.oldest(isCurrent) };
  }

  private attach(id: string, entry: IndexEntry): void {
    const bodySegment = bodySegmentOf(entry.body);
    if (bodySegment !== undefined) {
      const info = this.info(bodySegment);
      info.refs += 1;
      info.liveBytes += entry.body.length;
    }
    this.info(entry.recordSegment).refs += 1;
    const previous = this.entries.get(id);
    this.entries.set(id, entry);
    if (previous?.arrivalMs !== entry.arrivalMs) this.trackArrival(id, entry.arrivalMs);
  }

  /** Stale heap entries (messages gone or changed) are dropped in one O(n) rebuild once they outnumber the live ones. */
  private trackArrival(id: string, arrivalMs: number): void {
    this.arrivals.push(id, arrivalMs);
    if (this.arrivals.size > 2 * this.entries.size + 1024) this.arrivals.rebuild(this.entries.values());
  }
}

export function bodySegmentOf(body: BodyLocation): number | undefined {
  return body.kind === 'inline' ? body.segment : undefined;
}
