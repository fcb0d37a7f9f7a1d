// Which route a destination takes: its own, else "*" (address literals too),
// else MX; the plan names the route key, and the transport's lane for a
// destination follows the same rule.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planDelivery, routeKeyOf, type NextHopOptions } from '../../src/dns/next-hop.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { resolverFor } from '../helpers/dns-resolver-setup.js';
import { routeConfig, routedTransport } from './route-fixtures.js';

describe('routes in delivery plans', () => {
  let server: TestDnsServer;
  before(async () => {
    server = await startDnsServer({
      zones: {
        'smarthost.example': { A: ['127.0.0.50'] },
        'own.example': { A: ['127.0.0.51'] },
        'mx.example': { MX: [{ preference: 10, exchange: 'mx1.mx.example' }] },
        'mx1.mx.example': { A: ['127.0.0.52'] },
      },
    });
  });
  after(() => server.close());

  const options = (routes: NextHopOptions['routes']): NextHopOptions => ({
    resolver: resolverFor([server]).resolver,
    port: 25,
    self: { hostnames: ['mail.outpost.test'], endpoints: [] },
    randomInt: () => 0,
    ...(routes === undefined ? {} : { routes }),
  });

  const routes = new Map([
    ['*', { host: 'smarthost.example', port: 587 }],
    ['own.test', { host: 'own.example', port: 2525 }],
  ]);

  it('sends a domain without a route of its own through "*" and names the route in the plan', async () => {
    const plan = await planDelivery('Anything.Example', options(routes));
    assert.deepEqual(plan, {
      ok: true,
      domain: 'anything.example',
      source: 'route',
      route: '*',
      hosts: [{ host: 'smarthost.example', preference: 0, port: 587, addresses: ['127.0.0.50'], ttlSeconds: 300 }],
    });
  });

  it('prefers a domain route over "*", and sends address literals through "*"', async () => {
    const own = await planDelivery('own.test', options(routes));
    assert.deepEqual(own.ok && [own.route, own.hosts[0]?.port], ['own.test', 2525]);
    const literal = await planDelivery('[192.0.2.9]', options(routes));
    assert.deepEqual(literal.ok && [literal.source, literal.route, literal.hosts[0]?.host], ['route', '*', 'smarthost.example']);
  });

  it('uses MX (no route key) without a matching route', async () => {
    const plan = await planDelivery('mx.example', options(new Map([['own.test', { host: 'own.example', port: 25 }]])));
    assert.deepEqual(plan.ok && [plan.source, plan.route, plan.hosts[0]?.host], ['mx', undefined, 'mx1.mx.example']);
  });

  it('finds route keys the same way for lanes', () => {
    assert.equal(routeKeyOf('own.test', routes), 'own.test');
    assert.equal(routeKeyOf('other.test', routes), '*');
    assert.equal(routeKeyOf('[127.0.0.1]', routes), '*');
    assert.equal(routeKeyOf('other.test', new Map([['own.test', 1]])), undefined);
    const { transport } = routedTransport(routeConfig(25, { maxConnections: 2 }));
    assert.deepEqual([transport.lane('a.test')?.key, transport.lane('b.test')?.maxSessions], ['route:*', 2]);
    assert.equal(transport.lane('a.test'), transport.lane('b.test'), 'one lane object per route');
  });
});
