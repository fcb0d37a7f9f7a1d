// The outbound TLS keys: delivery.tlsPolicy (domain -> dane|verify|encrypt|may|none;
// dane only with dns.dnssec), dns.dnssec (only with dns.servers), delivery.mtaSts and
// delivery.caFile, from YAML and from the environment, with errors naming the file, line and key.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { ConfigErrors } from '../../src/core/errors.js';
import { minimalYaml, TempConfigs } from './temp-config.js';

const temp = new TempConfigs();
after(() => temp.removeAll());
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

async function load(yaml: string, env: Record<string, string> = {}, files: Record<string, string> = {}): Promise<{ config: Config; folder: string }> {
  const folder = await temp.write({ domains: 'example.org\n', ...files, 'outpost.yaml': yaml });
  return { config: await loadConfig(join(folder, 'outpost.yaml'), env), folder };
}

async function problems(yaml: string, env: Record<string, string> = {}, files: Record<string, string> = {}): Promise<string[]> {
  const error = await load(yaml, env, files).then(
    () => assert.fail('the config was accepted'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof ConfigErrors, String(error));
  return error.problems.map((problem) => `${problem.line ?? '-'} ${problem.key ?? ''}: ${problem.problem}`);
}

describe('delivery.tlsPolicy, mtaSts and caFile', () => {
  it('reads levels per canonical domain, mtaSts and a caFile relative to the config', async () => {
    const yaml = minimalYaml('delivery:', '  tlsPolicy: { Example.COM: verify, example.net: encrypt, "bücher.example": may, legacy.example: NONE }', '  mtaSts: false', '  caFile: certs/ca.pem');
    const { config, folder } = await load(yaml, {}, { 'certs/ca.pem': PEM });
    assert.deepEqual([...config.delivery.tlsPolicy], [
      ['example.com', 'verify'],
      ['example.net', 'encrypt'],
      ['xn--bcher-kva.example', 'may'],
      ['legacy.example', 'none'],
    ]);
    assert.equal(config.delivery.mtaSts, false);
    assert.equal(config.delivery.caFile, join(folder, 'certs/ca.pem'));
    assert.throws(() => (config.delivery.tlsPolicy as Map<string, string>).set('x', 'none'), TypeError);
  });

  it('takes "" as no caFile', async () => {
    const { config } = await load(minimalYaml('delivery: { caFile: "" }'));
    assert.equal(config.delivery.caFile, undefined);
  });

  it('refuses unknown levels and bad domains, naming line and key', async () => {
    const yaml = minimalYaml('delivery:', '  tlsPolicy:', '    example.net: strict', '    "bad domain": verify');
    assert.deepEqual(await problems(yaml), [
      '5 delivery.tlsPolicy.example.net: "strict" is not one of dane, verify, encrypt, may or none',
      '6 delivery.tlsPolicy.bad domain: "bad domain" is not a valid domain',
    ]);
  });

  it('takes dane with dns.dnssec and explicit dns.servers', async () => {
    const { config } = await load(minimalYaml('dns: { servers: ["127.0.0.1:5353"], dnssec: true }', 'delivery: { tlsPolicy: { example.com: DANE } }'));
    assert.deepEqual([...config.delivery.tlsPolicy], [['example.com', 'dane']]);
    assert.equal(config.dns.dnssec, true);
    const { config: fromEnv } = await load(minimalYaml(), { OUTPOST_DNS_SERVERS: '127.0.0.1', OUTPOST_DNS_DNSSEC: 'true', OUTPOST_DELIVERY_TLS_POLICY: 'example.com=dane' });
    assert.deepEqual([fromEnv.dns.dnssec, fromEnv.delivery.tlsPolicy.get('example.com')], [true, 'dane']);
  });

  it('refuses dns.dnssec without dns.servers, and dane without dns.dnssec, naming line and key', async () => {
    assert.deepEqual(await problems(minimalYaml('dns:', '  dnssec: true')), [
      '4 dns.dnssec: needs dns.servers: the AD bit is trusted only from servers named here, which must validate DNSSEC (a local validating resolver such as unbound on 127.0.0.1), not whatever /etc/resolv.conf lists',
    ]);
    assert.deepEqual(await problems(minimalYaml('delivery:', '  tlsPolicy:', '    example.com: dane')), [
      '5 delivery.tlsPolicy.example.com: dane needs dns.dnssec: true (and dns.servers that validate DNSSEC): without it no TLSA record is ever secure',
    ]);
    assert.deepEqual(await problems(minimalYaml(), { OUTPOST_DNS_DNSSEC: 'true' }), [
      '- OUTPOST_DNS_DNSSEC: needs dns.servers: the AD bit is trusted only from servers named here, which must validate DNSSEC (a local validating resolver such as unbound on 127.0.0.1), not whatever /etc/resolv.conf lists',
    ]);
  });

  it('refuses a caFile that is missing or holds no certificate, and a tlsPolicy that is not a mapping', async () => {
    const [missing] = await problems(minimalYaml('delivery: { caFile: missing.pem }'));
    assert.match(missing ?? '', /^3 delivery\.caFile: cannot read \/\S+\/missing\.pem: no such file$/);
    const [notPem] = await problems(minimalYaml('delivery: { caFile: key.pem }'), {}, { 'key.pem': 'not a certificate\n' });
    assert.match(notPem ?? '', /^3 delivery\.caFile: cannot read \/\S+\/key\.pem: no PEM certificate in it$/);
    assert.deepEqual(await problems(minimalYaml('delivery: { tlsPolicy: verify }')), ['3 delivery.tlsPolicy: "verify" is not a mapping of domain: dane|verify|encrypt|may|none']);
  });

  it('takes all three from the environment', async () => {
    const { config, folder } = await load(minimalYaml(), { OUTPOST_DELIVERY_TLS_POLICY: 'example.com=verify, example.net=none', OUTPOST_DELIVERY_MTA_STS: 'false', OUTPOST_DELIVERY_CA_FILE: 'ca.pem' }, { 'ca.pem': PEM });
    assert.deepEqual([...config.delivery.tlsPolicy], [['example.com', 'verify'], ['example.net', 'none']]);
    assert.equal(config.delivery.mtaSts, false);
    assert.equal(config.delivery.caFile, join(folder, 'ca.pem'));
    assert.deepEqual(await problems(minimalYaml(), { OUTPOST_DELIVERY_TLS_POLICY: 'example.com' }), ['- OUTPOST_DELIVERY_TLS_POLICY: "example.com" is not domain=level']);
    assert.deepEqual(await problems(minimalYaml(), { OUTPOST_DELIVERY_TLS_POLICY: 'example.com=strict' }), ['- OUTPOST_DELIVERY_TLS_POLICY: "strict" is not one of dane, verify, encrypt, may or none']);
  });
});
