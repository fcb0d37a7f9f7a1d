// PROXY protocol interop with an independent sender: HAProxy (Debian's haproxy) in TCP mode with
// `send-proxy` (v1) and `send-proxy-v2` in front of the real listener, swaks as the client. HAProxy
// pretends each client comes from a chosen address (`tcp-request connection set-src`) and connects
// from 127.0.0.2, the only address in proxyFrom.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { swaks } from '../helpers/e2e-clients.js';
import { startHarness, type Harness } from '../helpers/relay-harness.js';

const run = promisify(execFile);
const BALANCER = '127.0.0.2';

/** A port the system just gave out and took back, for HAProxy's frontends (HAProxy cannot report port 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface Frontends {
  readonly v1Untrusted: number;
  readonly v2Ipv6Untrusted: number;
  readonly v2Trusted: number;
  /** A UNIX-socket frontend: HAProxy has no TCP client address to send and sends v2 LOCAL. */
  readonly v2LocalSocket: string;
}

function haproxyConfig(outpostPort: number, frontends: Frontends): string {
  const frontend = (name: string, bind: string, source: string | undefined, backend: string): string[] => [
    `frontend ${name}`,
    `  bind ${bind}`,
    ...(source === undefined ? [] : [`  tcp-request connection set-src ${source}`]),
    `  default_backend ${backend}`,
  ];
  return [
    'global',
    '  maxconn 64',
    '  nbthread 1',
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 30s',
    '  timeout server 30s',
    ...frontend('v1_untrusted', `127.0.0.1:${frontends.v1Untrusted}`, 'ipv4(203.0.113.9)', 'outpost_v1'),
    ...frontend('v2_ipv6_untrusted', `127.0.0.1:${frontends.v2Ipv6Untrusted}`, 'ipv6(2001:db8::7)', 'outpost_v2'),
    ...frontend('v2_trusted', `127.0.0.1:${frontends.v2Trusted}`, 'ipv4(127.0.0.9)', 'outpost_v2'),
    ...frontend('v2_local', `unix@${frontends.v2LocalSocket}`, undefined, 'outpost_v2'),
    'backend outpost_v1',
    `  server outpost 127.0.0.1:${outpostPort} send-proxy source ${BALANCER}`,
    'backend outpost_v2',
    `  server outpost 127.0.0.1:${outpostPort} send-proxy-v2 source ${BALANCER}`,
    '',
  ].join('\n');
}

let harness: Harness;
let folder: string;
let frontends: Frontends;
let haproxyPid: number | undefined;

before(async () => {
  harness = await startHarness({ proxyFrom: [`${BALANCER}/32`], trustedNetworks: ['127.0.0.0/8'] });
  folder = await mkdtemp(join(tmpdir(), 'outpost-haproxy-'));
  frontends = { v1Untrusted: await freePort(), v2Ipv6Untrusted: await freePort(), v2Trusted: await freePort(), v2LocalSocket: join(folder, 'local.sock') };
  await writeFile(join(folder, 'haproxy.cfg'), haproxyConfig(harness.port, frontends));
  // -D: the parent binds every frontend, forks the worker, writes its pid and exits: ready once it exits.
  await run('haproxy', ['-D', '-f', join(folder, 'haproxy.cfg'), '-p', join(folder, 'haproxy.pid')], { timeout: 20_000 });
  haproxyPid = Number((await readFile(join(folder, 'haproxy.pid'), 'utf8')).trim());
});

after(async () => {
  if (haproxyPid !== undefined) process.kill(haproxyPid, 'SIGTERM');
  await harness.close();
  await rm(folder, { recursive: true, force: true });
});

function viaPort(port: number, from: string, to: string, helo: string): Promise<{ ok: boolean; output: string }> {
  return swaks(['--server', '127.0.0.1', '--port', String(port), '--from', from, '--to', to, '--helo', helo, '--timeout', '15', '--header', `Subject: via ${helo}`]);
}

async function receivedHeaderOf(helo: string): Promise<string> {
  const queued = harness.log.messages('message queued').filter((entry) => typeof entry['qid'] === 'string');
  for (const entry of queued) {
    const headers = await harness.spool.readHeaders(String(entry['qid']));
    if (headers.includes(`Received: from ${helo} `)) return headers.split('\r\n\t')[0] ?? '';
  }
  assert.fail(`no message from ${helo}`);
}

describe('behind HAProxy', () => {
  it('v1 (send-proxy): an untrusted client relaying gets 554 5.7.1 although the balancer is trusted', async () => {
    const relay = await viaPort(frontends.v1Untrusted, 'someone@example.net', 'victim@example.com', 'v1-relay.example');
    assert.equal(relay.ok, false);
    assert.match(relay.output, /<\*\* 554 5\.7\.1 Relay access denied/);
    const refusal = harness.log.messages('relay refused').find((entry) => entry['rcpt'] === '<victim@example.com>');
    assert.deepEqual([refusal?.['client'], refusal?.['proxy'], refusal?.['reason']], ['203.0.113.9', BALANCER, 'relay-denied']);
  });

  it('v1 (send-proxy): mail for a local domain is queued with the client in the Received header', async () => {
    const local = await viaPort(frontends.v1Untrusted, 'someone@example.net', 'app@example.org', 'v1-local.example');
    assert.equal(local.ok, true, local.output);
    assert.equal(await receivedHeaderOf('v1-local.example'), 'Received: from v1-local.example ([203.0.113.9])');
  });

  it('v2 (send-proxy-v2) over IPv6: relaying refused, local mail queued with the IPv6 client', async () => {
    const relay = await viaPort(frontends.v2Ipv6Untrusted, 'someone@example.net', 'victim6@example.com', 'v2-relay.example');
    assert.match(relay.output, /554 5\.7\.1 Relay access denied/);
    const local = await viaPort(frontends.v2Ipv6Untrusted, 'someone@example.net', 'app@example.org', 'v2-local.example');
    assert.equal(local.ok, true, local.output);
    assert.equal(await receivedHeaderOf('v2-local.example'), 'Received: from v2-local.example ([IPv6:2001:db8::7])');
  });

  it('v2 (send-proxy-v2): a client in trustedNetworks relays', async () => {
    const relay = await viaPort(frontends.v2Trusted, 'app@example.org', 'someone@example.com', 'v2-trusted.example');
    assert.equal(relay.ok, true, relay.output);
    assert.equal(await receivedHeaderOf('v2-trusted.example'), 'Received: from v2-trusted.example ([127.0.0.9])');
  });

  it('v2 LOCAL (HAProxy has no TCP client address to send): the balancer\'s own address stands', async () => {
    const local = await swaks(['--socket', frontends.v2LocalSocket, '--from', 'someone@example.net', '--to', 'app@example.org', '--helo', 'v2-local-socket.example', '--timeout', '15']);
    assert.equal(local.ok, true, local.output);
    assert.equal(await receivedHeaderOf('v2-local-socket.example'), `Received: from v2-local-socket.example ([${BALANCER}])`);
  });

  it('a client reaching the port directly gets no banner', async () => {
    const direct = await viaPort(harness.port, 'someone@example.net', 'app@example.org', 'direct.example');
    assert.equal(direct.ok, false);
    assert.doesNotMatch(direct.output, /<-\s+220/);
    assert.ok(harness.log.messages('connection refused').some((entry) => entry['client'] === '127.0.0.1' && /not in proxyFrom/.test(String(entry['reason']))));
  });
});
