// The outbound SMTP client against the scripted fake MTA over real loopback
// sockets: per-recipient outcomes, walking the plan (host fallback, address
// cap, null MX), abort.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { fakeMtaPool, fixedPlan, planTo, outboundMessage, outcomeOf, runJob, transportFor } from './fixtures.js';

const fakeMta = fakeMtaPool(after);

/** A loopback port where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}


describe('per-recipient outcomes', () => {
  it('delivers a message and reports every recipient delivered with the final reply', async () => {
    const mta = await fakeMta();
    const { transport, log } = transportFor(planTo(mta));
    const reports = await runJob(transport, 'dest.test', [outboundMessage('m1', ['a@dest.test', 'b@dest.test'])]);
    for (const rcpt of ['a@dest.test', 'b@dest.test']) {
      const outcome = outcomeOf(reports, 'm1', rcpt);
      assert.equal(outcome.kind, 'delivered');
      assert.equal(outcome.status, '2.0.0');
      assert.match(outcome.reply, /^250 2\.0\.0 Ok: queued as 1$/);
      assert.equal(outcome.remote, true);
      assert.equal(outcome.remoteMta, 'mx1.dest.test');
    }
    assert.equal(mta.messages.length, 1);
    assert.deepEqual(mta.messages[0]?.recipients, ['a@dest.test', 'b@dest.test']);
    assert.equal(mta.messages[0]?.from, 'sender@origin.test');
    assert.equal(mta.messages[0]?.data.toString(), 'Subject: test\r\n\r\nhello\r\n');
    const info = reports.get('m1')?.info;
    assert.equal(info?.mx, 'mx1.dest.test');
    assert.equal(info?.address, '127.0.0.1');
    assert.equal(info?.tls, null);
    const attempt = log.messages('delivery attempt')[0];
    assert.equal(attempt?.['qid'], 'm1');
    assert.equal(attempt?.['mx'], 'mx1.dest.test');
    assert.equal(attempt?.['component'], 'delivery');
    assert.equal(typeof attempt?.['durationMs'], 'number');
    await mta.waitForIdle();
    assert.ok(mta.sessions[0]?.commands.includes('QUIT'), 'the session ends with QUIT');
  });

  it('rejects one of three recipients with 550 and delivers to the other two', async () => {
    const mta = await fakeMta({ script: { rcpt: ({ argument }) => (argument === 'bad@dest.test' ? '550 5.1.1 <bad@dest.test>: no such user\u0007' : undefined) } });
    const { transport } = transportFor(planTo(mta));
    const reports = await runJob(transport, 'dest.test', [outboundMessage('m1', ['a@dest.test', 'bad@dest.test', 'c@dest.test'])]);
    const bad = outcomeOf(reports, 'm1', 'bad@dest.test');
    assert.deepEqual(bad, { kind: 'permanent', reply: '550 5.1.1 <bad@dest.test>: no such user', status: '5.1.1', remote: true, remoteMta: 'mx1.dest.test' });
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'delivered');
    assert.equal(outcomeOf(reports, 'm1', 'c@dest.test').kind, 'delivered');
    assert.deepEqual(mta.messages[0]?.recipients, ['a@dest.test', 'c@dest.test']);
  });

  it('defers a recipient that gets 451 at RCPT and sends no DATA without recipients', async () => {
    const mta = await fakeMta({ extensions: { pipelining: false }, script: { rcpt: () => '451 4.7.1 greylisted, try later' } });
    const { transport } = transportFor(planTo(mta));
    const reports = await runJob(transport, 'dest.test', [outboundMessage('m1', ['a@dest.test'])]);
    const outcome = outcomeOf(reports, 'm1', 'a@dest.test');
    assert.equal(outcome.kind, 'transient');
    assert.equal(outcome.status, '4.7.1');
    assert.equal(mta.messages.length, 0);
    await mta.waitForIdle();
    assert.ok(!mta.sessions[0]?.commands.includes('DATA'));
  });

  it('fails every recipient when DATA gets 554', async () => {
    const mta = await fakeMta({ script: { data: () => '554 5.7.1 message refused' } });
    const { transport } = transportFor(planTo(mta));
    const reports = await runJob(transport, 'dest.test', [outboundMessage('m1', ['a@dest.test', 'b@dest.test'])]);
    for (const rcpt of ['a@dest.test', 'b@dest.test']) {
      assert.deepEqual(outcomeOf(reports, 'm1', rcpt), { kind: 'permanent', reply: '554 5.7.1 message refused', status: '5.7.1', remote: true, remoteMta: 'mx1.dest.test' });
    }
  });

  it('defers every recipient when the final dot gets 451, keeping a recipient refused at RCPT failed', async () => {
    const mta = await fakeMta({
      script: { rcpt: ({ argument }) => (argument === 'x@dest.test' ? '550 5.1.1 unknown' : undefined), dataDone: () => '451 4.3.0 try again' },
    });
    const { transport } = transportFor(planTo(mta));
    const reports = await runJob(transport, 'dest.test', [outboundMessage('m1', ['a@dest.test', 'b@dest.test', 'x@dest.test'])]);
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'transient');
    assert.equal(outcomeOf(reports, 'm1', 'b@dest.test').reply, '451 4.3.0 try again');
    assert.equal(outcomeOf(reports, 'm1', 'x@dest.test').kind, 'permanent');
  });

  it('defers every recipient when the server disconnects in the middle of DATA', async () => {
    const mta = await fakeMta({ script: { body: () => 'disconnect' } });
    const { transport } = transportFor(planTo(mta));
    const reports = await runJob(transport, 'dest.test', [outboundMessage('m1', ['a@dest.test', 'b@dest.test'])]);
    for (const rcpt of ['a@dest.test', 'b@dest.test']) {
      const outcome = outcomeOf(reports, 'm1', rcpt);
      assert.equal(outcome.kind, 'transient');
      assert.equal(outcome.status, '4.4.2');
      assert.equal(outcome.remote, false);
    }
    assert.equal(mta.messages.length, 0);
  });

  it('fails all recipients with the MAIL 5xx reply and defers them after MAIL 4xx', async () => {
    const refusing = await fakeMta({ script: { mail: () => '553 5.7.1 sender rejected' } });
    const refused = await runJob(transportFor(planTo(refusing)).transport, 'dest.test', [outboundMessage('m1', ['a@dest.test'])]);
    assert.equal(outcomeOf(refused, 'm1', 'a@dest.test').status, '5.7.1');
    assert.equal(outcomeOf(refused, 'm1', 'a@dest.test').kind, 'permanent');
    const busy = await fakeMta({ script: { mail: () => '452 4.3.1 insufficient storage' } });
    const deferred = await runJob(transportFor(planTo(busy)).transport, 'dest.test', [outboundMessage('m1', ['a@dest.test'])]);
    assert.equal(outcomeOf(deferred, 'm1', 'a@dest.test').kind, 'transient');
    assert.equal(outcomeOf(deferred, 'm1', 'a@dest.test').status, '4.3.1');
  });
});

describe('walking the plan', () => {
  it('goes on to the second MX when the first refuses the connection', async () => {
    const mta = await fakeMta();
    const { transport, connector } = transportFor(
      fixedPlan({ host: 'mx1.dest.test', addresses: ['127.0.0.1'], port: await closedPort() }, { host: 'mx2.dest.test', addresses: [mta.host], port: mta.port }),
    );
    const reports = await runJob(transport, 'dest.test', [outboundMessage('m1', ['a@dest.test'])]);
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'delivered');
    assert.equal(reports.get('m1')?.info.mx, 'mx2.dest.test');
    assert.equal(connector.requests.length, 2);
  });

  it('reports 4.4.1 when no host accepts a connection', async () => {
    const { transport } = transportFor(fixedPlan({ host: 'mx1.dest.test', addresses: ['127.0.0.1'], port: await closedPort() }));
    const reports = await runJob(transport, 'dest.test', [outboundMessage('m1', ['a@dest.test'])]);
    const outcome = outcomeOf(reports, 'm1', 'a@dest.test');
    assert.equal(outcome.kind, 'transient');
    assert.equal(outcome.status, '4.4.1');
    assert.match(outcome.reply, /^451 4\.4\.1 connection refused by mx1\.dest\.test\[127\.0\.0\.1\]$/);
  });

  it('skips a host whose greeting is 4xx or 5xx and delivers to the next', async () => {
    const busy = await fakeMta({ script: { greeting: () => '421 4.3.2 too busy' } });
    const closed = await fakeMta({ script: { greeting: () => '554 5.3.2 no service here' } });
    const good = await fakeMta();
    const { transport } = transportFor(
      fixedPlan({ host: 'mx1.dest.test', addresses: [busy.host], port: busy.port }, { host: 'mx2.dest.test', addresses: [closed.host], port: closed.port }, { host: 'mx3.dest.test', addresses: [good.host], port: good.port }),
    );
    const reports = await runJob(transport, 'dest.test', [outboundMessage('m1', ['a@dest.test'])]);
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'delivered');
    assert.equal(good.messages.length, 1);
  });

  it('defers (4.x.x) when the only host greets with 5xx, since another try may find it working', async () => {
    const closed = await fakeMta({ script: { greeting: () => '554 5.3.2 no service here' } });
    const reports = await runJob(transportFor(planTo(closed)).transport, 'dest.test', [outboundMessage('m1', ['a@dest.test'])]);
    const outcome = outcomeOf(reports, 'm1', 'a@dest.test');
    assert.equal(outcome.kind, 'transient');
    assert.equal(outcome.status, '4.3.2');
    assert.equal(outcome.reply, '554 5.3.2 no service here');
  });

  it('takes a host\'s RCPT answers as final: no other host is tried for a refused recipient', async () => {
    const refusing = await fakeMta({ script: { rcpt: () => '550 5.1.1 unknown' } });
    const other = await fakeMta();
    const { transport } = transportFor(fixedPlan({ host: 'mx1.dest.test', addresses: [refusing.host], port: refusing.port }, { host: 'mx2.dest.test', addresses: [other.host], port: other.port }));
    const reports = await runJob(transport, 'dest.test', [outboundMessage('m1', ['a@dest.test'])]);
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'permanent');
    assert.equal(other.sessions.length, 0);
  });

  it('tries at most 5 addresses per attempt', async () => {
    const port = await closedPort();
    const addresses = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7'];
    const { transport, connector } = transportFor(fixedPlan({ host: 'mx1.dest.test', addresses, port }));
    const reports = await runJob(transport, 'dest.test', [outboundMessage('m1', ['a@dest.test'])]);
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'transient');
    assert.deepEqual(connector.requests.map((request) => request.host), addresses.slice(0, 5));
  });

  it('fails with 5.1.10 for a null MX without connecting anywhere', async () => {
    const { transport, connector } = transportFor((domain) => Promise.resolve({ ok: false, domain, permanent: true, status: '5.1.10', reason: 'null MX' }));
    const reports = await runJob(transport, 'dest.test', [outboundMessage('m1', ['a@dest.test']), outboundMessage('m2', ['b@dest.test'])]);
    assert.deepEqual(outcomeOf(reports, 'm1', 'a@dest.test'), { kind: 'permanent', reply: '556 5.1.10 dest.test: null MX', status: '5.1.10', remote: false, remoteMta: undefined });
    assert.equal(outcomeOf(reports, 'm2', 'b@dest.test').status, '5.1.10');
    assert.equal(connector.requests.length, 0);
  });

  it('defers with 4.4.3 when planning throws', async () => {
    const { transport } = transportFor(() => Promise.reject(new Error('resolver exploded')));
    const reports = await runJob(transport, 'dest.test', [outboundMessage('m1', ['a@dest.test'])]);
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'transient');
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').status, '4.4.3');
  });

  it('reports every message transient without connecting when already aborted', async () => {
    const mta = await fakeMta();
    const { transport, connector } = transportFor(planTo(mta));
    const controller = new AbortController();
    controller.abort();
    const reports = await runJob(transport, 'dest.test', [outboundMessage('m1', ['a@dest.test'])], controller.signal);
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'transient');
    assert.equal(connector.requests.length, 0);
  });
  it('aborts a running transaction: the message is reported transient and the session closed', async () => {
    let reachedDot = (): void => undefined;
    const atDot = new Promise<void>((resolve) => {
      reachedDot = resolve;
    });
    const mta = await fakeMta({
      script: {
        dataDone: () => {
          reachedDot();
          return 'silence';
        },
      },
    });
    const controller = new AbortController();
    const running = runJob(transportFor(planTo(mta)).transport, 'dest.test', [outboundMessage('m1', ['a@dest.test']), outboundMessage('m2', ['b@dest.test'])], controller.signal);
    await atDot;
    controller.abort();
    const reports = await running;
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').kind, 'transient');
    assert.equal(outcomeOf(reports, 'm1', 'a@dest.test').status, '4.3.2');
    assert.equal(outcomeOf(reports, 'm2', 'b@dest.test').status, '4.3.2');
    await mta.waitForIdle();
  });
});
