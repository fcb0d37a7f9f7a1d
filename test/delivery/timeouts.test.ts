// RFC 5321 §4.5.3.2 timeouts of the outbound client, driven by the manual
// clock: a server that stops answering makes the attempt temporary (4.4.2).

import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectError, NetConnector, type Connector } from '../../src/delivery/connector.js';
import { SmtpTransport } from '../../src/delivery/transport.js';
import { FakeMta } from '../helpers/fake-mta.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog } from '../helpers/memory-log.js';
import { fixedPlan, outboundMessage, outcomeOf, runJob, TEST_TIMEOUTS, transportFor } from './fixtures.js';

const started: FakeMta[] = [];
after(async () => {
  await Promise.all(started.map((mta) => mta.close()));
});

it('gives up with 4.4.2 when the greeting never comes', async () => {
  const mta = await FakeMta.start({ script: { greeting: () => 'silence' } });
  started.push(mta);
  const { transport, clock, connector } = transportFor(fixedPlan({ host: 'mx1.slow.test', addresses: [mta.host], port: mta.port }));
  const running = runJob(transport, 'slow.test', [outboundMessage('m1', ['a@slow.test'])]);
  await mta.waitForSessions(1);
  await connector.waitForConnections(1);
  await clock.waitForTimers(1);
  clock.advance(TEST_TIMEOUTS.commandTimeoutMs - 1);
  assert.equal(clock.pendingTimers, 1, 'not before the timeout');
  clock.advance(1);
  const reports = await running;
  const outcome = outcomeOf(reports, 'm1', 'a@slow.test');
  assert.equal(outcome.kind, 'transient');
  assert.equal(outcome.status, '4.4.2');
  assert.match(outcome.reply, /timeout at greeting with mx1\.slow\.test\[127\.0\.0\.1\]/);
});

it('waits dataDoneTimeout for the reply to the final dot, then defers with 4.4.2', async () => {
  let dotReceived = (): void => undefined;
  const received = new Promise<void>((resolve) => {
    dotReceived = resolve;
  });
  const mta = await FakeMta.start({
    script: {
      dataDone: () => {
        dotReceived();
        return 'silence';
      },
    },
  });
  started.push(mta);
  const { transport, clock } = transportFor(fixedPlan({ host: 'mx1.slow.test', addresses: [mta.host], port: mta.port }), { timeouts: { ...TEST_TIMEOUTS, dataDoneTimeoutMs: 600_000 } });
  const running = runJob(transport, 'slow.test', [outboundMessage('m1', ['a@slow.test'])]);
  await received;
  await clock.waitForTimers(1);
  clock.advance(300_000);
  assert.equal(clock.pendingTimers, 1, 'the command timeout does not apply to the final dot');
  clock.advance(300_000);
  const reports = await running;
  assert.equal(outcomeOf(reports, 'm1', 'a@slow.test').status, '4.4.2');
  assert.match(outcomeOf(reports, 'm1', 'a@slow.test').reply, /end of data/);
});

it('reports a connection that timed out as 4.4.1 and goes on to the next address', async () => {
  const mta = await FakeMta.start();
  started.push(mta);
  const clock = new ManualClock();
  const real = new NetConnector({ clock });
  const tried: string[] = [];
  // 192.0.2.1 (TEST-NET-1) never answers: the fake connector times it out as the real one would.
  const connector: Connector = {
    connect: (request) => {
      tried.push(request.host);
      return request.host === '192.0.2.1' ? Promise.reject(new ConnectError('timeout', `no connection within ${request.timeoutMs} ms`)) : real.connect(request);
    },
  };
  const log = memoryLog();
  const transport = new SmtpTransport({
    hostname: 'outpost.test',
    planner: fixedPlan({ host: 'mx1.void.test', addresses: ['192.0.2.1'], port: mta.port }, { host: 'mx2.void.test', addresses: [mta.host], port: mta.port }),
    connector,
    clock,
    logger: log.logger,
    timeouts: TEST_TIMEOUTS,
  });
  const reports = await runJob(transport, 'void.test', [outboundMessage('m1', ['a@void.test'])]);
  assert.equal(outcomeOf(reports, 'm1', 'a@void.test').kind, 'delivered');
  assert.deepEqual(tried, ['192.0.2.1', mta.host]);
  assert.match(String(log.messages('host skipped')[0]?.['reply']), /^451 4\.4\.1 connection timed out to mx1\.void\.test\[192\.0\.2\.1\]$/);
});

it('NetConnector gives up after connectTimeoutMs on the injected clock', async () => {
  const clock = new ManualClock();
  const connector = new NetConnector({ clock });
  // Aborting is how the caller cancels; the clock decides the timeout: fire it before the connection completes.
  const pending = connector.connect({ host: '127.0.0.1', port: 9, timeoutMs: 30_000, signal: new AbortController().signal });
  clock.advance(30_000);
  await assert.rejects(pending, (error: unknown) => error instanceof ConnectError && error.failure === 'timeout');
});
