// Next-hop plans (RFC 5321 §5.1, RFC 7505) from the in-process DNS server:
// routes, MX order and shuffling, implicit MX, failures with status codes,
// the loop guard and the caps.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { planDelivery, type DeliveryPlan, type NextHopOptions } from '../../src/dns/next-hop.js';
import { startDnsServer, type TestDnsServer, type Zones } from '../helpers/dns-server.js';
import { resolverFor } from '../helpers/dns-resolver-setup.js';

function many(prefix: string, count: number): Zones {
  const table: Zones = { [`${prefix}.example`]: { MX: [] } };
  for (let index = 0; index < count; index += 1) {
    table[`${prefix}${index}.example`] = { A: [`127.0.1.${index + 1}`], AAAA: [`::1:${index + 1}`] };
    table[`${prefix}.example`]?.MX?.push({ preference: index, exchange: `${prefix}${index}.example` });
  }
  return table;
}

const zones: Zones = {
  'mx.example': { MX: [{ preference: 20, exchange: 'b.mx.example' }, { preference: 10, exchange: 'a.mx.example' }], ttl: 100 },
  'a.mx.example': { A: ['127.0.0.2'], AAAA: ['::2'], ttl: 50 },
  'b.mx.example': { A: ['127.0.0.3', '127.0.0.4'] },
  'equal.example': { MX: ['p', 'q', 'r', 's'].map((label) => ({ preference: 5, exchange: `${label}.equal.example` })) },
  ...Object.fromEntries(['p', 'q', 'r', 's'].map((label, index) => [`${label}.equal.example`, { A: [`127.0.2.${index + 1}`] }])),
  'implicit.example': { A: ['127.0.0.5'], AAAA: ['::5'], TXT: ['no mx here'] },
  'bare.example': { TXT: ['no mx, no address'] },
  'null.example': { MX: [{ preference: 0, exchange: '.' }], A: ['127.0.0.6'] },
  'skip.example': { MX: [{ preference: 1, exchange: '127.0.0.9' }, { preference: 5, exchange: 'noaddr.skip.example' }, { preference: 9, exchange: 'ok.skip.example' }] },
  'noaddr.skip.example': { TXT: ['x'] },
  'ok.skip.example': { A: ['127.0.0.7'] },
  'dead.example': { MX: [{ preference: 1, exchange: 'noaddr.skip.example' }, { preference: 2, exchange: 'nx.dead.example' }] },
  'tempfail.example': { MX: [{ preference: 1, exchange: 'broken.example' }] },
  'self.example': { MX: [{ preference: 5, exchange: 'better.example' }, { preference: 10, exchange: 'mail.outpost.test' }, { preference: 10, exchange: 'peer.example' }, { preference: 20, exchange: 'worse.example' }] },
  'selfonly.example': { MX: [{ preference: 10, exchange: 'mail.outpost.test' }, { preference: 20, exchange: 'worse.example' }] },
  'selfaddr.example': { MX: [{ preference: 10, exchange: 'alias-of-us.example' }, { preference: 20, exchange: 'worse.example' }] },
  'better.example': { A: ['127.0.0.11'] },
  'peer.example': { A: ['127.0.0.12'] },
  'worse.example': { A: ['127.0.0.13'] },
  'alias-of-us.example': { A: ['127.0.0.1'] },
  'relay.example': { A: ['127.0.0.20'], AAAA: ['::20'] },
  ...many('wide', 12),
  'fat.example': { MX: [{ preference: 1, exchange: 'fat1.example' }, { preference: 2, exchange: 'fat2.example' }] },
  'fat1.example': { A: Array.from({ length: 15 }, (_, index) => `127.0.3.${index + 1}`) },
  'fat2.example': { A: Array.from({ length: 15 }, (_, index) => `127.0.4.${index + 1}`) },
};

describe('next-hop plans', () => {
  let server: TestDnsServer;
  before(async () => {
    server = await startDnsServer({ zones, faults: { 'gone.example': { kind: 'nxdomain' }, 'broken.example': { kind: 'servfail' }, 'down.example': { kind: 'servfail', types: ['MX'] }, 'mute.example': { kind: 'silence' } } });
  });
  after(() => server.close());

  const options = (overrides: Partial<NextHopOptions> = {}): NextHopOptions => ({
    resolver: resolverFor([server]).resolver,
    port: 25,
    self: { hostnames: ['mail.outpost.test'], endpoints: [{ address: '127.0.0.1', port: 25 }] },
    randomInt: () => 0,
    ...overrides,
  });
  const hostsOf = (plan: DeliveryPlan): string[] => (plan.ok ? plan.hosts.map((host) => host.host) : []);
  const failureOf = (plan: DeliveryPlan): [boolean, string] | undefined => (plan.ok ? undefined : [plan.permanent, plan.status]);

  it('orders MX hosts by preference, each with A and AAAA addresses and TTLs', async () => {
    const plan = await planDelivery('MX.example', options());
    assert.deepEqual(plan, {
      ok: true,
      domain: 'mx.example',
      source: 'mx',
      hosts: [
        { host: 'a.mx.example', preference: 10, port: 25, addresses: ['127.0.0.2', '::2'], ttlSeconds: 50 },
        { host: 'b.mx.example', preference: 20, port: 25, addresses: ['127.0.0.3', '127.0.0.4'], ttlSeconds: 100 },
      ],
    });
  });

  it('gives up with a temporary 4.4.3 when aborted while a lookup is pending', async () => {
    const setup = resolverFor([server]);
    const controller = new AbortController();
    const planning = planDelivery('mute.example', options({ resolver: setup.resolver, signal: controller.signal }));
    await server.waitForQueries(1, 'mute.example');
    controller.abort();
    const plan = await planning;
    assert.deepEqual(failureOf(plan), [false, '4.4.3']);
    assert.match(plan.ok ? '' : plan.reason, /aborted/);
    const already = await planDelivery('mx.example', options({ signal: AbortSignal.abort() }));
    assert.deepEqual(failureOf(already), [false, '4.4.3']);
    // The abandoned lookup runs out on its own: two tries of 1 s on the manual clock.
    for (let tries = 0; tries < 2; tries += 1) {
      await setup.clock.waitForTimers(1);
      setup.clock.advance(1000);
    }
  });

  it('leaves out IPv6 addresses when dns.ipv6 is off', async () => {
    const plan = await planDelivery('mx.example', options({ ipv6: false }));
    assert.deepEqual(plan.ok && plan.hosts[0]?.addresses, ['127.0.0.2']);
  });

  it('shuffles equal preferences with the injected randomness', async () => {
    const first = hostsOf(await planDelivery('equal.example', options({ randomInt: () => 0 })));
    const last = hostsOf(await planDelivery('equal.example', options({ randomInt: (max) => max - 1 })));
    assert.equal(first.length, 4);
    assert.deepEqual([...first].sort(), [...last].sort());
    assert.notDeepEqual(first, last);
  });

  it('uses the domain itself at preference 0 when it has no MX (implicit MX)', async () => {
    const plan = await planDelivery('implicit.example', options());
    assert.deepEqual(plan.ok && [plan.source, plan.hosts], ['implicit', [{ host: 'implicit.example', preference: 0, port: 25, addresses: ['127.0.0.5', '::5'], ttlSeconds: 300 }]]);
  });

  const failures: [string, string, boolean, string, Partial<NextHopOptions>?][] = [
    ['NXDOMAIN', 'gone.example', true, '5.1.2'],
    ['a nonexistent name', 'nothing.example', true, '5.1.2'],
    ['null MX', 'null.example', true, '5.1.10'],
    ['SERVFAIL on MX', 'down.example', false, '4.4.3'],
    ['no MX and no address', 'bare.example', true, '5.4.4'],
    ['every MX host without an address', 'dead.example', false, '4.4.3'],
    ['MX host lookups failing', 'tempfail.example', false, '4.4.3'],
    ['only MX hosts naming us', 'selfonly.example', true, '5.4.6'],
    ['an MX host at our address and port', 'selfaddr.example', true, '5.4.6'],
    ['an invalid domain', 'bad..example', true, '5.1.2'],
  ];
  for (const [what, domain, permanent, status] of failures) {
    it(`fails ${permanent ? 'permanently' : 'temporarily'} with ${status} for ${what}`, async () => {
      assert.deepEqual(failureOf(await planDelivery(domain, options())), [permanent, status]);
    });
  }

  it('never resolves hosts for a null MX', async () => {
    await planDelivery('null.example', options());
    assert.equal(server.queries.some((query) => query.name === 'null.example' && query.type !== 'MX'), false);
  });

  it('says "null MX" and "mail loops back to myself"', async () => {
    const nullMx = await planDelivery('null.example', options());
    assert.equal(!nullMx.ok && nullMx.reason, 'null MX');
    const loop = await planDelivery('selfonly.example', options());
    assert.equal(!loop.ok && loop.reason, 'mail loops back to myself');
  });

  it('skips IP-literal MX targets and MX hosts without addresses', async () => {
    assert.deepEqual(hostsOf(await planDelivery('skip.example', options())), ['ok.skip.example']);
  });

  it('keeps only MX hosts strictly better than the best one naming us', async () => {
    assert.deepEqual(hostsOf(await planDelivery('self.example', options())), ['better.example']);
  });

  it('does not take a host on our address but another port for us', async () => {
    const plan = await planDelivery('selfaddr.example', options({ port: 2525 }));
    assert.deepEqual(hostsOf(plan), ['alias-of-us.example', 'worse.example']);
  });

  it('caps a plan at 10 hosts and 20 addresses', async () => {
    const wide = await planDelivery('wide.example', options());
    assert.equal(wide.ok && wide.hosts.length, 10);
    assert.equal(wide.ok && wide.hosts.reduce((sum, host) => sum + host.addresses.length, 0), 20);
    const fat = await planDelivery('fat.example', options());
    assert.deepEqual(fat.ok && fat.hosts.map((host) => host.addresses.length), [15, 5]);
  });

  it('uses delivery.routes first: a host name resolved by A/AAAA, or an IP, with its port', async () => {
    const routes = new Map([
      ['mx.example', { host: 'relay.example', port: 2525 }],
      ['implicit.example', { host: '127.0.0.30', port: 26 }],
      ['gone.example', { host: 'nowhere.example', port: 25 }],
    ]);
    const named = await planDelivery('mx.example', options({ routes }));
    assert.deepEqual(named.ok && [named.source, named.hosts], ['route', [{ host: 'relay.example', preference: 0, port: 2525, addresses: ['127.0.0.20', '::20'], ttlSeconds: 300 }]]);
    const literal = await planDelivery('implicit.example', options({ routes }));
    assert.deepEqual(literal.ok && literal.hosts[0]?.addresses, ['127.0.0.30']);
    assert.deepEqual(failureOf(await planDelivery('gone.example', options({ routes }))), [false, '4.4.3']);
  });

  it('delivers an address literal to that address', async () => {
    const plan = await planDelivery('[127.0.0.40]', options());
    assert.deepEqual(plan.ok && [plan.source, plan.hosts[0]?.addresses], ['literal', ['127.0.0.40']]);
  });
});
