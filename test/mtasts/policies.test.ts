// Which MTA-STS policy applies (RFC 8461 §3.3, §5.1), with the real resolver,
// the test DNS server, a local HTTPS policy server and the cache in a temp
// spool folder: first fetch, cache hits, restarts, id changes, failed refreshes, expiry.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpsPolicyFetcher } from '../../src/mtasts/fetcher.js';
import { FETCH_RETRY_DELAY_MS, MtaStsPolicies, type StsLookup } from '../../src/mtasts/policies.js';
import { PolicyFolder } from '../../src/mtasts/store.js';
import { startDnsServer, type TestDnsServer, type Zones } from '../helpers/dns-server.js';
import { resolverFor } from '../helpers/dns-resolver-setup.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog, type MemoryLog } from '../helpers/memory-log.js';
import { policyText, PolicyServer } from '../helpers/policy-server.js';
import { makeTestCa } from '../helpers/test-ca.js';

const DOMAINS = ['first.test', 'restart.test', 'change.test', 'keep.test', 'gone.test', 'ageing.test', 'html.test', 'redirect.test', 'bad.test', 'big.test', 'servfail.test', 'broken.test', 'twice.test', 'mode-none.test'];

let dns: TestDnsServer;
let server: PolicyServer;
let caCert: string;
let spool: string;

/** TXT answers are not cached (TTL 0), so a changed record is seen at once. */
function stsRecord(domain: string, id: string): Zones {
  return { [`_mta-sts.${domain}`]: { TXT: [`v=STSv1; id=${id}`], ttl: 0 }, [`mta-sts.${domain}`]: { A: ['127.0.0.1'], ttl: 0 } };
}

before(async () => {
  const ca = await makeTestCa();
  caCert = ca.cert;
  server = await PolicyServer.start(await ca.issue(DOMAINS.map((domain) => `mta-sts.${domain}`)));
  dns = await startDnsServer({ zones: Object.assign({}, ...DOMAINS.map((domain) => stsRecord(domain, '1'))) as Zones, negativeTtlSeconds: 0 });
  spool = await mkdtemp(join(tmpdir(), 'outpost-mta-sts-'));
});
after(async () => {
  await server.close();
  await dns.close();
  await rm(spool, { recursive: true, force: true });
});

interface Setup {
  readonly policies: MtaStsPolicies;
  readonly clock: ManualClock;
  readonly log: MemoryLog;
  readonly failures: string[];
}

function policiesFor(clock = new ManualClock(), folder = join(spool, 'mta-sts')): Setup {
  const { resolver } = resolverFor([dns], { clock });
  const log = memoryLog('debug');
  const failures: string[] = [];
  const policies = new MtaStsPolicies({
    resolver,
    fetcher: new HttpsPolicyFetcher({ resolver, ipv6: false, clock, port: server.port, ca: [caCert], timeoutMs: 10_000 }),
    cache: new PolicyFolder(folder),
    clock,
    logger: log.logger,
    observer: { policyFetchFailed: (domain) => failures.push(domain) },
  });
  return { policies, clock, log, failures };
}

const lookup = (setup: Setup, domain: string): Promise<StsLookup> => setup.policies.lookup(domain, new AbortController().signal);

function requestsFor(domain: string): number {
  return server.requests.filter((request) => request.host === `mta-sts.${domain}`).length;
}

function summary(found: StsLookup): unknown {
  return found.kind === 'policy' ? { id: found.id, mode: found.policy.mode, mx: found.policy.mx, source: found.source } : { none: found.reason };
}

describe('the MTA-STS policy of a destination', () => {
  it('is fetched on first use, written to the spool, then served from the cache without HTTP', async () => {
    server.serve('first.test', policyText('enforce', ['mx1.first.test', '*.first.test'], 86_400));
    const setup = policiesFor();
    assert.deepEqual(summary(await lookup(setup, 'first.test')), { id: '1', mode: 'enforce', mx: ['mx1.first.test', '*.first.test'], source: 'fetched' });
    assert.deepEqual(summary(await lookup(setup, 'first.test')), { id: '1', mode: 'enforce', mx: ['mx1.first.test', '*.first.test'], source: 'cached' });
    assert.equal(requestsFor('first.test'), 1);
    const stored = JSON.parse(await readFile(join(spool, 'mta-sts', 'first.test.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(stored, { domain: 'first.test', id: '1', fetchedAt: new Date(setup.clock.now()).toISOString(), mode: 'enforce', mx: ['mx1.first.test', '*.first.test'], maxAge: 86_400 });
    assert.equal(setup.log.messages('mta-sts policy fetched')[0]?.['domain'], 'first.test');
  });

  it('survives a restart: a new instance reads the spool file and fetches nothing', async () => {
    server.serve('restart.test', policyText('enforce', ['mx.restart.test']));
    const clock = new ManualClock();
    await lookup(policiesFor(clock), 'restart.test');
    clock.advance(60_000);
    const restarted = policiesFor(clock);
    const found = await lookup(restarted, 'restart.test');
    assert.deepEqual(summary(found), { id: '1', mode: 'enforce', mx: ['mx.restart.test'], source: 'cached' });
    assert.equal(found.kind === 'policy' ? found.fetchedAtMs : 0, clock.now() - 60_000);
    assert.equal(requestsFor('restart.test'), 1);
  });

  it('is fetched again in the background when the TXT id changes, the cached one applying meanwhile', async () => {
    server.serve('change.test', policyText('testing', ['old.change.test']));
    const setup = policiesFor();
    await lookup(setup, 'change.test');
    Object.assign(dns.zones, stsRecord('change.test', '2'));
    server.serve('change.test', policyText('enforce', ['new.change.test']));
    assert.deepEqual(summary(await lookup(setup, 'change.test')), { id: '1', mode: 'testing', mx: ['old.change.test'], source: 'cached' });
    await setup.policies.idle();
    assert.equal(requestsFor('change.test'), 2);
    assert.deepEqual(summary(await lookup(setup, 'change.test')), { id: '2', mode: 'enforce', mx: ['new.change.test'], source: 'cached' });
    const stored = JSON.parse(await readFile(join(spool, 'mta-sts', 'change.test.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual([stored['id'], stored['mode']], ['2', 'enforce']);
  });

  it('keeps a valid cached policy when the refresh fails, and does not fetch that id again for five minutes', async () => {
    server.serve('keep.test', policyText('enforce', ['mx.keep.test']));
    const setup = policiesFor();
    await lookup(setup, 'keep.test');
    Object.assign(dns.zones, stsRecord('keep.test', '2'));
    server.serve('keep.test', 'oops', { status: 500 });
    await lookup(setup, 'keep.test');
    await setup.policies.idle();
    assert.deepEqual(summary(await lookup(setup, 'keep.test')), { id: '1', mode: 'enforce', mx: ['mx.keep.test'], source: 'cached' });
    const warned = setup.log.messages('mta-sts policy refresh failed, keeping the cached policy');
    assert.equal(warned.length, 1);
    assert.match(String(warned[0]?.['reason']), /HTTP 500/);
    assert.deepEqual(setup.failures, ['keep.test']);
    await setup.policies.idle();
    assert.equal(requestsFor('keep.test'), 2, 'not fetched again at once');
    setup.clock.advance(FETCH_RETRY_DELAY_MS);
    server.serve('keep.test', policyText('enforce', ['mx2.keep.test']));
    await lookup(setup, 'keep.test');
    await setup.policies.idle();
    assert.deepEqual(summary(await lookup(setup, 'keep.test')), { id: '2', mode: 'enforce', mx: ['mx2.keep.test'], source: 'cached' });
  });

  it('applies a cached policy whose record has gone until its max_age, then none', async () => {
    server.serve('gone.test', policyText('enforce', ['mx.gone.test'], 3_600));
    const setup = policiesFor();
    await lookup(setup, 'gone.test');
    delete dns.zones['_mta-sts.gone.test'];
    assert.deepEqual(summary(await lookup(setup, 'gone.test')), { id: '1', mode: 'enforce', mx: ['mx.gone.test'], source: 'cached' });
    setup.clock.advance(3_600_000);
    assert.deepEqual(summary(await lookup(setup, 'gone.test')), { none: 'no TXT record at _mta-sts.gone.test' });
    assert.equal(requestsFor('gone.test'), 1);
  });

  it('is refreshed in the background once half its max_age has passed', async () => {
    server.serve('ageing.test', policyText('enforce', ['mx.ageing.test'], 600));
    const setup = policiesFor();
    await lookup(setup, 'ageing.test');
    setup.clock.advance(299_000);
    await lookup(setup, 'ageing.test');
    await setup.policies.idle();
    assert.equal(requestsFor('ageing.test'), 1);
    setup.clock.advance(1_000);
    const stale = await lookup(setup, 'ageing.test');
    await setup.policies.idle();
    assert.equal(requestsFor('ageing.test'), 2);
    const fresh = await lookup(setup, 'ageing.test');
    assert.ok(stale.kind === 'policy' && fresh.kind === 'policy' && fresh.fetchedAtMs > stale.fetchedAtMs);
  });

  it('is none when the only fetch fails: wrong Content-Type, redirect, malformed, oversized', async () => {
    server.serve('html.test', policyText('enforce', ['mx.html.test']), { contentType: 'text/html' });
    server.serve('redirect.test', '', { status: 302, headers: { location: 'https://elsewhere.test/' } });
    server.serve('bad.test', 'version: STSv1\nmode: enforce\nmax_age: 86400\n');
    server.serve('big.test', `${policyText('enforce', ['mx.big.test'])}${'#'.repeat(70_000)}`, { chunked: true });
    const setup = policiesFor();
    const reasons = await Promise.all(['html.test', 'redirect.test', 'bad.test', 'big.test'].map(async (domain) => summary(await lookup(setup, domain))));
    assert.deepEqual(
      reasons.map((reason) => String((reason as { none?: string }).none).replace(/^(?:malformed policy at )?https:\/\/mta-sts\.[a-z]+\.test\/\.well-known\/mta-sts\.txt: /, '')),
      ['Content-Type "text/html", not text/plain', 'HTTP 302 redirect to https://elsewhere.test/ (redirects are not followed)', 'mode enforce needs at least one mx', 'the policy is more than 65536 bytes'],
    );
    assert.equal(setup.log.messages('mta-sts policy fetch failed').length, 4);
    assert.equal(setup.failures.length, 4);
  });

  it('is none, without a fetch, for several STSv1 records or a malformed one', async () => {
    dns.zones['_mta-sts.twice.test'] = { TXT: ['v=STSv1; id=1', 'v=STSv1; id=2', 'v=spf1 -all'], ttl: 0 };
    dns.zones['_mta-sts.broken.test'] = { TXT: ['v=STSv1; id=not-valid!'], ttl: 0 };
    const setup = policiesFor();
    assert.deepEqual(summary(await lookup(setup, 'twice.test')), { none: '2 v=STSv1 records at _mta-sts.twice.test (there must be one)' });
    assert.match(String((summary(await lookup(setup, 'broken.test')) as { none: string }).none), /^malformed record at _mta-sts\.broken\.test: id=not-valid! is not 1-32 letters and digits$/);
    assert.equal(requestsFor('twice.test') + requestsFor('broken.test'), 0);
  });

  it('keeps applying a cached policy when the TXT lookup fails', async () => {
    server.serve('servfail.test', policyText('enforce', ['mx.servfail.test']));
    const setup = policiesFor();
    await lookup(setup, 'servfail.test');
    dns.faults['_mta-sts.servfail.test'] = { kind: 'servfail' };
    assert.deepEqual(summary(await lookup(setup, 'servfail.test')), { id: '1', mode: 'enforce', mx: ['mx.servfail.test'], source: 'cached' });
    const fresh = policiesFor(new ManualClock(), join(spool, 'empty'));
    assert.match(String((summary(await lookup(fresh, 'servfail.test')) as { none: string }).none), /TXT lookup of _mta-sts\.servfail\.test: servfail/);
    delete dns.faults['_mta-sts.servfail.test'];
  });

  it('shares one fetch among concurrent lookups, and reads a mode none policy as found', async () => {
    server.serve('mode-none.test', 'version: STSv1\nmode: none\nmax_age: 86400\n');
    const setup = policiesFor();
    const all = await Promise.all([1, 2, 3].map(() => lookup(setup, 'mode-none.test')));
    assert.deepEqual(all.map(summary), [1, 2, 3].map(() => ({ id: '1', mode: 'none', mx: [], source: 'fetched' })));
    assert.equal(requestsFor('mode-none.test'), 1);
  });

  it('ignores a broken cache file (logged) and fetches the policy again', async () => {
    const folder = join(spool, 'broken-cache');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'first.test.json'), '{"domain": "first.test", "id": 7');
    const setup = policiesFor(new ManualClock(), folder);
    const before = requestsFor('first.test');
    assert.equal((await lookup(setup, 'first.test')).kind, 'policy');
    assert.equal(requestsFor('first.test'), before + 1);
    assert.match(String(setup.log.messages('mta-sts cached policy unreadable')[0]?.['reason']), /first\.test\.json is not JSON/);
    assert.equal(JSON.parse(await readFile(join(folder, 'first.test.json'), 'utf8')).id, '1');
  });
});
