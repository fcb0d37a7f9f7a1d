// delivery.routes with route objects: defaults, every field, the "*" route,
// environment routes beside YAML objects, and one table of broken routes
// whose problems name the key path (and never a secret).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { Config, RouteConfig } from '../../src/config/types.js';
import { ConfigErrors } from '../../src/core/errors.js';
import { runCliCaptured } from '../helpers/run-cli.js';
import { makeSelfSignedCertificate } from '../helpers/tls-cert.js';
import { minimalYaml, TempConfigs } from './temp-config.js';

const temp = new TempConfigs();
after(() => temp.removeAll());

const SECRET = 'hunter2-very-secret';
let caPem = '';
before(async () => {
  caPem = (await makeSelfSignedCertificate('ca.example.net')).cert;
});

/** Files next to every test config: a password file, a token file, a client secret and a CA. */
function files(): Record<string, string> {
  return { domains: 'example.org\n', 'secrets/password': `${SECRET}\n`, 'secrets/token': 'token-abc\n', 'secrets/client': `${SECRET}\n`, 'ca.pem': caPem };
}

async function load(routeLines: readonly string[], env: Record<string, string> = {}): Promise<{ config: Config; folder: string }> {
  const folder = await temp.write({ ...files(), 'outpost.yaml': minimalYaml('delivery:', '  port: 2525', '  routes:', ...routeLines.map((line) => `    ${line}`)) });
  return { config: await loadConfig(join(folder, 'outpost.yaml'), env), folder };
}

async function problems(routeLines: readonly string[]): Promise<string[]> {
  try {
    await load(routeLines);
  } catch (error: unknown) {
    if (!(error instanceof ConfigErrors)) throw error;
    return error.problems.map((problem) => `${problem.key ?? ''}: ${problem.problem}`);
  }
  assert.fail('the config loaded');
}

function route(config: Config, key: string): RouteConfig {
  const found = config.delivery.routes.get(key);
  assert.ok(found, `no route ${key}`);
  return found;
}

describe('delivery.routes objects', () => {
  it('fills the defaults: starttls and verify with auth, the submission port 587, PLAIN then LOGIN', async () => {
    const { config, folder } = await load(['"*": { host: smtp.example.net, auth: { username: app@example.org, passwordFile: secrets/password } }']);
    assert.deepEqual(route(config, '*'), {
      host: 'smtp.example.net',
      port: 587,
      policy: {
        tls: 'starttls',
        verify: true,
        caFile: undefined,
        auth: { kind: 'password', username: 'app@example.org', passwordFile: join(folder, 'secrets/password'), mechanisms: ['PLAIN', 'LOGIN'] },
        maxConnections: undefined,
        ratePerMinute: undefined,
      },
    });
  });

  it('takes opportunistic TLS for an object without auth and port 465 for implicit TLS', async () => {
    const { config } = await load(['example.com: { host: relay.example.net }', 'example.net: { host: "192.0.2.1", tls: implicit }']);
    assert.equal(route(config, 'example.com').policy?.tls, 'opportunistic');
    assert.equal(route(config, 'example.com').port, 2525);
    assert.equal(route(config, 'example.net').port, 465);
  });

  it('reads every field of a full route object', async () => {
    const { config, folder } = await load([
      'Example.COM:',
      '  host: smtp.office365.com',
      '  port: 587',
      '  tls: starttls',
      '  verify: false',
      '  ca: ca.pem',
      '  maxConnections: 3',
      '  ratePerMinute: 30',
      '  auth:',
      '    username: relay@example.org',
      '    mechanism: XOAUTH2',
      '    oauth2: { tokenUrl: "https://login.example.net/tenant/oauth2/v2.0/token", clientId: abc, clientSecretFile: secrets/client, scope: "https://outlook.office365.com/.default" }',
    ]);
    assert.deepEqual(route(config, 'example.com'), {
      host: 'smtp.office365.com',
      port: 587,
      policy: {
        tls: 'starttls',
        verify: false,
        caFile: join(folder, 'ca.pem'),
        auth: {
          kind: 'client-credentials',
          username: 'relay@example.org',
          tokenUrl: 'https://login.example.net/tenant/oauth2/v2.0/token',
          clientId: 'abc',
          clientSecretFile: join(folder, 'secrets/client'),
          scope: 'https://outlook.office365.com/.default',
        },
        maxConnections: 3,
        ratePerMinute: 30,
      },
    });
  });

  it('infers xoauth2 from a token file and pins a password mechanism when asked', async () => {
    const { config, folder } = await load([
      'a.example: { host: a.example.net, auth: { username: u, tokenFile: secrets/token } }',
      'b.example: { host: b.example.net, auth: { username: u, mechanism: login, passwordFile: secrets/password } }',
    ]);
    assert.deepEqual(route(config, 'a.example').policy?.auth, { kind: 'token-file', username: 'u', tokenFile: join(folder, 'secrets/token') });
    assert.deepEqual(route(config, 'b.example').policy?.auth, { kind: 'password', username: 'u', passwordFile: join(folder, 'secrets/password'), mechanisms: ['LOGIN'] });
  });

  it('keeps string routes as they were: host and port, no policy', async () => {
    const { config } = await load(['example.com: relay.example.net', '"*": "smtp.example.net:587"']);
    assert.deepEqual(route(config, 'example.com'), { host: 'relay.example.net', port: 2525 });
    assert.deepEqual(route(config, '*'), { host: 'smtp.example.net', port: 587 });
  });

  it('takes string routes with "*" from OUTPOST_DELIVERY_ROUTES', async () => {
    const { config } = await load(['x.example: { host: ignored.example.net }'], { OUTPOST_DELIVERY_ROUTES: 'example.com=relay.example.net:25,*=smtp.example.net:587' });
    assert.deepEqual(new Map(config.delivery.routes), new Map([
      ['example.com', { host: 'relay.example.net', port: 25 }],
      ['*', { host: 'smtp.example.net', port: 587 }],
    ]));
  });

  it('freezes route objects', async () => {
    const { config } = await load(['"*": { host: smtp.example.net, auth: { username: u, passwordFile: secrets/password } }']);
    const policy = route(config, '*').policy;
    assert.ok(Object.isFrozen(policy) && Object.isFrozen(policy?.auth));
  });
});

const BROKEN: readonly { readonly name: string; readonly lines: readonly string[]; readonly expected: readonly RegExp[] }[] = [
  { name: 'a missing host', lines: ['"*": { port: 587 }'], expected: [/^delivery\.routes\.\*\.host: missing/] },
  { name: 'a bad host', lines: ['"*": { host: "bad host" }'], expected: [/^delivery\.routes\.\*\.host: "bad host" is not a valid host name/] },
  { name: 'a bad port', lines: ['"*": { host: h.example, port: 70000 }'], expected: [/^delivery\.routes\.\*\.port: 70000 is not a port number/] },
  { name: 'a bad tls mode', lines: ['"*": { host: h.example, tls: required }'], expected: [/^delivery\.routes\.\*\.tls: "required" is not one of starttls, implicit, opportunistic or none/] },
  { name: 'a bad verify', lines: ['"*": { host: h.example, verify: yes please }'], expected: [/^delivery\.routes\.\*\.verify: "yes please" is not true or false/] },
  { name: 'a missing CA file', lines: ['"*": { host: h.example, ca: nope.pem }'], expected: [/^delivery\.routes\.\*\.ca: cannot read .*nope\.pem: no such file/] },
  { name: 'a CA file without a certificate', lines: ['"*": { host: h.example, ca: secrets/token }'], expected: [/^delivery\.routes\.\*\.ca: cannot read .*: no PEM certificate in it/] },
  { name: 'a bad maxConnections', lines: ['"*": { host: h.example, maxConnections: 0 }'], expected: [/^delivery\.routes\.\*\.maxConnections: 0 is not a positive whole number/] },
  { name: 'a bad ratePerMinute', lines: ['"*": { host: h.example, ratePerMinute: "30" }'], expected: [/^delivery\.routes\.\*\.ratePerMinute: "30" is quoted text/] },
  { name: 'an unknown route key', lines: ['"*": { host: h.example, maxConnection: 3 }'], expected: [/^delivery\.routes\.\*\.maxConnection: unknown key \(did you mean maxConnections\?\)/] },
  { name: 'an unknown auth key', lines: ['"*": { host: h.example, auth: { username: u, passwordFil: x } }'], expected: [/^delivery\.routes\.\*\.auth\.passwordFil: unknown key \(did you mean passwordFile\?\)/, /^delivery\.routes\.\*\.auth: give passwordFile/] },
  { name: 'auth without a username', lines: ['"*": { host: h.example, auth: { passwordFile: secrets/password } }'], expected: [/^delivery\.routes\.\*\.auth\.username: missing/] },
  { name: 'a missing password file', lines: ['example.com: { host: h.example, auth: { username: u, passwordFile: secrets/none } }'], expected: [/^delivery\.routes\.example\.com\.auth\.passwordFile: cannot read .*secrets\/none: no such file/] },
  { name: 'a bad mechanism', lines: ['"*": { host: h.example, auth: { username: u, mechanism: cram-md5, passwordFile: secrets/password } }'], expected: [/^delivery\.routes\.\*\.auth\.mechanism: "cram-md5" is not one of plain, login or xoauth2/] },
  { name: 'xoauth2 with a password file', lines: ['"*": { host: h.example, auth: { username: u, mechanism: xoauth2, passwordFile: secrets/password } }'], expected: [/^delivery\.routes\.\*\.auth\.mechanism: xoauth2 takes a tokenFile or oauth2/] },
  { name: 'plain with a token file', lines: ['"*": { host: h.example, auth: { username: u, mechanism: plain, tokenFile: secrets/token } }'], expected: [/^delivery\.routes\.\*\.auth\.mechanism: plain takes a passwordFile/] },
  { name: 'two secret sources', lines: ['"*": { host: h.example, auth: { username: u, passwordFile: secrets/password, tokenFile: secrets/token } }'], expected: [/^delivery\.routes\.\*\.auth: give only one of passwordFile, tokenFile and oauth2/] },
  { name: 'an http token URL', lines: ['"*": { host: h.example, auth: { username: u, oauth2: { tokenUrl: "http://login.example.net/token", clientId: c, clientSecretFile: secrets/client } } }'], expected: [/^delivery\.routes\.\*\.auth\.oauth2\.tokenUrl: "http:\/\/login\.example\.net\/token" is not an https:\/\/ URL/] },
  { name: 'oauth2 without a client id and with a missing secret file', lines: ['"*": { host: h.example, auth: { username: u, oauth2: { tokenUrl: "https://l.example/t", clientSecretFile: gone } } }'], expected: [/^delivery\.routes\.\*\.auth\.oauth2\.clientId: missing/, /^delivery\.routes\.\*\.auth\.oauth2\.clientSecretFile: cannot read .*gone: no such file/] },
  { name: 'an unknown oauth2 key', lines: ['"*": { host: h.example, auth: { username: u, oauth2: { tokenUrl: "https://l.example/t", clientId: c, clientSecretFile: secrets/client, scopes: x } } }'], expected: [/^delivery\.routes\.\*\.auth\.oauth2\.scopes: unknown key \(did you mean scope\?\)/] },
  { name: 'credentials over opportunistic TLS', lines: ['"*": { host: h.example, tls: opportunistic, auth: { username: u, passwordFile: secrets/password } }'], expected: [/^delivery\.routes\.\*\.auth: credentials need tls: starttls or implicit \(TLS required and verified\), not tls: opportunistic/] },
  { name: 'credentials without TLS', lines: ['"*": { host: h.example, tls: none, auth: { username: u, passwordFile: secrets/password } }'], expected: [/^delivery\.routes\.\*\.auth: credentials need tls: starttls or implicit/] },
  { name: 'a route that is neither text nor a mapping', lines: ['example.com: [a, b]'], expected: [/^delivery\.routes\.example\.com: a list is not a next hop/] },
  { name: 'a bad route key', lines: ['"**": relay.example.net'], expected: [/^delivery\.routes\.\*\*: "\*\*" is not a valid domain \(or "\*" for every other domain\)/] },
];

describe('broken delivery.routes objects', () => {
  for (const { name, lines, expected } of BROKEN) {
    it(`names the key path of ${name}`, async () => {
      const found = await problems(lines);
      assert.equal(found.length, expected.length, found.join('\n'));
      expected.forEach((pattern, index) => assert.match(found[index] ?? '', pattern, found.join('\n')));
      for (const problem of found) assert.ok(!problem.includes(SECRET), 'no secret in a problem');
    });
  }
});

describe('routes on the command line', () => {
  const yaml = (passwordFile: string): string =>
    minimalYaml(
      'dns: { servers: ["127.0.0.1:9"], timeout: 1s }',
      'delivery:',
      '  routes:',
      `    "*": { host: "127.0.0.1", port: 587, maxConnections: 3, ratePerMinute: 30, auth: { username: app@example.org, passwordFile: ${passwordFile} } }`,
    );

  it('check-config accepts a route object and prints no secret', async () => {
    const folder = await temp.write({ ...files(), 'outpost.yaml': yaml('secrets/password') });
    const result = await runCliCaptured(['check-config', '--config', 'outpost.yaml'], { cwd: folder });
    assert.equal(result.exitCode, 0, result.stderr);
    assert.ok(!`${result.stdout}${result.stderr}`.includes(SECRET));
  });

  it('check-config names a missing password file by its key path', async () => {
    const folder = await temp.write({ ...files(), 'outpost.yaml': yaml('secrets/missing') });
    const result = await runCliCaptured(['check-config', '--config', 'outpost.yaml'], { cwd: folder });
    assert.equal(result.exitCode, 1);
    assert.match(result.stderr, /delivery\.routes\.\*\.auth\.passwordFile: cannot read .*secrets\/missing: no such file/);
  });

  it('resolve shows the route, its TLS mode, auth user and limits, never the password', async () => {
    const folder = await temp.write({ ...files(), 'outpost.yaml': yaml('secrets/password') });
    const json = await runCliCaptured(['resolve', 'anything.example', '--json', '--config', 'outpost.yaml'], { cwd: folder });
    assert.equal(json.exitCode, 0, json.stderr);
    const plan = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.equal(plan['ok'], true);
    assert.equal(plan['source'], 'route');
    assert.deepEqual(plan['route'], {
      name: '*',
      host: '127.0.0.1',
      port: 587,
      tls: 'starttls',
      verify: true,
      auth: { username: 'app@example.org', mechanism: 'PLAIN/LOGIN', secret: 'passwordFile' },
      maxConnections: 3,
      ratePerMinute: 30,
    });
    assert.deepEqual(plan['hosts'], [{ host: '127.0.0.1', preference: 0, addresses: ['127.0.0.1'], port: 587 }]);
    const text = await runCliCaptured(['resolve', 'anything.example', '--config', 'outpost.yaml'], { cwd: folder });
    assert.match(text.stdout, /route \*: tls starttls \(certificate verified\), AUTH PLAIN\/LOGIN as app@example\.org, at most 3 sessions, 30 messages\/minute/);
    assert.ok(!`${json.stdout}${text.stdout}`.includes(SECRET));
  });
});
