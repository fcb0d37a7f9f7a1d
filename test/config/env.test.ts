import { test } from 'node:test';
import assert from 'node:assert/strict';
import { envKeys, envVariableName, readEnvOverrides } from '../../src/config/env.js';

const NAMES: ReadonlyArray<readonly [string, string]> = [
  ['hostname', 'OUTPOST_HOSTNAME'],
  ['spoolDir', 'OUTPOST_SPOOL_DIR'],
  ['trustedNetworks', 'OUTPOST_TRUSTED_NETWORKS'],
  ['trustGateway', 'OUTPOST_TRUST_GATEWAY'],
  ['dns.servers', 'OUTPOST_DNS_SERVERS'],
  ['dns.ipv6', 'OUTPOST_DNS_IPV6'],
  ['dns.dnssec', 'OUTPOST_DNS_DNSSEC'],
  ['delivery.maxQueueLifetime', 'OUTPOST_DELIVERY_MAX_QUEUE_LIFETIME'],
  ['limits.maxMessageSize', 'OUTPOST_LIMITS_MAX_MESSAGE_SIZE'],
  ['limits.minFreeSpace', 'OUTPOST_LIMITS_MIN_FREE_SPACE'],
  ['tls.cert', 'OUTPOST_TLS_CERT'],
  ['http.port', 'OUTPOST_HTTP_PORT'],
  ['log.level', 'OUTPOST_LOG_LEVEL'],
  ['suppression.ttl', 'OUTPOST_SUPPRESSION_TTL'],
  ['quotas.perHour', 'OUTPOST_QUOTAS_PER_HOUR'],
  ['events.webhooks', 'OUTPOST_EVENTS_WEBHOOKS'],
];

for (const [path, variable] of NAMES) {
  test(`env: key ${path} is set by ${variable}`, () => {
    assert.equal(envVariableName(path), variable);
    assert.equal(envKeys().get(variable)?.path, path);
  });
}

test('env: every configuration key has its own variable', () => {
  const keys = envKeys();
  assert.equal(keys.size, 62);
  assert.equal(new Set([...keys.values()].map((key) => key.path)).size, keys.size);
  assert.ok(!keys.has('OUTPOST_CONFIG'));
});

test('env: coerces text per key type and ignores variables without the prefix', () => {
  const { overrides, problems } = readEnvOverrides({
    OUTPOST_DELIVERY_PORT: '2525',
    OUTPOST_DNS_IPV6: 'false',
    OUTPOST_DNS_SERVERS: '10.0.0.2, 10.0.0.3',
    OUTPOST_HOSTNAME: '123',
    OUTPOST_CONFIG: '/etc/outpost/outpost.yaml',
    HOME: '/root',
    outpost_hostname: 'lowercase is not ours',
  });
  assert.deepEqual(problems, []);
  assert.deepEqual(
    [...overrides].map(([path, override]) => [path, override.variable, override.value]),
    [
      ['delivery.port', 'OUTPOST_DELIVERY_PORT', 2525],
      ['dns.ipv6', 'OUTPOST_DNS_IPV6', false],
      ['dns.servers', 'OUTPOST_DNS_SERVERS', ['10.0.0.2', '10.0.0.3']],
      ['hostname', 'OUTPOST_HOSTNAME', '123'],
    ],
  );
});

test('env: parses OUTPOST_LISTEN entries with IPv6 brackets', () => {
  const { overrides, problems } = readEnvOverrides({ OUTPOST_LISTEN: '127.0.0.1:2525/mta,[::1]:2587/submission,0.0.0.0:465/smtps' });
  assert.deepEqual(problems, []);
  assert.deepEqual(overrides.get('listen')?.value, [
    { address: '127.0.0.1', port: 2525, mode: 'mta' },
    { address: '::1', port: 2587, mode: 'submission' },
    { address: '0.0.0.0', port: 465, mode: 'smtps' },
  ]);
});

const BAD: ReadonlyArray<readonly [string, string, RegExp]> = [
  ['OUTPOST_LISTEN', '127.0.0.1:2525', /is not address:port\/mode/],
  ['OUTPOST_LISTEN', '127.0.0.1/mta', /is not address:port\/mode/],
  ['OUTPOST_LISTEN', '::1:25/mta', /is not address:port\/mode/],
  ['OUTPOST_DELIVERY_ROUTES', 'example.com:relay', /is not domain=host\[:port\]/],
  ['OUTPOST_HOSTNAMES', 'x', /unknown variable \(did you mean OUTPOST_HOSTNAME\?\)/],
  ['OUTPOST_ZZZ', 'x', /unknown variable \(it names no configuration key\)/],
];

for (const [variable, value, problem] of BAD) {
  test(`env: ${variable}=${value} is an error naming the variable`, () => {
    const result = readEnvOverrides({ [variable]: value });
    assert.equal(result.problems.length, 1);
    assert.equal(result.problems[0]?.file, 'environment');
    assert.equal(result.problems[0]?.key, variable);
    assert.match(result.problems[0]?.message ?? '', new RegExp(`^environment: ${variable}: `));
    assert.match(result.problems[0]?.problem ?? '', problem);
  });
}
