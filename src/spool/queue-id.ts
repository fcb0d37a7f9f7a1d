// Queue ids: alphanumeric, sortable by creation time and unique across
// restarts and concurrent processes (time + per-process counter + random).

import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';

const ID_PATTERN = /^[0-9A-Za-z]{1,64}$/;
const TIME_DIGITS = 9; // base-36 ms: good until the year 5138
const COUNTER_DIGITS = 4;
const COUNTER_LIMIT = 36 ** COUNTER_DIGITS;
const RANDOM_DIGITS = 6;
const RANDOM_LIMIT = 36 ** RANDOM_DIGITS;
/** Random bytes are drawn this many at a time (256 ids a draw): one call instead of one per id. */
const RANDOM_POOL_BYTES = 1024;

export const QUEUE_ID_LENGTH = TIME_DIGITS + COUNTER_DIGITS + RANDOM_DIGITS;

/** True when `id` is a well-formed queue id: [0-9A-Za-z] only, so it can never name another folder. */
export function validateId(id: string): boolean {
  return ID_PATTERN.test(id);
}

export type RandomSource = (byteCount: number) => Buffer;

/** Makes ids whose string order is creation order within one process (the clock never steps back for it). */
export class QueueIdGenerator {
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private lastTimeMs = 0;
  private counter = 0;
  private pool: Buffer = Buffer.alloc(0);
  private poolOffset = 0;

  constructor(clock: Clock, random: RandomSource = randomBytes) {
    this.clock = clock;
    this.random = random;
  }

  next(): string {
    const nowMs = Math.max(Math.floor(this.clock.now()), this.lastTimeMs);
    if (nowMs > this.lastTimeMs) {
      this.lastTimeMs = nowMs;
      this.counter = 0;
    } else if (this.counter >= COUNTER_LIMIT - 1) {
      this.lastTimeMs += 1; // counter exhausted within one ms: borrow the next ms
      this.counter = 0;
    } else {
      this.counter += 1;
    }
    const randomValue = this.randomUint32() % RANDOM_LIMIT;
    return (
      base36(this.lastTimeMs, TIME_DIGITS) + base36(this.counter, COUNTER_DIGITS) + base36(randomValue, RANDOM_DIGITS)
    );
  }

  private randomUint32(): number {
    if (this.poolOffset + 4 > this.pool.length) {
      this.pool = this.random(RANDOM_POOL_BYTES);
      this.poolOffset = 0;
    }
    const value = this.pool.readUInt32BE(this.poolOffset);
    this.poolOffset += 4;
    return value;
  }
}

function base36(value: number, digits: number): string {
  return value.toString(36).padStart(digits, '0').slice(-digits);
}
