// The queue log's record format: round trip, CRC-32 against zlib's, and a
// torn tail or a flipped bit anywhere drops exactly the records it touches.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32, tableCrc32 } from '../../src/spool/crc32.js';
import { encodeLogRecord, scanSegment, type LogRecordInput } from '../../src/spool/log-format.js';
import { commitMessage, makeTempDir, openSpool, readAll, removeDir } from './fixtures.js';

const INPUTS: readonly LogRecordInput[] = [
  { type: 'new', id: 'abc0001', recordJson: '{"id":"abc0001","x":"caf\u00e9"}', body: [Buffer.from('Subject: a\r\n\r\n'), Buffer.from('body\r\n')] },
  { type: 'update', id: 'abc0001', recordJson: '{"id":"abc0001","attempts":1}' },
  { type: 'new', id: 'abc0002', recordJson: '{"id":"abc0002"}', bodyFile: 'abc0002' },
  { type: 'new', id: 'abc0003', recordJson: '{"id":"abc0003"}', body: [] },
  { type: 'remove', id: 'abc0001' },
];

function encodeAll(inputs: readonly LogRecordInput[]): { data: Buffer; ends: number[] } {
  const ends: number[] = [];
  const parts: Buffer[] = [];
  let length = 0;
  for (const input of inputs) {
    const encoded = encodeLogRecord(input);
    parts.push(...encoded.buffers);
    length += encoded.length;
    ends.push(length);
  }
  return { data: Buffer.concat(parts), ends };
}

test('the table CRC-32 equals zlib\'s (the one Node < 20.15 uses), incrementally too', () => {
  for (const size of [0, 1, 7, 64, 1000, 65_537]) {
    const data = randomBytes(size);
    assert.equal(tableCrc32(data), crc32(data), `size ${size}`);
    const half = Math.floor(size / 2);
    assert.equal(tableCrc32(data.subarray(half), tableCrc32(data.subarray(0, half))), crc32(data));
  }
  assert.equal(tableCrc32(Buffer.from('123456789')), 0xcbf43926, 'the standard check value');
});

test('records decode back to what was encoded, with the inline body located exactly', () => {
  const { data, ends } = encodeAll(INPUTS);
  const scan = scanSegment(data);
  assert.equal(scan.problem, undefined);
  assert.equal(scan.validBytes, data.length);
  assert.deepEqual(scan.records.map((record) => [record.type, record.id, record.bodyFile, record.recordJson]), INPUTS.map((input) => [input.type, input.id, input.bodyFile, input.recordJson ?? '']));
  assert.deepEqual(scan.records.map((record) => record.offset + record.length), ends);
  const first = scan.records[0];
  assert.equal(data.toString('utf8', first?.bodyOffset, (first?.bodyOffset ?? 0) + (first?.bodyLength ?? 0)), 'Subject: a\r\n\r\nbody\r\n');
});

test('a torn tail at every byte offset keeps exactly the complete records before it', () => {
  const { data, ends } = encodeAll(INPUTS);
  for (let cut = 0; cut <= data.length; cut += 1) {
    const scan = scanSegment(data.subarray(0, cut));
    const complete = ends.filter((end) => end <= cut);
    assert.equal(scan.records.length, complete.length, `cut at ${cut}`);
    assert.equal(scan.validBytes, complete[complete.length - 1] ?? 0, `cut at ${cut}`);
    assert.equal(scan.problem === undefined, cut === scan.validBytes, `cut at ${cut}`);
  }
});

test('a flipped bit anywhere drops the record holding it and everything after', () => {
  const { data, ends } = encodeAll(INPUTS);
  for (let at = 0; at < data.length; at += 1) {
    const damaged = Buffer.from(data);
    damaged[at] = (damaged[at] ?? 0) ^ 0x10;
    const scan = scanSegment(damaged);
    const holding = ends.findIndex((end) => at < end);
    assert.equal(scan.records.length, holding, `bit flipped at ${at}`);
    assert.notEqual(scan.problem, undefined);
  }
});

test('a spool whose segment is torn at sampled offsets reopens with the messages complete before the cut', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeDir(dir));
  const spool = await openSpool(dir);
  const bodies = ['Subject: 1\r\n\r\none\r\n', 'Subject: 2\r\n\r\ntwo two\r\n', 'Subject: 3\r\n\r\nthree three three\r\n'];
  const records = [];
  for (const body of bodies) records.push(await commitMessage(spool, body));
  await spool.close();
  const [name] = await readdir(join(dir, 'log'));
  const path = join(dir, 'log', name ?? '');
  const whole = await readFile(path);
  const ends = scanSegment(whole).records.map((record) => record.offset + record.length);
  for (let cut = 0; cut <= whole.length; cut += 13) {
    await writeFile(path, whole.subarray(0, cut));
    const reopened = await openSpool(dir, { recover: false });
    const kept = ends.filter((end) => end <= cut).length;
    assert.deepEqual((await reopened.list()).map((record) => record.id), records.slice(0, kept).map((record) => record.id), `cut at ${cut}`);
    for (const [index, record] of records.slice(0, kept).entries()) assert.equal((await readAll(reopened.openBody(record.id))).toString(), bodies[index]);
    await reopened.close();
  }
});
