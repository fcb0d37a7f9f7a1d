// The operations HTTP endpoint over real loopback HTTP: /healthz 200/503 from
// injected checks (including a hung one and the disk reserve), /metrics text that moves with
// traffic, 404/405, bind failures, request timeouts, and close().

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { OutpostError } from '../../src/core/errors.js';
import type { HealthChecks } from '../../src/observability/health.js';
import { OpsHttpServer, type MetricsSource, type OpsHttpServerOptions } from '../../src/observability/http-server.js';
import { Metrics } from '../../src/observability/metrics.js';
import { diskReserveCheck } from '../../src/spool/free-space.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog } from '../helpers/memory-log.js';
import { parseExposition, sampleValue } from './exposition-parser.js';

interface HttpResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

function fetchPath(port: number, path: string, method = 'GET', agent: Agent | false = false): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const servers: OpsHttpServer[] = [];
after(async () => {
  for (const server of servers) await server.close();
});

async function startOps(overrides: Partial<OpsHttpServerOptions> = {}): Promise<{ server: OpsHttpServer; port: number; clock: ManualClock; log: ReturnType<typeof memoryLog> }> {
  const clock = new ManualClock();
  const log = memoryLog();
  const server = new OpsHttpServer({
    http: { address: '127.0.0.1', port: 0 },
    metrics: new Metrics(),
    checks: { listeners: () => true, spool: async () => true },
    clock,
    logger: log.logger,
    ...overrides,
  });
  servers.push(server);
  const bound = await server.start();
  assert.ok(bound !== undefined);
  return { server, port: bound.port, clock, log };
}

describe('OpsHttpServer', () => {
  it('binds port 0 and reports the bound address', async () => {
    const { server, port } = await startOps();
    assert.ok(port > 0);
    assert.deepEqual(server.address(), { address: '127.0.0.1', port });
  });

  it('answers GET /healthz with 200 and every check ok when all pass', async () => {
    const { port } = await startOps();
    const result = await fetchPath(port, '/healthz');
    assert.equal(result.status, 200);
    assert.equal(result.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(result.headers['cache-control'], 'no-store');
    assert.deepEqual(JSON.parse(result.body), { status: 'ok', checks: { listeners: 'ok', spool: 'ok' } });
  });

  it('answers GET /healthz with 503 naming the failing and throwing checks', async () => {
    const checks: HealthChecks = {
      listeners: () => true,
      spool: async () => false,
      dns: () => {
        throw new Error('resolver broken');
      },
    };
    const { port, log } = await startOps({ checks });
    const result = await fetchPath(port, '/healthz');
    assert.equal(result.status, 503);
    assert.deepEqual(JSON.parse(result.body), { status: 'fail', checks: { listeners: 'ok', spool: 'fail', dns: 'error' } });
    assert.equal(log.messages('health check failed')[0]?.['check'], 'dns');
  });

  it('answers GET /healthz with 503 and the free bytes when the spool disk is below the reserve', async () => {
    let freeBytes = 50 * 1024 * 1024;
    const minFreeBytes = 100 * 1024 * 1024;
    const checks: HealthChecks = { listeners: () => true, disk: () => diskReserveCheck(async () => freeBytes, minFreeBytes) };
    const { port } = await startOps({ checks });
    const low = await fetchPath(port, '/healthz');
    assert.equal(low.status, 503);
    assert.deepEqual(JSON.parse(low.body), {
      status: 'fail',
      checks: { listeners: 'ok', disk: 'fail' },
      details: { disk: { freeBytes, minFreeBytes } },
    });
    freeBytes = minFreeBytes;
    const enough = await fetchPath(port, '/healthz');
    assert.equal(enough.status, 200);
    assert.deepEqual(JSON.parse(enough.body).details, { disk: { freeBytes: minFreeBytes, minFreeBytes } });
  });

  it('turns a hung health check into 503 timeout after the deadline on the injected clock', async () => {
    const { port, clock, log } = await startOps({ checks: { spool: () => new Promise<boolean>(() => undefined) }, callbackTimeoutMs: 2_000 });
    const pending = fetchPath(port, '/healthz');
    await clock.waitForTimers(1);
    clock.advance(2_000);
    const result = await pending;
    assert.equal(result.status, 503);
    assert.deepEqual(JSON.parse(result.body), { status: 'fail', checks: { spool: 'timeout' } });
    assert.equal(log.messages('health check timed out').length, 1);
  });

  it('serves /metrics as Prometheus text 0.0.4 whose counters move after traffic', async () => {
    const metrics = new Metrics({ listeners: ['submission'] });
    let queued = 0;
    metrics.setQueueGauges(() => ({ messages: queued, oldestAgeSeconds: queued === 0 ? 0 : 30 }));
    const { port } = await startOps({ metrics });
    const before = await fetchPath(port, '/metrics');
    assert.equal(before.status, 200);
    assert.equal(before.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    let families = parseExposition(before.body);
    assert.equal(families.get('outpost_messages_accepted_total')?.type, 'counter');
    assert.equal(families.get('outpost_messages_accepted_total')?.help, 'Messages accepted and queued, by listener.');
    assert.equal(sampleValue(families, 'outpost_messages_accepted_total', { listener: 'submission' }), 0);

    metrics.sessionStarted('submission');
    metrics.messageAccepted('submission');
    metrics.messageAccepted('submission');
    metrics.messageRejected('bad "reason"\\with\nnewline');
    queued = 2;
    const afterTraffic = await fetchPath(port, '/metrics?name=ignored');
    families = parseExposition(afterTraffic.body);
    assert.equal(sampleValue(families, 'outpost_messages_accepted_total', { listener: 'submission' }), 2);
    assert.equal(sampleValue(families, 'outpost_smtp_sessions_active'), 1);
    assert.equal(sampleValue(families, 'outpost_queue_messages'), 2);
    assert.equal(sampleValue(families, 'outpost_queue_oldest_age_seconds'), 30);
    assert.ok(afterTraffic.body.includes('outpost_messages_rejected_total{reason="bad \\"reason\\"\\\\with\\nnewline"} 1\n'));
    assert.equal(sampleValue(families, 'outpost_messages_rejected_total', { reason: 'bad "reason"\\with\nnewline' }), 1);
  });

  it('answers 500 when metrics collection throws and 503 when it hangs past the deadline', async () => {
    const failing: MetricsSource = { render: () => Promise.reject(new Error('collector broke')) };
    const first = await startOps({ metrics: failing });
    assert.equal((await fetchPath(first.port, '/metrics')).status, 500);
    assert.equal(first.log.messages('metrics collection failed').length, 1);

    const hanging: MetricsSource = { render: () => new Promise<string>(() => undefined) };
    const second = await startOps({ metrics: hanging, callbackTimeoutMs: 1_000 });
    const pending = fetchPath(second.port, '/metrics');
    await second.clock.waitForTimers(1);
    second.clock.advance(1_000);
    assert.equal((await pending).status, 503);
  });

  it('answers 404 for other paths and 405 with Allow for other methods; HEAD has no body', async () => {
    const { port } = await startOps();
    for (const path of ['/', '/nope', '/metrics/', '/healthz/x', '/HEALTHZ']) assert.equal((await fetchPath(port, path)).status, 404, path);
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const result = await fetchPath(port, '/metrics', method);
      assert.equal(result.status, 405, method);
      assert.equal(result.headers['allow'], 'GET, HEAD');
    }
    const head = await fetchPath(port, '/healthz', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  it('rejects a bind failure with OutpostError ELISTEN naming the address', async () => {
    const { port } = await startOps();
    const clash = new OpsHttpServer({
      http: { address: '127.0.0.1', port },
      metrics: new Metrics(),
      checks: {},
      clock: new ManualClock(),
      logger: memoryLog().logger,
    });
    servers.push(clash);
    await assert.rejects(clash.start(), (error: unknown) => {
      assert.ok(error instanceof OutpostError);
      assert.equal(error.code, 'ELISTEN');
      assert.match(error.message, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(http\\): the port is already in use`));
      return true;
    });
  });

  it('binds nothing when http is off', async () => {
    const server = new OpsHttpServer({ http: undefined, metrics: new Metrics(), checks: {}, clock: new ManualClock(), logger: memoryLog().logger });
    assert.equal(await server.start(), undefined);
    assert.equal(server.address(), undefined);
    await server.close();
  });

  it('answers 408 and closes a connection that never finishes its request headers', async () => {
    const { port } = await startOps({ requestTimeoutMs: 200 });
    const socket = connect(port, '127.0.0.1');
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    assert.match(Buffer.concat(chunks).toString('latin1'), /^HTTP\/1\.1 408 /);
  });

  it('close() ends kept-alive connections and stops listening', async () => {
    const { server, port } = await startOps();
    const agent = new Agent({ keepAlive: true });
    assert.equal((await fetchPath(port, '/healthz', 'GET', agent)).status, 200);
    await server.close();
    await assert.rejects(fetchPath(port, '/healthz'), (error: unknown) => (error as { code?: string }).code === 'ECONNREFUSED');
    agent.destroy();
  });
});
