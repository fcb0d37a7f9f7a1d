import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError, ConfigErrors } from '../../src/core/errors.js';
import { minimalYaml, TempConfigs } from './temp-config.js';

const temp = new TempConfigs();
after(() => temp.removeAll());

interface Expected {
  /** Relative name of the file in the temp folder, or "environment". Default outpost.yaml. */
  readonly file?: string;
  readonly line?: number;
  readonly key?: string;
  readonly problem: RegExp;
}

interface BrokenCase {
  readonly name: string;
  readonly yaml: string;
  readonly files?: Readonly<Record<string, string>>;
  readonly env?: Readonly<Record<string, string>>;
  readonly expected: readonly Expected[];
}

const CASES: readonly BrokenCase[] = [
  {
    name: 'names the line and index of a bad retry delay',
    yaml: minimalYaml('delivery:', '  retry: [5m,', '    5x]'),
    expected: [{ line: 5, key: 'delivery.retry[1]', problem: /^"5x" is not a duration \(use seconds or 30s, 5m, 2h, 5d\)$/ }],
  },
  {
    name: 'rejects an unknown top-level key with a suggestion',
    yaml: minimalYaml('spooldir: /tmp'),
    expected: [{ line: 3, key: 'spooldir', problem: /unknown key \(did you mean spoolDir\?\)/ }],
  },
  {
    name: 'rejects an unknown nested key',
    yaml: minimalYaml('delivery:', '  port: 25', '  colour: blue'),
    expected: [{ line: 5, key: 'delivery.colour', problem: /^unknown key$/ }],
  },
  {
    name: 'rejects a listener mode that does not exist',
    yaml: minimalYaml('listen:', '  - { address: 0.0.0.0, port: 25, mode: mta }', '  - address: 0.0.0.0', '    port: 587', '    mode: smtp'),
    expected: [{ line: 7, key: 'listen[1].mode', problem: /"smtp" is not one of mta, submission or smtps/ }],
  },
  {
    name: 'rejects a negative quota, a zero suppression count and a zero ttl',
    yaml: minimalYaml('quotas: { perHour: -1 }', 'suppression:', '  after: 0', '  ttl: 0'),
    expected: [
      { line: 3, key: 'quotas.perHour', problem: /-1 is not a whole number \(0 = unlimited\)/ },
      { line: 5, key: 'suppression.after', problem: /0 is not a positive whole number/ },
      { line: 6, key: 'suppression.ttl', problem: /must be more than 0/ },
    ],
  },
  {
    name: 'rejects a quoted port as text',
    yaml: minimalYaml('delivery:', '  port: "25"'),
    expected: [{ line: 4, key: 'delivery.port', problem: /"25" is quoted text/ }],
  },
  {
    name: 'rejects a port above 65535 and a listener missing its mode',
    yaml: minimalYaml('listen:', '  - { address: 0.0.0.0, port: 65536 }'),
    expected: [
      { line: 4, key: 'listen[0].port', problem: /65536 is not a port number \(0-65535\)/ },
      { line: 4, key: 'listen[0].mode', problem: /missing/ },
    ],
  },
  {
    name: 'rejects an empty listener list',
    yaml: minimalYaml('listen: []'),
    expected: [{ line: 3, key: 'listen', problem: /at least one listener/ }],
  },
  {
    name: 'rejects two listeners on one address and port',
    yaml: minimalYaml('listen:', '  - { address: 0.0.0.0, port: 25, mode: mta }', '  - { address: 0.0.0.0, port: 25, mode: submission }'),
    expected: [{ line: 5, key: 'listen[1]', problem: /0\.0\.0\.0:25 is already used/ }],
  },
  {
    name: 'rejects an invalid hostname',
    yaml: 'hostname: mail_relay\ndomains: domains\n',
    expected: [{ line: 1, key: 'hostname', problem: /"mail_relay" is not a valid hostname/ }],
  },
  {
    name: 'rejects a bad CIDR in trustedNetworks',
    yaml: minimalYaml('trustedNetworks:', '  - 10.0.0.0/8', '  - 10.0.0.0/33'),
    expected: [{ line: 5, key: 'trustedNetworks[1]', problem: /"10\.0\.0\.0\/33" is not a network/ }],
  },
  {
    name: 'rejects DNS servers that are names or have bad ports',
    yaml: minimalYaml('dns:', '  servers: ["10.0.0.2:99999", ns.example.com]'),
    expected: [
      { line: 4, key: 'dns.servers[0]', problem: /bad port "99999"/ },
      { line: 4, key: 'dns.servers[1]', problem: /not an IP address/ },
    ],
  },
  {
    name: 'rejects a route for an invalid domain and a route with a bad port',
    yaml: minimalYaml('delivery:', '  routes:', '    "bad..domain": relay.example.net', '    example.com: "relay.example.net:x"'),
    expected: [
      { line: 5, key: 'delivery.routes.bad..domain', problem: /"bad\.\.domain" is not a valid domain/ },
      { line: 6, key: 'delivery.routes.example.com', problem: /bad port "x"/ },
    ],
  },
  {
    name: 'rejects an unbracketed IPv6 route with a port',
    yaml: minimalYaml('delivery:', '  routes: { example.com: "2001:db8::1:25x" }'),
    expected: [{ line: 4, key: 'delivery.routes.example.com', problem: /not host or host:port/ }],
  },
  {
    name: 'rejects an empty retry list',
    yaml: minimalYaml('delivery: { retry: [] }'),
    expected: [{ line: 3, key: 'delivery.retry', problem: /the list is empty/ }],
  },
  {
    name: 'rejects a retry schedule that is not a list',
    yaml: minimalYaml('delivery: { retry: 5m }'),
    expected: [{ line: 3, key: 'delivery.retry', problem: /"5m" is not a list/ }],
  },
  {
    name: 'rejects zero and negative counts',
    yaml: minimalYaml('delivery:', '  maxConcurrency: 0', 'limits:', '  maxRecipients: -3', '  minDataRate: 1.5'),
    expected: [
      { line: 4, key: 'delivery.maxConcurrency', problem: /0 is not a positive whole number/ },
      { line: 6, key: 'limits.maxRecipients', problem: /-3 is not a positive whole number/ },
      { line: 7, key: 'limits.minDataRate', problem: /1\.5 is not a positive whole number/ },
    ],
  },
  {
    name: 'rejects a zero timeout but accepts a zero delay warning',
    yaml: minimalYaml('delivery:', '  connectTimeout: 0', '  delayWarning: 0'),
    expected: [{ line: 4, key: 'delivery.connectTimeout', problem: /must be more than 0/ }],
  },
  {
    name: 'rejects a bad size',
    yaml: minimalYaml('limits: { maxMessageSize: 10XB }'),
    expected: [{ line: 3, key: 'limits.maxMessageSize', problem: /"10XB" is not a size/ }],
  },
  {
    name: 'rejects a non-boolean ipv6 flag',
    yaml: minimalYaml('dns: { ipv6: "yes" }'),
    expected: [{ line: 3, key: 'dns.ipv6', problem: /"yes" is not true or false/ }],
  },
  {
    name: 'rejects an unknown log level',
    yaml: minimalYaml('log:', '  level: loud'),
    expected: [{ line: 4, key: 'log.level', problem: /"loud" is not one of fatal, error, warn, info, debug, trace or silent/ }],
  },
  {
    name: 'rejects a section that is not a mapping',
    yaml: minimalYaml('limits: 5'),
    expected: [{ line: 3, key: 'limits', problem: /5 is not a mapping \(keys: maxMessageSize/ }],
  },
  {
    name: 'requires the domains key',
    yaml: 'hostname: mx.example.org\n',
    expected: [{ key: 'domains', problem: /required key is missing/ }],
  },
  {
    name: 'requires both TLS files and names the section line',
    yaml: minimalYaml('tls:', '  cert: cert.pem'),
    files: { 'cert.pem': 'x' },
    expected: [{ line: 3, key: 'tls.key', problem: /required key is missing/ }],
  },
  {
    name: 'names unreadable users and TLS files (a users file that does not exist yet is fine)',
    yaml: minimalYaml('users: users', 'tls: { cert: tls/cert.pem, key: tls }'),
    files: { 'tls/other': 'x' },
    expected: [
      { line: 4, key: 'tls.cert', problem: /cannot read .*cert\.pem: no such file/ },
      { line: 4, key: 'tls.key', problem: /not a regular file/ },
    ],
  },
  {
    name: 'names a missing domains file by the domains key',
    yaml: 'hostname: mx.example.org\ndomains: nowhere/domains\n',
    files: { domains: '' },
    expected: [{ line: 2, key: 'domains', problem: /cannot read .*nowhere\/domains: no such file/ }],
  },
  {
    name: 'names bad lines of the domains file',
    yaml: minimalYaml(),
    files: { domains: '# local domains\nexample.org\n\nexa mple.net\n-bad-.example # trailing comment\n' },
    expected: [
      { file: 'domains', line: 4, problem: /"exa mple\.net" has more than one word/ },
      { file: 'domains', line: 5, problem: /"-bad-\.example" is not a valid domain/ },
    ],
  },
  {
    name: 'rejects an empty domains file',
    yaml: minimalYaml(),
    files: { domains: '# nothing yet\n\n' },
    expected: [{ file: 'domains', key: 'domains', problem: /lists no local domains/ }],
  },
  {
    name: 'names YAML syntax errors by line',
    yaml: 'hostname: mx.example.org\ndomains: domains\ndomains: again\n',
    expected: [{ line: 3, problem: /^YAML syntax: Map keys must be unique/ }],
  },
  {
    name: 'rejects a file that is a list, not a mapping',
    yaml: '- hostname\n- domains\n',
    expected: [{ problem: /the configuration must be a mapping of keys/ }, { key: 'domains', problem: /required key is missing/ }],
  },
  {
    name: 'names an environment variable with a bad value',
    yaml: minimalYaml(),
    env: { OUTPOST_DELIVERY_PORT: 'twenty-five' },
    expected: [{ file: 'environment', key: 'OUTPOST_DELIVERY_PORT', problem: /"twenty-five" is not a port number/ }],
  },
  {
    name: 'names a bad item of an environment list',
    yaml: minimalYaml(),
    env: { OUTPOST_DELIVERY_RETRY: '1m,5x' },
    expected: [{ file: 'environment', key: 'OUTPOST_DELIVERY_RETRY', problem: /"5x" is not a duration/ }],
  },
  {
    name: 'names a malformed OUTPOST_LISTEN entry',
    yaml: minimalYaml(),
    env: { OUTPOST_LISTEN: '127.0.0.1:2525/mta,127.0.0.1' },
    expected: [{ file: 'environment', key: 'OUTPOST_LISTEN', problem: /"127\.0\.0\.1" is not address:port\/mode/ }],
  },
  {
    name: 'names a bad mode in OUTPOST_LISTEN',
    yaml: minimalYaml(),
    env: { OUTPOST_LISTEN: '[::1]:2587/submision' },
    expected: [{ file: 'environment', key: 'OUTPOST_LISTEN', problem: /"submision" is not one of mta, submission or smtps/ }],
  },
  {
    name: 'rejects an unknown OUTPOST_ variable with a suggestion',
    yaml: minimalYaml(),
    env: { OUTPOST_DELIVERY_PROT: '25', OUTPOST_CONFIG: 'ignored.yaml' },
    expected: [{ file: 'environment', key: 'OUTPOST_DELIVERY_PROT', problem: /unknown variable \(did you mean OUTPOST_DELIVERY_PORT\?\)/ }],
  },
  {
    name: 'names a bad route list in the environment',
    yaml: minimalYaml(),
    env: { OUTPOST_DELIVERY_ROUTES: 'example.com' },
    expected: [{ file: 'environment', key: 'OUTPOST_DELIVERY_ROUTES', problem: /"example\.com" is not domain=host\[:port\]/ }],
  },
];

for (const broken of CASES) {
  test(`config: ${broken.name}`, async () => {
    const folder = await temp.write({ domains: 'example.org\n', ...broken.files, 'outpost.yaml': broken.yaml });
    const configFile = join(folder, 'outpost.yaml');
    const error = await loadConfig(configFile, broken.env ?? {}).then(
      () => assert.fail('loadConfig accepted a broken config'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof ConfigErrors, `expected ConfigErrors, got ${String(error)}`);
    const messages = error.problems.map((problem: ConfigError) => problem.message).join('\n');
    assert.equal(error.problems.length, broken.expected.length, `problems were:\n${messages}`);
    broken.expected.forEach((expected, index) => {
      const problem = error.problems[index];
      assert.ok(problem !== undefined);
      const file = expected.file === 'environment' ? 'environment' : join(folder, expected.file ?? 'outpost.yaml');
      assert.equal(problem.file, file, messages);
      assert.equal(problem.line, expected.line, messages);
      assert.equal(problem.key, expected.key, messages);
      assert.match(problem.problem, expected.problem, messages);
      const place = expected.line === undefined ? file : `${file}:${expected.line}`;
      assert.equal(problem.message, expected.key === undefined ? `${place}: ${problem.problem}` : `${place}: ${expected.key}: ${problem.problem}`);
    });
    assert.equal(error.message, messages);
  });
}

test('config: reports a missing config file without a stack trace', async () => {
  const folder = await temp.write({});
  const configFile = join(folder, 'absent.yaml');
  await assert.rejects(loadConfig(configFile, {}), (error: unknown) => {
    assert.ok(error instanceof ConfigErrors);
    assert.equal(error.message, `${configFile}: cannot read the config file: no such file`);
    return true;
  });
});
