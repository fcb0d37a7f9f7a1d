// The transport with real next-hop plans from the test DNS server
// (RFC 5321 §5.1 MX order, RFC 7505 null MX): the first MX refuses, the
// second gets the mail; a null MX fails at once without a connection.

import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { planDelivery } from '../../src/dns/next-hop.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { resolverFor } from '../helpers/dns-resolver-setup.js';
import { FakeMta } from '../helpers/fake-mta.js';
import { outboundMessage, outcomeOf, runJob, transportFor } from './fixtures.js';

let dns: TestDnsServer;
let mta: FakeMta;

before(async () => {
  mta = await FakeMta.start({ host: '127.0.0.1' });
  dns = await startDnsServer({
    zones: {
      'two.test': { MX: [{ preference: 10, exchange: 'mx1.two.test' }, { preference: 20, exchange: 'mx2.two.test' }] },
      // Nothing listens on 127.0.0.2 at the fake MTA's port: the connection is refused.
      'mx1.two.test': { A: ['127.0.0.2'] },
      'mx2.two.test': { A: ['127.0.0.1'] },
      'nullmx.test': { MX: [{ preference: 0, exchange: '.' }] },
    },
  });
});
after(async () => {
  await mta.close();
  await dns.close();
});

function planner(domain: string): ReturnType<typeof planDelivery> {
  return planDelivery(domain, {
    resolver: resolverFor([dns]).resolver,
    port: mta.port,
    ipv6: false,
    self: { hostnames: ['outpost.test'], endpoints: [] },
    randomInt: () => 0,
  });
}

it('delivers to the second MX when the first refuses the connection', async () => {
  const { transport, connector } = transportFor(planner);
  const reports = await runJob(transport, 'two.test', [outboundMessage('m1', ['a@two.test'])]);
  assert.equal(outcomeOf(reports, 'm1', 'a@two.test').kind, 'delivered');
  assert.equal(reports.get('m1')?.info.mx, 'mx2.two.test');
  assert.deepEqual(connector.requests.map((request) => request.host), ['127.0.0.2', '127.0.0.1']);
  assert.equal(mta.messages.length, 1);
});

it('fails a null MX domain with 5.1.10 without connecting', async () => {
  const { transport, connector } = transportFor(planner);
  const reports = await runJob(transport, 'nullmx.test', [outboundMessage('m1', ['a@nullmx.test'])]);
  const outcome = outcomeOf(reports, 'm1', 'a@nullmx.test');
  assert.equal(outcome.kind, 'permanent');
  assert.equal(outcome.status, '5.1.10');
  assert.equal(connector.requests.length, 0);
});
