// The wire decoder never throws: truncated, corrupted and random input all
// become error values; RDLENGTH must match the record data.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { decodeMessage, encodeQuery } from '../../src/dns/wire.js';
import { seededRandom } from '../helpers/seeded-random.js';

function sampleResponse(): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: 4242,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.AUTHENTIC_DATA,
    questions: [{ type: 'MX', name: 'example.net' }],
    answers: [
      { type: 'MX', name: 'example.net', ttl: 300, data: { preference: 10, exchange: 'mx1.example.net' } },
      { type: 'TXT', name: 'example.net', ttl: 300, data: ['hello', 'world'] },
    ],
    authorities: [{ type: 'SOA', name: 'example.net', ttl: 60, data: { mname: 'ns.example.net', rname: 'h.example.net', minimum: 30 } }],
    additionals: [{ type: 'A', name: 'mx1.example.net', ttl: 300, data: '127.0.0.2' }],
  });
}

describe('DNS wire decoding', () => {
  it('decodes a well-formed response with flags, sections and the AD bit', () => {
    const decoded = decodeMessage(sampleResponse());
    assert.equal(decoded.ok, true);
    if (!decoded.ok) return;
    assert.equal(decoded.message.id, 4242);
    assert.equal(decoded.message.authenticated, true);
    assert.deepEqual(decoded.message.answers.map((record) => record.data), [{ preference: 10, exchange: 'mx1.example.net' }, ['hello', 'world']]);
    assert.equal(decoded.message.authorities[0]?.type, 'SOA');
    assert.equal(decoded.message.additionals[0]?.data, '127.0.0.2');
  });

  it('encodes queries with RD, AD and an OPT record advertising 1232 bytes', () => {
    const query = dnsPacket.decode(encodeQuery(7, 'example.net', 'MX'));
    assert.equal(query.flag_rd, true);
    assert.equal(query.flag_ad, true);
    const opt = query.additionals?.[0];
    assert.equal(opt?.type === 'OPT' && opt.udpPayloadSize, 1232);
  });

  it('turns every truncation of a valid message into an error value', () => {
    const full = sampleResponse();
    for (let length = 0; length < full.length; length += 1) {
      const decoded = decodeMessage(full.subarray(0, length));
      assert.equal(decoded.ok, false, `length ${length}`);
    }
  });

  it('never throws on corrupted or random bytes', () => {
    const random = seededRandom(20261126);
    const full = sampleResponse();
    for (let round = 0; round < 3000; round += 1) {
      const mutated = Buffer.from(full);
      for (let flips = 0; flips < 1 + Math.floor(random() * 4); flips += 1) mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
      assert.doesNotThrow(() => decodeMessage(mutated));
      const noise = Buffer.from(Array.from({ length: Math.floor(random() * 80) }, () => Math.floor(random() * 256)));
      assert.doesNotThrow(() => decodeMessage(noise));
    }
  });

  it('rejects a record whose data does not use exactly RDLENGTH bytes', () => {
    const packet = dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'a.example' }], answers: [{ type: 'A', name: 'a.example', ttl: 1, data: '127.0.0.1' }] });
    const longer = Buffer.concat([packet, Buffer.from([0])]);
    longer.writeUInt16BE(5, packet.length - 6);
    const decoded = decodeMessage(longer);
    assert.equal(decoded.ok, false);
    assert.match(decoded.ok ? '' : decoded.reason, /RDLENGTH/);
  });

  it('rejects a compression pointer to itself', () => {
    const header = dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'a.example' }] });
    header.writeUInt16BE(1, 6);
    const record = Buffer.from([0xc0, header.length, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 127, 0, 0, 1]);
    const decoded = decodeMessage(Buffer.concat([header, record]));
    assert.equal(decoded.ok, false);
    assert.equal(decoded.ok ? undefined : decoded.id, 1);
  });
});
