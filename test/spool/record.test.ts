import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRecord, encodeRecord, newRecord } from '../../src/spool/record.js';
import { sampleEnvelope } from './fixtures.js';

const ID = 'abc123';
const ARRIVAL_MS = Date.parse('2026-11-26T10:00:00Z');

test('a new record has every recipient pending and the first attempt due at arrival', () => {
  const record = newRecord(ID, sampleEnvelope(['b@example.net', 'c@example.net']), ARRIVAL_MS, 42);
  assert.equal(record.version, 1);
  assert.equal(record.arrival, '2026-11-26T10:00:00.000Z');
  assert.equal(record.nextAttempt, record.arrival);
  assert.equal(record.size, 42);
  assert.equal(record.attempts, 0);
  assert.equal(record.delayWarningSent, false);
  assert.deepEqual(record.recipients, [
    { address: 'b@example.net', state: 'pending', attempts: 0, lastReply: null, history: [] },
    { address: 'c@example.net', state: 'pending', attempts: 0, lastReply: null, history: [] },
  ]);
});

test('encode then decode gives the same record back', () => {
  const record = newRecord(ID, sampleEnvelope(), ARRIVAL_MS, 7);
  const decoded = decodeRecord(encodeRecord(record), ID);
  assert.deepEqual(decoded, { ok: true, record });
});

test('a signed message keeps its DKIM-Signature fields through encode and decode', () => {
  const dkimSignature = 'DKIM-Signature: v=1; a=ed25519-sha256; d=example.org; s=ed;\r\n b=abc=\r\n';
  const record = newRecord(ID, { ...sampleEnvelope(), dkimSignature }, ARRIVAL_MS, 7);
  assert.equal(record.dkimSignature, dkimSignature);
  assert.deepEqual(decodeRecord(encodeRecord(record), ID), { ok: true, record });
  assert.equal('dkimSignature' in newRecord(ID, sampleEnvelope(), ARRIVAL_MS, 7), false);
});

test('a REQUIRETLS or TLS-Required: No tag survives encode and decode; records without it stay readable', () => {
  for (const tlsRequirement of ['requiretls', 'tls-required-no'] as const) {
    const record = newRecord(ID, { ...sampleEnvelope(), tlsRequirement }, ARRIVAL_MS, 7);
    assert.equal(record.tlsRequirement, tlsRequirement);
    assert.deepEqual(decodeRecord(encodeRecord(record), ID), { ok: true, record });
  }
  const older = newRecord(ID, sampleEnvelope(), ARRIVAL_MS, 7);
  assert.equal('tlsRequirement' in older, false);
  assert.deepEqual(decodeRecord(encodeRecord(older), ID), { ok: true, record: older });
});

test('decode rejects malformed records with a reason', () => {
  const valid = JSON.parse(encodeRecord(newRecord(ID, sampleEnvelope(), ARRIVAL_MS, 7))) as Record<string, unknown>;
  const recipient = (valid['recipients'] as Array<Record<string, unknown>>)[0];
  const cases: ReadonlyArray<[string, string, RegExp]> = [
    ['not JSON', '{"version":1', /not JSON/],
    ['an array', '[]', /not an object/],
    ['unknown version', JSON.stringify({ ...valid, version: 2 }), /unknown version 2/],
    ['id mismatch', JSON.stringify({ ...valid, id: 'other' }), /does not match/],
    ['negative size', JSON.stringify({ ...valid, size: -1 }), /size/],
    ['bad arrival', JSON.stringify({ ...valid, arrival: 'yesterday' }), /arrival/],
    ['bad body type', JSON.stringify({ ...valid, body: 'BINARYMIME' }), /body/],
    ['client missing', JSON.stringify({ ...valid, client: undefined }), /client/],
    ['no recipients', JSON.stringify({ ...valid, recipients: [] }), /recipients/],
    ['signature not header text', JSON.stringify({ ...valid, dkimSignature: 'DKIM-Signature: x\r\n\r\nbody' }), /dkimSignature/],
    ['signature without CRLF', JSON.stringify({ ...valid, dkimSignature: 'DKIM-Signature: x' }), /dkimSignature/],
    ['unknown TLS requirement', JSON.stringify({ ...valid, tlsRequirement: 'always' }), /tlsRequirement is not requiretls or tls-required-no/],
    ['bad state', JSON.stringify({ ...valid, recipients: [{ ...recipient, state: 'sent' }] }), /recipients\[0\]: state/],
    ['lastExchange not lines', JSON.stringify({ ...valid, recipients: [{ ...recipient, lastExchange: [1] }] }), /recipients\[0\]: lastExchange is not an array of strings/],
    [
      'bad history',
      JSON.stringify({ ...valid, recipients: [{ ...recipient, history: [{ at: 'x', reply: '250' }] }] }),
      /history\[0\]/,
    ],
  ];
  for (const [name, text, reason] of cases) {
    const decoded = decodeRecord(text, ID);
    assert.equal(decoded.ok, false, name);
    if (!decoded.ok) assert.match(decoded.problem, reason, name);
  }
});
