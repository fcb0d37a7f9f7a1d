// Test helper: a real CachingResolver over a real DnsClient pointed at test
// DNS servers, with a manual clock to drive timeouts and TTLs; `dnssec` trusts their AD bit.

import { DnsClient } from '../../src/dns/client.js';
import { CachingResolver } from '../../src/dns/resolver.js';
import type { DnsCacheOptions } from '../../src/dns/cache.js';
import type { DnsResult, RecordType } from '../../src/dns/types.js';
import { ManualClock } from './manual-clock.js';
import type { TestDnsServer } from './dns-server.js';

export interface ResolverUnderTest {
  readonly clock: ManualClock;
  readonly client: DnsClient;
  readonly resolver: CachingResolver;
}

export function resolverFor(
  servers: readonly { address: string; port: number }[],
  options: { clock?: ManualClock; timeoutMs?: number; attempts?: number; totalTimeoutMs?: number; cache?: DnsCacheOptions; dnssec?: boolean } = {},
): ResolverUnderTest {
  const clock = options.clock ?? new ManualClock();
  const client = new DnsClient({
    servers: servers.map((server) => ({ host: server.address, port: server.port })),
    clock,
    timeoutMs: options.timeoutMs ?? 1000,
    attempts: options.attempts ?? 2,
    ...(options.totalTimeoutMs === undefined ? {} : { totalTimeoutMs: options.totalTimeoutMs }),
    dnssecOk: options.dnssec ?? false,
  });
  const resolver = new CachingResolver({ client, clock, validating: options.dnssec ?? false, ...(options.cache === undefined ? {} : { cache: options.cache }) });
  return { clock, client, resolver };
}

/**
 * Runs a lookup against a `silent` server that never answers: each time that
 * server has received the next query and the try's timer is armed, the fake
 * clock jumps `stepMs`. No sleeping; other servers answer on their own.
 */
export async function lookupAdvancing<T extends RecordType>(
  setup: ResolverUnderTest,
  silent: TestDnsServer,
  name: string,
  type: T,
  stepMs: number,
): Promise<DnsResult<T>> {
  let done = false;
  const pending = setup.resolver.lookup(name, type).finally(() => {
    done = true;
  });
  const already = silent.queries.filter((query) => query.name === name).length;
  for (let tries = 1; !done; tries += 1) {
    await Promise.race([silent.waitForQueries(already + tries, name).then(() => setup.clock.waitForTimers(1)), pending]);
    if (!done) setup.clock.advance(stepMs);
  }
  return pending;
}
