import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeSelfSignedCertificate, type TestCertificate } from '../helpers/tls-cert.js';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { minimalYaml, TempConfigs } from './temp-config.js';

const temp = new TempConfigs();
after(() => temp.removeAll());

async function loadFrom(yaml: string, env: Record<string, string> = {}, files: Record<string, string> = {}): Promise<{ config: Config; folder: string }> {
  const folder = await temp.write({ domains: 'example.org\n', ...files, 'outpost.yaml': yaml });
  return { config: await loadConfig(join(folder, 'outpost.yaml'), env), folder };
}

let pair: TestCertificate;
before(async () => {
  pair = await makeSelfSignedCertificate('mail.example.org');
});

test('fills every default of INTERFACE.md into a minimal config', async () => {
  const { config, folder } = await loadFrom(minimalYaml());
  assert.equal(config.configFile, join(folder, 'outpost.yaml'));
  assert.equal(config.hostname, 'mx.example.org');
  assert.equal(config.domainsFile, join(folder, 'domains'));
  assert.deepEqual([...config.domains], ['example.org']);
  assert.deepEqual(config.listen, [{ address: '0.0.0.0', port: 25, mode: 'mta' }]);
  assert.deepEqual(config.trustedNetworks, ['127.0.0.0/8', '::1/128']);
  assert.equal(config.trustGateway, false);
  assert.equal(config.usersFile, undefined);
  assert.equal(config.tls, undefined);
  assert.equal(config.spoolDir, '/var/spool/outpost');
  assert.deepEqual(config.dns, { servers: [], timeoutMs: 3000, ipv6: true, dnssec: false });
  const minute = 60_000;
  assert.deepEqual({ ...config.delivery, routes: [...config.delivery.routes], tlsPolicy: [...config.delivery.tlsPolicy], providers: [...config.delivery.providers] }, {
    port: 25,
    retryDelaysMs: [5, 10, 20, 40, 60, 120, 240].map((minutes) => minutes * minute),
    maxQueueLifetimeMs: 5 * 24 * 60 * minute,
    routes: [],
    tlsPolicy: [],
    mtaSts: true,
    caFile: undefined,
    delayWarningMs: 4 * 60 * minute,
    maxConcurrency: 100,
    concurrencyPerDomain: 10,
    concurrencyPerProvider: 20,
    providers: [],
    publicSuffixes: [],
    recipientsPerTransaction: 50,
    connectTimeoutMs: 30_000,
    commandTimeoutMs: 5 * minute,
    dataDoneTimeoutMs: 10 * minute,
    connectionReuseTimeMs: 2000,
    bind: { ipv4: '', ipv6: '' },
  });
  assert.deepEqual(config.publicAddresses, []);
  assert.deepEqual(config.dkim, { keysFolder: join(folder, 'dkim') });
  assert.deepEqual(config.limits, {
    maxMessageBytes: 25 * 1024 * 1024,
    maxRecipients: 100,
    maxConnections: 500,
    maxConnectionsPerClient: 20,
    idleTimeoutMs: 5 * minute,
    minDataRateBytesPerSecond: 500,
    minFreeBytes: 100 * 1024 * 1024,
  });
  assert.deepEqual(config.suppression, { enabled: true, after: 1, ttlMs: 30 * 24 * 60 * minute });
  assert.deepEqual(config.quotas, { perHour: 0, perDay: 0 });
  assert.deepEqual(config.http, { address: '127.0.0.1', port: 8025 });
  assert.deepEqual(config.log, { level: 'info' });
});

test('defaults the hostname to the system host name', async () => {
  const { config } = await loadFrom('domains: domains\n');
  assert.equal(config.hostname, hostname());
});

test('converts durations, sizes and paths and canonicalises routes of a full config', async () => {
  const yaml = [
    'hostname: relay.example.org',
    'domains: lists/domains',
    'listen:',
    '  - { address: 127.0.0.1, port: 0, mode: mta }',
    '  - { address: "::1", port: 0, mode: submission }',
    '  - { address: localhost, port: 4650, mode: smtps }',
    'trustedNetworks: [10.0.0.0/8, 192.0.2.1, "2001:db8::/32"]',
    'users: users',
    'tls: { cert: /etc/ssl/outpost.pem, key: tls/key.pem }',
    'spoolDir: ../spool',
    'dns: { servers: [10.0.0.2, "10.0.0.3:5353", "[2001:db8::53]:53", "::1"], timeout: 1500ms, ipv6: false }',
    'delivery:',
    '  port: 2525',
    '  retry: [1, 30s, 2m]',
    '  maxQueueLifetime: 2h',
    '  routes:',
    '    Example.COM: "relay.example.net"',
    '    example.net: "[::1]:26"',
    '    bücher.example: "192.0.2.7:27"',
    '  delayWarning: 0',
    '  maxConcurrency: 3',
    '  concurrencyPerDomain: 2',
    '  recipientsPerTransaction: 1',
    '  connectTimeout: 0.5',
    '  commandTimeout: "10"',
    '  dataDoneTimeout: 1d',
    '  connectionReuseTime: 0',
    'limits: { maxMessageSize: 512KB, maxRecipients: 5, maxConnections: 6, maxConnectionsPerClient: 7, idleTimeout: 9s, minDataRate: 10, minFreeSpace: 2GB }',
    'http: false',
    'log: { level: debug }',
    '',
  ].join('\n');
  const folder = await temp.write({ 'lists/domains': 'Example.ORG\nbücher.example # IDN\n', users: '', 'tls/key.pem': pair.key, 'outpost.yaml': yaml });
  const certFolder = await temp.write({ 'outpost.pem': pair.cert });
  const config = await loadConfig(join(folder, 'outpost.yaml'), { OUTPOST_TLS_CERT: join(certFolder, 'outpost.pem') });
  assert.deepEqual([...config.domains].sort(), ['example.org', 'xn--bcher-kva.example']);
  assert.equal(config.domainsFile, join(folder, 'lists/domains'));
  assert.deepEqual(config.listen.map((listener) => listener.mode), ['mta', 'submission', 'smtps']);
  assert.deepEqual(config.trustedNetworks, ['10.0.0.0/8', '192.0.2.1/32', '2001:db8::/32']);
  assert.equal(config.usersFile, join(folder, 'users'));
  assert.deepEqual(config.tls, { certFile: join(certFolder, 'outpost.pem'), keyFile: join(folder, 'tls/key.pem') });
  assert.equal(config.spoolDir, resolve(folder, '../spool'));
  assert.deepEqual(config.dns.servers, [
    { host: '10.0.0.2', port: 53 },
    { host: '10.0.0.3', port: 5353 },
    { host: '2001:db8::53', port: 53 },
    { host: '::1', port: 53 },
  ]);
  assert.equal(config.dns.timeoutMs, 1500);
  assert.equal(config.dns.ipv6, false);
  assert.deepEqual(config.delivery.retryDelaysMs, [1000, 30_000, 120_000]);
  assert.equal(config.delivery.maxQueueLifetimeMs, 7_200_000);
  assert.deepEqual(
    new Map(config.delivery.routes),
    new Map([
      ['example.com', { host: 'relay.example.net', port: 2525 }],
      ['example.net', { host: '::1', port: 26 }],
      ['xn--bcher-kva.example', { host: '192.0.2.7', port: 27 }],
    ]),
  );
  assert.equal(config.delivery.delayWarningMs, 0);
  assert.equal(config.delivery.connectTimeoutMs, 500);
  assert.equal(config.delivery.commandTimeoutMs, 10_000);
  assert.equal(config.delivery.dataDoneTimeoutMs, 86_400_000);
  assert.equal(config.delivery.connectionReuseTimeMs, 0);
  assert.equal(config.limits.maxMessageBytes, 524_288);
  assert.equal(config.limits.minFreeBytes, 2 * 1024 ** 3);
  assert.equal(config.http, undefined);
  assert.equal(config.log.level, 'debug');
});

test('returns a deeply frozen config whose maps and sets refuse changes', async () => {
  const { config } = await loadFrom(minimalYaml('delivery: { routes: { example.com: relay.example.net } }'));
  for (const part of [config, config.listen, config.listen[0], config.dns, config.dns.servers, config.delivery, config.delivery.retryDelaysMs, config.limits, config.http, config.log, config.trustedNetworks]) {
    assert.ok(Object.isFrozen(part));
  }
  assert.ok(Object.isFrozen(config.delivery.routes.get('example.com')));
  assert.throws(() => (config.delivery.routes as Map<string, unknown>).set('x', 1), TypeError);
  assert.throws(() => (config.delivery.routes as Map<string, unknown>).clear(), TypeError);
  assert.throws(() => (config.domains as Set<string>).add('evil.example'), TypeError);
  assert.throws(() => (config.domains as Set<string>).delete('example.org'), TypeError);
  assert.equal(config.domains.size, 1);
});

test('applies OUTPOST_* overrides of every kind over the file', async () => {
  const yaml = minimalYaml('listen: [{ address: 0.0.0.0, port: 25, mode: mta }]', 'delivery: { port: 25, maxConcurrency: 4 }', 'tls: { cert: c.pem, key: k.pem }');
  const env = {
    OUTPOST_CONFIG: 'whatever.yaml',
    OUTPOST_HOSTNAME: 'env.example.org',
    OUTPOST_SPOOL_DIR: 'spool',
    OUTPOST_LISTEN: '127.0.0.1:2525/mta, [::1]:2587/submission',
    OUTPOST_TRUSTED_NETWORKS: '10.1.0.0/16,::1',
    OUTPOST_DNS_SERVERS: '10.0.0.2,10.0.0.3:5353,[::1]:53',
    OUTPOST_DNS_IPV6: 'false',
    OUTPOST_DELIVERY_PORT: '2526',
    OUTPOST_DELIVERY_RETRY: '1m,5m',
    OUTPOST_DELIVERY_ROUTES: 'Example.com=host.example.net:25,example.net=[::1]:2525,example.org=relay.example.org',
    OUTPOST_DELIVERY_DELAY_WARNING: '0',
    OUTPOST_LIMITS_MAX_MESSAGE_SIZE: '10MB',
    OUTPOST_LIMITS_IDLE_TIMEOUT: '90',
    OUTPOST_LOG_LEVEL: 'debug',
    OUTPOST_HTTP_PORT: '0',
    OUTPOST_TLS_CERT: 'other.pem',
  };
  const { config, folder } = await loadFrom(yaml, env, { 'c.pem': pair.cert, 'k.pem': pair.key, 'other.pem': pair.cert });
  assert.equal(config.hostname, 'env.example.org');
  assert.equal(config.spoolDir, join(folder, 'spool'));
  assert.deepEqual(config.listen, [
    { address: '127.0.0.1', port: 2525, mode: 'mta' },
    { address: '::1', port: 2587, mode: 'submission' },
  ]);
  assert.deepEqual(config.trustedNetworks, ['10.1.0.0/16', '::1/128']);
  assert.deepEqual(config.dns.servers, [
    { host: '10.0.0.2', port: 53 },
    { host: '10.0.0.3', port: 5353 },
    { host: '::1', port: 53 },
  ]);
  assert.equal(config.dns.ipv6, false);
  assert.equal(config.delivery.port, 2526);
  assert.equal(config.delivery.maxConcurrency, 4);
  assert.deepEqual(config.delivery.retryDelaysMs, [60_000, 300_000]);
  assert.deepEqual(
    new Map(config.delivery.routes),
    new Map([
      ['example.com', { host: 'host.example.net', port: 25 }],
      ['example.net', { host: '::1', port: 2525 }],
      ['example.org', { host: 'relay.example.org', port: 2526 }],
    ]),
  );
  assert.equal(config.delivery.delayWarningMs, 0);
  assert.equal(config.limits.maxMessageBytes, 10 * 1024 * 1024);
  assert.equal(config.limits.idleTimeoutMs, 90_000);
  assert.equal(config.log.level, 'debug');
  assert.deepEqual(config.http, { address: '127.0.0.1', port: 0 });
  assert.deepEqual(config.tls, { certFile: join(folder, 'other.pem'), keyFile: join(folder, 'k.pem') });
});

test('an empty list variable clears the list', async () => {
  const { config } = await loadFrom(minimalYaml('trustedNetworks: [10.0.0.0/8]'), { OUTPOST_TRUSTED_NETWORKS: '', OUTPOST_DNS_SERVERS: ' ' });
  assert.deepEqual(config.trustedNetworks, []);
  assert.deepEqual(config.dns.servers, []);
});

test('environment TLS variables create the optional tls section', async () => {
  const { config, folder } = await loadFrom(minimalYaml(), { OUTPOST_TLS_CERT: 'c.pem', OUTPOST_TLS_KEY: 'k.pem' }, { 'c.pem': pair.cert, 'k.pem': pair.key });
  assert.deepEqual(config.tls, { certFile: join(folder, 'c.pem'), keyFile: join(folder, 'k.pem') });
});

test('the shipped config/outpost.yaml is valid as-is and shows every default', async () => {
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
  const shipped = await loadConfig(join(repoRoot, 'config/outpost.yaml'), {});
  assert.equal(shipped.hostname, 'mail.example.org');
  assert.deepEqual([...shipped.domains], ['example.org']);
  assert.deepEqual(shipped.listen, [{ address: '0.0.0.0', port: 25, mode: 'mta' }]);
  assert.equal(shipped.spoolDir, '/var/spool/outpost');
  const { config: defaults } = await loadFrom(minimalYaml());
  const { configFile, domainsFile, hostname: shippedHostname, dkim, usersFile, ...shippedRest } = shipped;
  const { configFile: _file, domainsFile: _domains, hostname: _hostname, dkim: _dkim, usersFile: _users, ...defaultRest } = defaults;
  assert.deepEqual(dkim, { keysFolder: join(repoRoot, 'config/dkim') });
  assert.equal(usersFile, join(repoRoot, 'config/users'), 'AUTH users are configured by default (the file may not exist yet)');
  assert.equal(shippedHostname, 'mail.example.org');
  assert.equal(configFile, join(repoRoot, 'config/outpost.yaml'));
  assert.equal(domainsFile, join(repoRoot, 'config/domains'));
  assert.deepEqual(shippedRest, defaultRest);
});
