// Interop with a real DNS server: Debian's dnsmasq serves a test zone and
// `outpost resolve` (runCli in-process, real config file) prints the plans.
// dnsmasq must be installed (package dnsmasq-base); the test fails otherwise.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDnsmasq, type RunningDnsmasq } from '../helpers/dns-dnsmasq.js';
import { runCliCaptured, type CliRun } from '../helpers/run-cli.js';

const RECORDS = [
  '--local=/test/',
  '--local-ttl=300',
  '--mx-host=example.test,mx1.example.test,10',
  '--mx-host=example.test,mx2.example.test,20',
  '--mx-host=example.test,mx3.example.test,20',
  '--host-record=mx1.example.test,127.0.0.2,::2',
  '--host-record=mx2.example.test,127.0.0.3',
  '--host-record=mx3.example.test,127.0.0.4',
  '--cname=alias.test,example.test',
  // dnsmasq's --mx-host cannot name the root, so the null MX is a raw RR: preference 0, exchange ".".
  '--dns-rr=nullmx.test,15,000000',
  '--host-record=nomx.test,127.0.0.5,::5',
  '--mx-host=loop.test,self.test,10',
  '--host-record=self.test,127.0.0.1',
  '--txt-record=txtonly.test,"v=spf1 -all"',
];

describe('outpost resolve against dnsmasq', () => {
  let dnsmasq: RunningDnsmasq;
  let folder: string;
  let configFile: string;

  before(async () => {
    dnsmasq = await startDnsmasq(RECORDS);
    folder = await mkdtemp(join(tmpdir(), 'outpost-resolve-'));
    configFile = join(folder, 'outpost.yaml');
    await writeFile(join(folder, 'domains'), 'outpost.test\n');
    await writeFile(
      configFile,
      [
        'hostname: mail.outpost.test',
        'domains: domains',
        'listen: [{ address: 127.0.0.1, port: 25, mode: mta }]',
        `spoolDir: ${join(folder, 'spool')}`,
        `dns: { servers: ["127.0.0.1:${dnsmasq.port}"], timeout: 2s }`,
        'delivery: { routes: { routed.test: "mx2.example.test:2525" } }',
        'http: false',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await dnsmasq?.close();
    if (folder !== undefined) await rm(folder, { recursive: true, force: true });
  });

  async function resolve(...args: string[]): Promise<CliRun> {
    return runCliCaptured(['resolve', ...args, '--config', configFile], { cwd: folder });
  }

  async function resolveJson(domain: string): Promise<{ code: number; json: unknown }> {
    const run = await resolve(domain, '--json');
    return { code: run.exitCode, json: JSON.parse(run.stdout) as unknown };
  }

  it('prints MX hosts by preference with A and AAAA addresses; equal preferences both present', async () => {
    const { code, json } = await resolveJson('example.test');
    assert.equal(code, 0);
    const plan = json as { domain: string; ok: boolean; hosts: { host: string; preference: number; addresses: string[]; ttl: number; port: number }[] };
    assert.equal(plan.domain, 'example.test');
    assert.equal(plan.ok, true);
    assert.deepEqual(plan.hosts[0], { host: 'mx1.example.test', preference: 10, addresses: ['127.0.0.2', '::2'], port: 25, ttl: 300 });
    assert.deepEqual(plan.hosts.slice(1).map((host) => [host.host, host.preference]).sort(), [['mx2.example.test', 20], ['mx3.example.test', 20]]);
  });

  it('follows a CNAME to the MX records', async () => {
    const { code, json } = await resolveJson('alias.test');
    assert.equal(code, 0);
    assert.deepEqual((json as { hosts: { host: string }[] }).hosts.map((host) => host.host).slice(0, 1), ['mx1.example.test']);
  });

  it('falls back to the implicit MX for a domain without MX', async () => {
    assert.deepEqual(await resolveJson('nomx.test'), {
      code: 0,
      json: {
        domain: 'nomx.test',
        ok: true,
        source: 'implicit',
        hosts: [{ host: 'nomx.test', preference: 0, addresses: ['127.0.0.5', '::5'], port: 25, ttl: 300 }],
        tls: {
          policy: 'default',
          level: 'may',
          mtaSts: { found: false, reason: 'no TXT record at _mta-sts.nomx.test' },
          dane: { on: false, reason: 'dns.dnssec is false: no DNSSEC validation, no TLSA lookups' },
          hosts: [{ host: 'nomx.test', tls: 'may' }],
        },
        requiretls: { deliverable: true, basis: 'domain', hosts: ['nomx.test'] },
      },
    });
  });

  it('reports a null MX as permanent 5.1.10', async () => {
    assert.deepEqual(await resolveJson('nullmx.test'), { code: 1, json: { domain: 'nullmx.test', ok: false, permanent: true, status: '5.1.10', reason: 'null MX' } });
  });

  it('reports NXDOMAIN as permanent 5.1.2', async () => {
    const { code, json } = await resolveJson('nx.test');
    assert.equal(code, 1);
    assert.deepEqual([(json as { ok: boolean }).ok, (json as { permanent: boolean }).permanent, (json as { status: string }).status], [false, true, '5.1.2']);
  });

  it('reports mail to ourselves as permanent 5.4.6', async () => {
    const { code, json } = await resolveJson('loop.test');
    assert.equal(code, 1);
    assert.deepEqual(json, { domain: 'loop.test', ok: false, permanent: true, status: '5.4.6', reason: 'mail loops back to myself' });
  });

  it('uses delivery.routes before MX', async () => {
    const { json } = await resolveJson('routed.test');
    assert.deepEqual(json, {
      domain: 'routed.test',
      ok: true,
      source: 'route',
      hosts: [{ host: 'mx2.example.test', preference: 0, addresses: ['127.0.0.3'], port: 2525, ttl: 300 }],
      requiretls: { deliverable: false, status: '5.7.10', result: 'validation-failure', reason: 'route routed.test does not require verified TLS (tls: starttls or implicit with verify: true)' },
    });
  });

  it('prints a readable plan without --json', async () => {
    const run = await resolve('example.test');
    assert.equal(run.exitCode, 0);
    assert.match(run.stdout, /^example\.test: 3 hosts \(mx\)\n {2}mx1\.example\.test {2}preference 10 {2}port 25 {2}ttl 300s\n {4}127\.0\.0\.2\n {4}::2\n/);
    const failed = await resolve('nullmx.test');
    assert.equal(failed.stdout, 'nullmx.test: permanent failure 5.1.10: null MX\n');
  });

  it('exits 2 on usage errors', async () => {
    assert.equal((await resolve()).exitCode, 2);
    assert.equal((await resolve('a.test', 'b.test')).exitCode, 2);
    assert.equal((await resolve('a.test', '--bogus')).exitCode, 2);
  });
});
