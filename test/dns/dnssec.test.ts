// DNSSEC status through the resolver (RFC 4035 §3.2.3, RFC 3225, RFC 7672 §2.2):
// the DO bit, answers secure only from a trusted validating server with AD,
// host addresses and MX plans carrying that status, against the in-process DNS server.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DnsClient } from '../../src/dns/client.js';
import { hostAddresses } from '../../src/dns/host-addresses.js';
import { planDelivery } from '../../src/dns/next-hop.js';
import { CachingResolver } from '../../src/dns/resolver.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { ManualClock } from '../helpers/manual-clock.js';

const zones = {
  'signed.example': { MX: [{ preference: 10, exchange: 'mx.signed.example' }], secure: true },
  'mx.signed.example': { A: ['127.0.0.2'], AAAA: ['::1'], secure: true },
  'mixed.example': { MX: [{ preference: 10, exchange: 'mx.unsigned.example' }], secure: true },
  'mx.unsigned.example': { A: ['127.0.0.3'], secure: false },
  'bare.example': { A: ['127.0.0.4'], secure: true },
  'unsigned.example': { MX: [{ preference: 10, exchange: 'mx.signed.example' }], secure: false },
};

function resolver(server: TestDnsServer, validating: boolean): CachingResolver {
  const clock = new ManualClock();
  const client = new DnsClient({ servers: [{ host: server.address, port: server.port }], clock, timeoutMs: 1000, dnssecOk: validating });
  return new CachingResolver({ client, clock, validating });
}

describe('DNSSEC status of answers', () => {
  let server: TestDnsServer;

  before(async () => {
    server = await startDnsServer({ zones, authenticated: false, faults: { 'mx.signed.example': { kind: 'servfail', types: ['AAAA'] } } });
  });
  after(async () => {
    await server.close();
  });

  it('sets the EDNS DO bit only when validating, and marks AD answers secure only then', async () => {
    const validating = await resolver(server, true).lookup('signed.example', 'MX');
    assert.equal(server.queries.at(-1)?.dnssecOk, true);
    assert.deepEqual(validating.kind === 'ok' && [validating.authenticated, validating.secure], [true, true]);
    const trusting = await resolver(server, false).lookup('signed.example', 'MX');
    assert.equal(server.queries.at(-1)?.dnssecOk, false);
    assert.deepEqual(trusting.kind === 'ok' && [trusting.authenticated, trusting.secure], [true, false], 'AD from an untrusted server is not secure');
  });

  it('marks answers without AD insecure, and secure denials secure', async () => {
    const lookups = resolver(server, true);
    const insecure = await lookups.lookup('mx.unsigned.example', 'A');
    assert.equal(insecure.kind === 'ok' && insecure.secure, false);
    const denial = await lookups.lookup('_25._tcp.mx.signed.example', 'TLSA');
    assert.deepEqual([denial.kind, 'secure' in denial && denial.secure], ['nxdomain', true]);
  });

  it('calls host addresses secure when every answer was, a failed lookup not counting', async () => {
    const lookups = resolver(server, true);
    const signed = await hostAddresses(lookups, 'mx.signed.example', true);
    assert.deepEqual(signed.kind === 'addresses' && [signed.addresses, signed.secure], [['127.0.0.2'], true]);
    const unsigned = await hostAddresses(lookups, 'mx.unsigned.example', true);
    assert.equal(unsigned.kind === 'addresses' && unsigned.secure, false);
  });

  it('records the MX RRset and address status in the plan (implicit MX: the secure denial of MX)', async () => {
    const lookups = resolver(server, true);
    const options = { resolver: lookups, port: 25, self: { hostnames: ['outpost.test'], endpoints: [] }, randomInt: () => 0 };
    const signed = await planDelivery('signed.example', options);
    assert.deepEqual(signed.ok && [signed.mxSecure, signed.hosts.map((host) => host.addressesSecure)], [true, [true]]);
    const mixed = await planDelivery('mixed.example', options);
    assert.deepEqual(mixed.ok && [mixed.mxSecure, mixed.hosts.map((host) => host.addressesSecure)], [true, [undefined]]);
    const bare = await planDelivery('bare.example', options);
    assert.deepEqual(bare.ok && [bare.source, bare.mxSecure, bare.hosts.map((host) => host.addressesSecure)], ['implicit', true, [true]]);
    const unsigned = await planDelivery('unsigned.example', options);
    assert.equal(unsigned.ok && unsigned.mxSecure, undefined);
  });
});
