// `outpost resolve` shows the TLS of an MX plan: the MTA-STS policy (mode, mx
// patterns, cached in the spool or fetched) and each MX host's requirement, a
// delivery.tlsPolicy entry, or why no policy applies; routes keep their own TLS.
// And what a REQUIRETLS message (RFC 8689) would do: the hosts it may use, or the bounce.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { runCliCaptured } from '../helpers/run-cli.js';

let dns: TestDnsServer;
let folder: string;
const FETCHED_AT = new Date(Date.now() - 3_600_000).toISOString();

before(async () => {
  dns = await startDnsServer({
    zones: {
      'sts.test': { MX: [{ preference: 10, exchange: 'mx1.sts.test' }, { preference: 20, exchange: 'backup.other.test' }] },
      'mx1.sts.test': { A: ['192.0.2.10'] },
      'backup.other.test': { A: ['192.0.2.20'] },
      '_mta-sts.sts.test': { TXT: ['v=STSv1; id=20260101'] },
      'unreachable.test': { MX: [{ preference: 10, exchange: 'mx.unreachable.test' }] },
      'mx.unreachable.test': { A: ['192.0.2.30'] },
      '_mta-sts.unreachable.test': { TXT: ['v=STSv1; id=1'] },
      'pinned.test': { MX: [{ preference: 10, exchange: 'mx.pinned.test' }] },
      'mx.pinned.test': { A: ['192.0.2.40'] },
    },
  });
  folder = await mkdtemp(join(tmpdir(), 'outpost-resolve-tls-'));
  await writeFile(join(folder, 'domains'), 'outpost.test\n');
  const spool = join(folder, 'spool');
  await mkdir(join(spool, 'mta-sts'), { recursive: true });
  const cached = { domain: 'sts.test', id: '20260101', fetchedAt: FETCHED_AT, mode: 'enforce', mx: ['*.sts.test'], maxAge: 604_800 };
  await writeFile(join(spool, 'mta-sts', 'sts.test.json'), JSON.stringify(cached));
  await writeFile(
    join(folder, 'outpost.yaml'),
    [
      'hostname: mail.outpost.test',
      'domains: domains',
      'listen: [{ address: 127.0.0.1, port: 25, mode: mta }]',
      `spoolDir: ${spool}`,
      `dns: { servers: ["127.0.0.1:${dns.port}"], timeout: 2s, ipv6: false }`,
      'delivery: { tlsPolicy: { pinned.test: encrypt }, routes: { routed.test: "mx1.sts.test:2525" } }',
      'http: false',
      '',
    ].join('\n'),
  );
});
after(async () => {
  await dns.close();
  await rm(folder, { recursive: true, force: true });
});

const resolve = (...args: string[]): ReturnType<typeof runCliCaptured> => runCliCaptured(['resolve', ...args, '--config', 'outpost.yaml'], { cwd: folder });

describe('outpost resolve and outbound TLS', () => {
  it('shows the cached MTA-STS policy and what it means per MX host (--json)', async () => {
    const run = await resolve('sts.test', '--json');
    assert.equal(run.exitCode, 0, run.stderr);
    const plan = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.deepEqual(plan['tls'], {
      policy: 'mta-sts',
      level: 'verify',
      mtaSts: {
        found: true,
        mode: 'enforce',
        id: '20260101',
        mx: ['*.sts.test'],
        maxAge: 604_800,
        source: 'cached',
        fetchedAt: FETCHED_AT,
        expires: new Date(Date.parse(FETCHED_AT) + 604_800_000).toISOString(),
      },
      dane: { on: false, reason: 'dns.dnssec is false: no DNSSEC validation, no TLSA lookups' },
      hosts: [
        { host: 'mx1.sts.test', tls: 'verify', inPolicy: true },
        { host: 'backup.other.test', tls: 'skip', inPolicy: false },
      ],
    });
  });

  it('prints the policy and the hosts in text', async () => {
    const run = await resolve('sts.test');
    assert.match(run.stdout, /\n {2}DANE: off \(dns\.dnssec is false: no DNSSEC validation, no TLSA lookups\)\n {2}TLS: MTA-STS enforce \(id 20260101, max_age 604800s, cached, valid until \S+\); mx: \*\.sts\.test\n {4}mx1\.sts\.test: TLS required, certificate verified for the MX name\n {4}backup\.other\.test: skipped \(not in the MTA-STS policy\)\n {2}REQUIRETLS: /);
  });

  it('says why no policy applies when the policy cannot be fetched', async () => {
    const run = await resolve('unreachable.test', '--json');
    const tls = (JSON.parse(run.stdout) as { tls: Record<string, unknown> }).tls;
    assert.deepEqual([tls['policy'], tls['level']], ['default', 'may']);
    assert.match(String((tls['mtaSts'] as { reason: string }).reason), /^https:\/\/mta-sts\.unreachable\.test\/\.well-known\/mta-sts\.txt: cannot resolve mta-sts\.unreachable\.test/);
    assert.match((await resolve('unreachable.test')).stdout, /\n {2}TLS: opportunistic \(no MTA-STS policy: https:\/\/mta-sts\.unreachable\.test\S+: cannot resolve/);
  });

  it('shows a delivery.tlsPolicy entry, and that a route keeps its own TLS', async () => {
    const pinned = JSON.parse((await resolve('pinned.test', '--json')).stdout) as { tls: unknown };
    assert.deepEqual(pinned.tls, { policy: 'tlsPolicy', level: 'encrypt', dane: { on: false, reason: 'dns.dnssec is false: no DNSSEC validation, no TLSA lookups' }, hosts: [{ host: 'mx.pinned.test', tls: 'encrypt' }] });
    assert.match((await resolve('pinned.test')).stdout, /TLS: delivery\.tlsPolicy encrypt \(MTA-STS not consulted\)\n {4}mx\.pinned\.test: TLS required, certificate not checked\n {2}REQUIRETLS: /);
    const routed = await resolve('routed.test');
    assert.match(routed.stdout, /TLS: the route's own \(delivery\.routes bypass MTA-STS and delivery\.tlsPolicy\)\n {2}REQUIRETLS: /);
    assert.equal((JSON.parse((await resolve('routed.test', '--json')).stdout) as Record<string, unknown>)['tls'], undefined);
    // The tlsPolicy entry hides MTA-STS from ordinary mail only: REQUIRETLS still asks (pinned.test); routes never.
    assert.ok(!dns.queries.some((query) => query.name === '_mta-sts.routed.test'));
  });
});

describe('outpost resolve and REQUIRETLS', () => {
  const requireTlsOf = async (domain: string): Promise<unknown> => (JSON.parse((await resolve(domain, '--json')).stdout) as Record<string, unknown>)['requiretls'];

  it('names the MX hosts an MTA-STS policy in enforce mode authenticates', async () => {
    assert.deepEqual(await requireTlsOf('sts.test'), { deliverable: true, basis: 'mta-sts', hosts: ['mx1.sts.test'] });
    assert.match((await resolve('sts.test')).stdout, /\n {2}REQUIRETLS: deliverable via mx1\.sts\.test \(MTA-STS enforce\) if it offers REQUIRETLS after STARTTLS with a certificate valid for its name; else bounced 5\.7\.10 \/ 5\.7\.30\n$/);
  });

  it('says a REQUIRETLS message would bounce without an authenticated MX, and through a route that does not verify', async () => {
    assert.deepEqual(await requireTlsOf('unreachable.test'), {
      deliverable: false,
      status: '5.7.10',
      result: 'mx-not-authenticated',
      reason: 'the MX hosts of unreachable.test are not authenticated: the MX answer is not DNSSEC-secure and no MTA-STS policy in enforce mode names them',
    });
    assert.match((await resolve('pinned.test')).stdout, /\n {2}REQUIRETLS: would bounce 5\.7\.10: the MX hosts of pinned\.test are not authenticated/);
    assert.match((await resolve('routed.test')).stdout, /\n {2}REQUIRETLS: would bounce 5\.7\.10: route routed\.test does not require verified TLS/);
  });
});
