// `outpost health` (the Docker HEALTHCHECK) against real HTTP servers on loopback:
// the operations endpoint in-process, and the real `outpost serve`. It follows the
// configured http.address:port, prints one line and exits 0 (200) or 1.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { OpsHttpServer } from '../../src/observability/http-server.js';
import { probeHealth, probeHost, summarizeHealthBody } from '../../src/observability/health-probe.js';
import type { HealthChecks } from '../../src/observability/health.js';
import { Metrics } from '../../src/observability/metrics.js';
import { minimalYaml, TempConfigs } from '../config/temp-config.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog } from '../helpers/memory-log.js';
import { makeInstallation, runOutpost, ServeProcess } from '../helpers/outpost-process.js';
import { runCliCaptured } from '../helpers/run-cli.js';

const temp = new TempConfigs();
const servers: OpsHttpServer[] = [];
after(async () => {
  for (const server of servers) await server.close();
  await temp.removeAll();
});

async function startOps(address: string, checks: HealthChecks): Promise<{ server: OpsHttpServer; port: number }> {
  const server = new OpsHttpServer({ http: { address, port: 0 }, metrics: new Metrics(), checks, clock: new ManualClock(), logger: memoryLog().logger });
  servers.push(server);
  const bound = await server.start();
  assert.ok(bound !== undefined);
  return { server, port: bound.port };
}

/** A config folder whose http section is `http` (YAML); returns the config file. */
async function configWith(...lines: string[]): Promise<string> {
  const folder = await temp.write({ domains: 'example.org\n', 'outpost.yaml': minimalYaml(...lines) });
  return join(folder, 'outpost.yaml');
}

function ipv6LoopbackWorks(): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
}

describe('outpost health', () => {
  it('asks a wildcard address on loopback and every other address as it is', () => {
    const table: ReadonlyArray<readonly [string, string]> = [
      ['0.0.0.0', '127.0.0.1'],
      ['::', '::1'],
      ['0:0:0:0:0:0:0:0', '::1'],
      ['127.0.0.1', '127.0.0.1'],
      ['192.0.2.7', '192.0.2.7'],
      ['::1', '::1'],
      ['localhost', 'localhost'],
    ];
    for (const [configured, asked] of table) assert.equal(probeHost(configured), asked, configured);
  });

  it('exits 0 with one line on stdout when /healthz answers 200 on the configured address and port', async () => {
    const { port } = await startOps('127.0.0.1', { listeners: () => true, spool: async () => true });
    const config = await configWith('http: { address: 127.0.0.1, port: 8025 }');
    const result = await runCliCaptured(['health', '--config', config], { cwd: '/', env: { OUTPOST_HTTP_PORT: String(port) } });
    assert.deepEqual(result, { exitCode: 0, stdout: `healthy: http://127.0.0.1:${port}/healthz: 200 (listeners ok, spool ok)\n`, stderr: '' });
  });

  it('exits 1 naming the failed check when /healthz answers 503', async () => {
    const { port } = await startOps('127.0.0.1', { listeners: () => true, spool: async () => false });
    const config = await configWith(`http: { address: 127.0.0.1, port: ${port} }`);
    const result = await runCliCaptured(['health'], { cwd: '/', env: { OUTPOST_CONFIG: config } });
    assert.deepEqual(result, { exitCode: 1, stdout: '', stderr: `unhealthy: http://127.0.0.1:${port}/healthz: 503 (listeners ok, spool fail)\n` });
  });

  it('asks [::1] for an http endpoint configured on ::', async (context) => {
    if (!(await ipv6LoopbackWorks())) return context.skip('no IPv6 loopback here');
    const { port } = await startOps('::1', { listeners: () => true });
    const config = await configWith(`http: { address: "::", port: ${port} }`);
    const result = await runCliCaptured(['health', '--config', config], { cwd: '/' });
    assert.deepEqual(result, { exitCode: 0, stdout: `healthy: http://[::1]:${port}/healthz: 200 (listeners ok)\n`, stderr: '' });
  });

  it('exits 1 with "connection refused" when nothing listens there', async () => {
    const { server, port } = await startOps('127.0.0.1', { listeners: () => true });
    await server.close();
    const config = await configWith(`http: { address: 0.0.0.0, port: ${port} }`);
    const result = await runCliCaptured(['health', '--config', config], { cwd: '/' });
    assert.deepEqual(result, { exitCode: 1, stdout: '', stderr: `unhealthy: http://127.0.0.1:${port}/healthz: connection refused\n` });
  });

  it('gives up after its deadline on a server that never answers', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    assert.ok(typeof address === 'object' && address !== null);
    try {
      const accepted = new Promise((resolve) => silent.once('connection', resolve));
      const result = probeHealth({ address: '127.0.0.1', port: address.port, timeoutMs: 50 });
      await accepted;
      assert.deepEqual(await result, { healthy: false, line: `unhealthy: http://127.0.0.1:${address.port}/healthz: no answer within 0.05 s` });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('reads only what it needs: a broken key elsewhere does not stop it, a broken http key does', async () => {
    const { port } = await startOps('127.0.0.1', { listeners: () => true });
    const elsewhere = await configWith(`http: { address: 127.0.0.1, port: ${port} }`, 'delivery: { retry: [5x] }');
    assert.equal((await runCliCaptured(['health', '--config', elsewhere], { cwd: '/' })).exitCode, 0);
    const broken = await configWith('http: { address: 127.0.0.1, port: 99999 }');
    const result = await runCliCaptured(['health', '--config', broken], { cwd: '/' });
    assert.deepEqual(result, { exitCode: 1, stdout: '', stderr: `outpost health: ${broken}:3: http.port: 99999 is not a port number (0-65535)\n` });
  });

  it('says so when http is off or on a port picked at start, and when the config file is missing', async () => {
    const off = await configWith('http: false');
    assert.deepEqual(await runCliCaptured(['health', '--config', off], { cwd: '/' }), {
      exitCode: 1,
      stdout: '',
      stderr: `outpost health: the HTTP endpoint is off (http: false in ${off}), so there is no /healthz to ask\n`,
    });
    const zero = await configWith('http: { address: 127.0.0.1, port: 0 }');
    assert.deepEqual(await runCliCaptured(['health', '--config', zero], { cwd: '/' }), {
      exitCode: 1,
      stdout: '',
      stderr: `outpost health: http.port is 0 in ${zero} (a free port picked at start): give http a fixed port\n`,
    });
    const missing = await runCliCaptured(['health', '--config', '/nonexistent/outpost.yaml'], { cwd: '/' });
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr, /^outpost health: no config file at \/nonexistent\/outpost\.yaml: [^\n]*\n$/);
  });

  it('prints its usage for --help (exit 0) and on a bad option (exit 2); outpost --help lists it', async () => {
    const help = await runCliCaptured(['health', '--help'], { cwd: '/' });
    assert.equal(help.exitCode, 0);
    assert.match(help.stdout, /^usage: outpost health \[--config FILE\]/);
    const bad = await runCliCaptured(['health', '--bogus'], { cwd: '/' });
    assert.equal(bad.exitCode, 2);
    assert.match(bad.stderr, /usage: outpost health/);
    assert.match((await runCliCaptured(['--help'], { cwd: '/' })).stdout, /\n {2}health \[--config FILE\] +ask the running server's \/healthz/);
  });

  it('summarizes the health JSON by check, and shows the first line of any other body', () => {
    assert.equal(summarizeHealthBody('{"status":"fail","checks":{"listeners":"ok","disk":"fail"},"details":{}}\n'), 'listeners ok, disk fail');
    assert.equal(summarizeHealthBody('internal error\nmore'), 'internal error');
  });
});

describe('outpost health against outpost serve', () => {
  it('is healthy while serve runs and unhealthy once it has stopped', async () => {
    const installation = await makeInstallation();
    try {
      const serve = await ServeProcess.start(installation.configFile);
      const listening = await serve.waitForLog((line) => line['msg'] === 'http listening');
      const port = String(listening['port']);
      const running = await runOutpost(['health', '--config', installation.configFile], { OUTPOST_HTTP_PORT: port });
      assert.equal(running.code, 0, running.stderr);
      assert.match(running.stdout, new RegExp(`^healthy: http://127\\.0\\.0\\.1:${port}/healthz: 200 \\(listeners ok, spool ok, disk ok\\)\\n$`));
      serve.signal('SIGTERM');
      assert.equal(await serve.exit(), 0);
      const stopped = await runOutpost(['health', '--config', installation.configFile], { OUTPOST_HTTP_PORT: port });
      assert.deepEqual(stopped, { code: 1, stdout: '', stderr: `unhealthy: http://127.0.0.1:${port}/healthz: connection refused\n` });
    } finally {
      await installation.remove();
    }
  });
});
