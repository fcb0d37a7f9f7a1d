import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDurationMs, parseSizeBytes } from '../../src/config/units.js';
import { splitHostPort } from '../../src/config/endpoints.js';

const DURATIONS: ReadonlyArray<readonly [unknown, number | undefined]> = [
  [30, 30_000],
  [0, 0],
  [1.5, 1500],
  ['30', 30_000],
  ['30s', 30_000],
  ['250ms', 250],
  ['5m', 300_000],
  ['2h', 7_200_000],
  ['5d', 432_000_000],
  ['1.5h', 5_400_000],
  [' 10 s ', 10_000],
  ['5M', 300_000],
  ['5x', undefined],
  ['-5s', undefined],
  [-1, undefined],
  ['', undefined],
  ['m', undefined],
  [true, undefined],
  [null, undefined],
  [['5m'], undefined],
  [Number.POSITIVE_INFINITY, undefined],
];

for (const [raw, expectedMs] of DURATIONS) {
  test(`duration ${JSON.stringify(raw)} is ${expectedMs === undefined ? 'rejected' : `${expectedMs} ms`}`, () => {
    const outcome = parseDurationMs(raw);
    if (expectedMs === undefined) {
      assert.equal(outcome.ok, false);
      if (!outcome.ok) assert.match(outcome.problem, /is not a duration \(use seconds or 30s, 5m, 2h, 5d\)/);
    } else {
      assert.deepEqual(outcome, { ok: true, value: expectedMs });
    }
  });
}

const SIZES: ReadonlyArray<readonly [unknown, number | undefined]> = [
  [1000, 1000],
  ['1000', 1000],
  ['512B', 512],
  ['1K', 1024],
  ['1k', 1024],
  ['1KB', 1024],
  ['1KiB', 1024],
  ['512KB', 524_288],
  ['10M', 10_485_760],
  ['10MB', 10_485_760],
  ['25mb', undefined],
  ['10Mb', undefined],
  ['512b', undefined],
  ['10kB', 10_240],
  ['1GiB', 1_073_741_824],
  ['1GB', 1_073_741_824],
  ['1.5MB', 1_572_864],
  ['10XB', undefined],
  ['MB', undefined],
  [-1, undefined],
  [1.5, undefined],
  [false, undefined],
];

test('a lowercase b (bits) is refused with the spelling to use instead', () => {
  assert.deepEqual(parseSizeBytes('10Mb'), { ok: false, problem: '"10Mb" is ambiguous: "b" means bits; write 10MB for bytes' });
  assert.deepEqual(parseSizeBytes('2kib'), { ok: false, problem: '"2kib" is ambiguous: "b" means bits; write 2KiB for bytes' });
});

for (const [raw, expectedBytes] of SIZES) {
  test(`size ${JSON.stringify(raw)} is ${expectedBytes === undefined ? 'rejected' : `${expectedBytes} bytes`} (1024-based)`, () => {
    const outcome = parseSizeBytes(raw);
    if (expectedBytes === undefined) assert.equal(outcome.ok, false);
    else assert.deepEqual(outcome, { ok: true, value: expectedBytes });
  });
}

const HOST_PORTS: ReadonlyArray<readonly [string, { host: string; port: number | undefined } | undefined]> = [
  ['10.0.0.2', { host: '10.0.0.2', port: undefined }],
  ['10.0.0.2:5353', { host: '10.0.0.2', port: 5353 }],
  ['[::1]:53', { host: '::1', port: 53 }],
  ['[2001:db8::1]', { host: '2001:db8::1', port: undefined }],
  ['2001:db8::1', { host: '2001:db8::1', port: undefined }],
  ['relay.example.net:2525', { host: 'relay.example.net', port: 2525 }],
  ['relay.example.net', { host: 'relay.example.net', port: undefined }],
  ['host:65536', undefined],
  ['host:', undefined],
  ['host:x', undefined],
  ['[example.com]:25', undefined],
  ['[::1', undefined],
  [':25', undefined],
  ['a:b:c', undefined],
];

for (const [text, expected] of HOST_PORTS) {
  test(`host/port ${JSON.stringify(text)} is ${expected === undefined ? 'rejected' : 'split'}`, () => {
    const outcome = splitHostPort(text);
    if (expected === undefined) assert.equal(outcome.ok, false);
    else assert.deepEqual(outcome, { ok: true, value: expected });
  });
}
