// Configuration of the PROXY protocol per listener (`proxyProtocol`, `proxyFrom`) and the Docker
// open-relay guard: a trustedNetworks entry containing the default gateway is refused by serve and
// check-config unless `trustGateway: true`.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { ConfigErrors } from '../../src/core/errors.js';
import { runCliCaptured } from '../helpers/run-cli.js';
import { minimalYaml, TempConfigs } from './temp-config.js';

const temp = new TempConfigs();
after(() => temp.removeAll());

/** The gateways of a container on Docker's default bridge with IPv6 enabled. */
const DOCKER_GATEWAYS = ['172.17.0.1', 'fd00::1'];

async function problemsOf(yaml: string, options: { env?: Record<string, string>; gateways?: readonly string[] } = {}): Promise<string[]> {
  const folder = await temp.write({ domains: 'example.org\n', 'outpost.yaml': yaml });
  const file = join(folder, 'outpost.yaml');
  const gateways = options.gateways;
  try {
    await loadConfig(file, options.env ?? {}, gateways === undefined ? {} : { defaultGateways: () => Promise.resolve(gateways) });
    return [];
  } catch (error: unknown) {
    assert.ok(error instanceof ConfigErrors, String(error));
    return error.problems.map((problem) => problem.message.replace(`${folder}/`, ''));
  }
}

async function configOf(yaml: string, gateways: readonly string[] = []) {
  const folder = await temp.write({ domains: 'example.org\n', 'outpost.yaml': yaml });
  return loadConfig(join(folder, 'outpost.yaml'), {}, { defaultGateways: () => Promise.resolve(gateways) });
}

describe('proxyProtocol and proxyFrom on a listener', () => {
  it('keeps the balancers of a PROXY listener as CIDRs; other listeners have none', async () => {
    const config = await configOf(
      minimalYaml(
        'listen:',
        '  - { address: 0.0.0.0, port: 25, mode: mta, proxyProtocol: true, proxyFrom: [10.0.0.5, "2001:db8::/64"] }',
        '  - { address: 127.0.0.1, port: 2525, mode: mta, proxyProtocol: false }',
      ),
    );
    assert.deepEqual(config.listen, [
      { address: '0.0.0.0', port: 25, mode: 'mta', proxyFrom: ['10.0.0.5/32', '2001:db8::/64'] },
      { address: '127.0.0.1', port: 2525, mode: 'mta' },
    ]);
    assert.ok(Object.isFrozen(config.listen[0]?.proxyFrom));
  });

  const broken: [string, string[], string[]][] = [
    [
      'proxyProtocol without proxyFrom',
      ['listen:', '  - address: 0.0.0.0', '    port: 25', '    mode: mta', '    proxyProtocol: true'],
      ['outpost.yaml:7: listen[0].proxyProtocol: proxyProtocol: true needs proxyFrom: [CIDR...], the addresses of the load balancers allowed to send PROXY headers'],
    ],
    [
      'proxyFrom without proxyProtocol',
      ['listen:', '  - { address: 0.0.0.0, port: 25, mode: mta, proxyFrom: [10.0.0.5] }'],
      ['outpost.yaml:4: listen[0].proxyFrom: proxyFrom is only used with proxyProtocol: true (add it, or remove proxyFrom)'],
    ],
    [
      'proxyFrom with proxyProtocol: false',
      ['listen:', '  - { address: 0.0.0.0, port: 25, mode: mta, proxyProtocol: false, proxyFrom: [10.0.0.5] }'],
      ['outpost.yaml:4: listen[0].proxyFrom: proxyFrom is only used with proxyProtocol: true (add it, or remove proxyFrom)'],
    ],
    [
      'an empty proxyFrom',
      ['listen:', '  - { address: 0.0.0.0, port: 25, mode: mta, proxyProtocol: true, proxyFrom: [] }'],
      ['outpost.yaml:4: listen[0].proxyFrom: the list is empty; give at least one item'],
    ],
    [
      'a bad network in proxyFrom',
      ['listen:', '  - address: 0.0.0.0', '    port: 25', '    mode: mta', '    proxyProtocol: true', '    proxyFrom:', '      - 10.0.0.5', '      - 10.0.0.0/33'],
      ['outpost.yaml:10: listen[0].proxyFrom[1]: "10.0.0.0/33" is not a network (use CIDR like 10.0.0.0/8 or ::1/128)'],
    ],
    [
      'proxyProtocol that is not true or false',
      ['listen:', '  - { address: 0.0.0.0, port: 25, mode: mta, proxyProtocol: "yes", proxyFrom: [10.0.0.5] }'],
      ['outpost.yaml:4: listen[0].proxyProtocol: "yes" is not true or false'],
    ],
    [
      'a misspelt key',
      ['listen:', '  - { address: 0.0.0.0, port: 25, mode: mta, proxyProtocol: true, proxyfrom: [10.0.0.5] }'],
      [
        'outpost.yaml:4: listen[0].proxyfrom: unknown key (did you mean proxyFrom?)',
        'outpost.yaml:4: listen[0].proxyProtocol: proxyProtocol: true needs proxyFrom: [CIDR...], the addresses of the load balancers allowed to send PROXY headers',
      ],
    ],
  ];
  for (const [what, lines, expected] of broken) {
    it(`refuses ${what}, naming file, line and key`, async () => {
      assert.deepEqual(await problemsOf(minimalYaml(...lines)), expected);
    });
  }
});

describe('trustedNetworks and the default gateway', () => {
  const refusal = (index: number, entry: string, gateway: string): RegExp =>
    new RegExp(`^outpost\\.yaml:\\d+: trustedNetworks\\[${index}\\]: ${entry.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} contains ${gateway.replace(/\./g, '\\.')}, this machine's default gateway: .*open relay.*trustGateway: true`);

  it('refuses an entry containing the Docker bridge gateway, with the line of the entry', async () => {
    const problems = await problemsOf(minimalYaml('trustedNetworks:', '  - 127.0.0.0/8', '  - 172.16.0.0/12'), { gateways: DOCKER_GATEWAYS });
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0] ?? '', refusal(1, '172.16.0.0/12', '172.17.0.1'));
    assert.match(problems[0] ?? '', /^outpost\.yaml:5: /);
  });

  it('refuses the gateway itself, everything (0.0.0.0/0) and an IPv6 network holding the IPv6 gateway', async () => {
    const problems = await problemsOf(minimalYaml('trustedNetworks: [172.17.0.1, 0.0.0.0/0, "fd00::/8", 10.0.0.0/8, "::/0"]'), { gateways: DOCKER_GATEWAYS });
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.match(problems[0] ?? '', refusal(0, '172.17.0.1/32', '172.17.0.1'));
    assert.match(problems[1] ?? '', refusal(1, '0.0.0.0/0', '172.17.0.1'));
    assert.match(problems[2] ?? '', refusal(2, 'fd00::/8', 'fd00::1'));
    assert.match(problems[3] ?? '', refusal(4, '::/0', 'fd00::1'));
  });

  it('refuses ::/0 on an IPv4-only machine too: the relay rule matches IPv4 clients against it', async () => {
    const problems = await problemsOf(minimalYaml('trustedNetworks: ["::/0"]'), { gateways: ['172.17.0.1'] });
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0] ?? '', refusal(0, '::/0', '172.17.0.1'));
  });

  it('names the environment variable when trustedNetworks came from there', async () => {
    const problems = await problemsOf(minimalYaml(), { env: { OUTPOST_TRUSTED_NETWORKS: '127.0.0.0/8,172.17.0.0/16' }, gateways: DOCKER_GATEWAYS });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^environment: OUTPOST_TRUSTED_NETWORKS: 172\.17\.0\.0\/16 contains 172\.17\.0\.1/);
  });

  it('allows it with trustGateway: true (or OUTPOST_TRUST_GATEWAY=true)', async () => {
    assert.deepEqual(await problemsOf(minimalYaml('trustedNetworks: [172.17.0.0/16]', 'trustGateway: true'), { gateways: DOCKER_GATEWAYS }), []);
    assert.deepEqual(await problemsOf(minimalYaml('trustedNetworks: [172.17.0.0/16]'), { gateways: DOCKER_GATEWAYS, env: { OUTPOST_TRUST_GATEWAY: 'true' } }), []);
    assert.equal((await configOf(minimalYaml('trustGateway: true'))).trustGateway, true);
  });

  it('never fires for loopback, on a machine without a default route, or for networks beside the gateway', async () => {
    const loopbackOnly = minimalYaml('trustedNetworks: [127.0.0.0/8, "::1/128", 172.18.0.0/16]');
    assert.deepEqual(await problemsOf(loopbackOnly, { gateways: DOCKER_GATEWAYS }), []);
    assert.deepEqual(await problemsOf(minimalYaml('trustedNetworks: [0.0.0.0/0]'), { gateways: [] }), []);
    assert.deepEqual(await problemsOf(minimalYaml('trustedNetworks: [127.0.0.0/8, "::/0"]'), { gateways: ['127.0.0.1', '::1'] }), []);
  });

  it('is not judged by commands other than serve and check-config (no reader given)', async () => {
    assert.deepEqual(await problemsOf(minimalYaml('trustedNetworks: [0.0.0.0/0]')), []);
  });
});

describe('the commands', () => {
  const yaml = minimalYaml('listen: [{ address: 127.0.0.1, port: 0, mode: mta }]', 'trustedNetworks: [127.0.0.0/8, 172.16.0.0/12]');

  it('check-config prints the gateway problem and exits 1', async () => {
    const folder = await temp.write({ domains: 'example.org\n', 'outpost.yaml': yaml });
    const result = await runCliCaptured(['check-config', '--config', 'outpost.yaml'], { cwd: folder, defaultGateways: DOCKER_GATEWAYS });
    assert.equal(result.exitCode, 1);
    assert.match(result.stderr, /outpost\.yaml:4: trustedNetworks\[1\]: 172\.16\.0\.0\/12 contains 172\.17\.0\.1, this machine's default gateway/);
    const fine = await runCliCaptured(['check-config', '--config', 'outpost.yaml'], { cwd: folder, defaultGateways: [] });
    assert.equal(fine.exitCode, 0, fine.stderr);
  });

  it('serve refuses to start', async () => {
    const folder = await temp.write({ domains: 'example.org\n', 'outpost.yaml': yaml });
    const result = await runCliCaptured(['serve', '--config', 'outpost.yaml'], { cwd: folder, env: { OUTPOST_SPOOL_DIR: join(folder, 'spool') }, defaultGateways: DOCKER_GATEWAYS });
    assert.equal(result.exitCode, 1);
    assert.match(result.stderr, /^outpost serve: invalid configuration\n.*trustedNetworks\[1\]: 172\.16\.0\.0\/12 contains 172\.17\.0\.1/);
  });
});
