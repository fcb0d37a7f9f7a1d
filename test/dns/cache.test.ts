// TTL-honouring cache with an injected clock: expiry, remaining TTL, floor and
// ceiling, RFC 2308 negative caching, bounded size; and through the resolver.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DnsCache } from '../../src/dns/cache.js';
import { ok } from '../../src/dns/types.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { resolverFor } from '../helpers/dns-resolver-setup.js';

describe('DNS cache', () => {
  it('serves an entry until its TTL runs out, with the remaining TTL', () => {
    const clock = new ManualClock();
    const cache = new DnsCache(clock);
    cache.set('a.example', 'A', ok<'A'>(['127.0.0.1'], 60, 'a.example'));
    clock.advance(20_500);
    const cached = cache.get('a.example', 'A');
    assert.equal(cached?.kind === 'ok' && cached.ttlSeconds, 40);
    clock.advance(39_500);
    assert.equal(cache.get('a.example', 'A'), undefined);
  });

  it('raises TTLs to the floor and caps them at the ceiling', () => {
    const clock = new ManualClock();
    const cache = new DnsCache(clock, { minTtlSeconds: 30, maxTtlSeconds: 100 });
    cache.set('short.example', 'A', ok<'A'>(['127.0.0.1'], 5, 'short.example'));
    cache.set('long.example', 'A', ok<'A'>(['127.0.0.1'], 86_400, 'long.example'));
    clock.advance(29_000);
    assert.notEqual(cache.get('short.example', 'A'), undefined);
    clock.advance(71_000);
    assert.equal(cache.get('long.example', 'A'), undefined);
  });

  it('caches negatives for their SOA TTL (capped) and never caches failures', () => {
    const clock = new ManualClock();
    const cache = new DnsCache(clock, { maxNegativeTtlSeconds: 600 });
    cache.set('nx.example', 'MX', { kind: 'nxdomain', ttlSeconds: 3600, canonicalName: 'nx.example', authenticated: false, secure: false });
    cache.set('nosoa.example', 'MX', { kind: 'nodata', ttlSeconds: 0, canonicalName: 'nosoa.example', authenticated: false, secure: false });
    cache.set('fail.example', 'MX', { kind: 'servfail', reason: 'x' });
    assert.equal(cache.get('nx.example', 'MX')?.kind, 'nxdomain');
    assert.equal(cache.get('nosoa.example', 'MX'), undefined);
    assert.equal(cache.get('fail.example', 'MX'), undefined);
    clock.advance(600_000);
    assert.equal(cache.get('nx.example', 'MX'), undefined);
  });

  it('keeps at most maxEntries, dropping the least recently used', () => {
    const cache = new DnsCache(new ManualClock(), { maxEntries: 2 });
    cache.set('one.example', 'A', ok<'A'>(['127.0.0.1'], 60, 'one.example'));
    cache.set('two.example', 'A', ok<'A'>(['127.0.0.2'], 60, 'two.example'));
    cache.get('one.example', 'A');
    cache.set('three.example', 'A', ok<'A'>(['127.0.0.3'], 60, 'three.example'));
    assert.equal(cache.size, 2);
    assert.equal(cache.get('two.example', 'A'), undefined);
    assert.notEqual(cache.get('one.example', 'A'), undefined);
  });
});

describe('resolver cache', () => {
  let server: TestDnsServer;
  before(async () => {
    server = await startDnsServer({
      zones: {
        'cached.example': { A: ['127.0.0.7'], ttl: 60 },
        'zone.example': { SOA: { mname: 'ns.zone.example', rname: 'h.zone.example', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 120 }, ttl: 300 },
      },
    });
  });
  after(() => server.close());

  it('asks the server again only after the TTL expires', async () => {
    const { resolver, clock } = resolverFor([server]);
    const count = (): number => server.queries.filter((query) => query.name === 'cached.example').length;
    await resolver.lookup('cached.example', 'A');
    clock.advance(59_000);
    const second = await resolver.lookup('cached.example', 'A');
    assert.equal(second.kind === 'ok' && second.ttlSeconds, 1);
    assert.equal(count(), 1);
    clock.advance(1_000);
    await resolver.lookup('cached.example', 'A');
    assert.equal(count(), 2);
  });

  it('caches NXDOMAIN for the SOA minimum (RFC 2308)', async () => {
    const { resolver, clock } = resolverFor([server]);
    const count = (): number => server.queries.filter((query) => query.name === 'missing.zone.example').length;
    assert.equal((await resolver.lookup('missing.zone.example', 'MX')).kind, 'nxdomain');
    clock.advance(119_000);
    assert.equal((await resolver.lookup('missing.zone.example', 'MX')).kind, 'nxdomain');
    assert.equal(count(), 1);
    clock.advance(1_000);
    await resolver.lookup('missing.zone.example', 'MX');
    assert.equal(count(), 2);
  });
});
