import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QUEUE_ID_LENGTH, QueueIdGenerator, validateId } from '../../src/spool/queue-id.js';
import { ManualClock } from '../helpers/manual-clock.js';

test('validateId accepts alphanumeric ids and rejects anything that could name another file', () => {
  const cases: ReadonlyArray<[string, boolean]> = [
    ['0mhx8k2a0000abc123', true],
    ['ABCxyz09', true],
    ['', false],
    ['..', false],
    ['../etc/passwd', false],
    ['a/b', false],
    ['abc.json', false],
    ['abc\u0000', false],
    ['abc def', false],
    ['ábc', false],
    ['a'.repeat(65), false],
  ];
  for (const [id, valid] of cases) assert.equal(validateId(id), valid, JSON.stringify(id));
});

test('ids are alphanumeric, fixed length, unique and sorted in creation order within one millisecond', () => {
  const generator = new QueueIdGenerator(new ManualClock());
  const ids = Array.from({ length: 5000 }, () => generator.next());
  for (const id of ids) {
    assert.ok(validateId(id), id);
    assert.equal(id.length, QUEUE_ID_LENGTH);
  }
  assert.ok(QUEUE_ID_LENGTH >= 12 && QUEUE_ID_LENGTH <= 20);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids);
});

test('ids sort by time and stay ordered when the clock steps back', () => {
  const clock = new ManualClock();
  const generator = new QueueIdGenerator(clock);
  const first = generator.next();
  clock.advance(1500);
  const second = generator.next();
  clock.setNow(clock.now() - 60_000);
  const third = generator.next();
  assert.ok(first < second && second < third, [first, second, third].join(' '));
});

test('two generators at the same instant (two processes) differ by their random part', () => {
  let seed = 0;
  const random = (byteCount: number): Buffer => Buffer.alloc(byteCount, (seed += 1));
  const clock = new ManualClock();
  const a = new QueueIdGenerator(clock, random).next();
  const b = new QueueIdGenerator(clock, random).next();
  assert.notEqual(a, b);
});
