// Queue behaviour of the real `outpost serve`: connection reuse, the
// per-domain session limit, delay warnings and expiry DSNs, and a kill -9 in
// the middle of a delivery.

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { FakeMta, type ReceivedMessage } from '../helpers/fake-mta.js';
import { submit } from '../helpers/e2e-clients.js';
import { makeInstallation, runOutpost, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';

function statusFields(dsn: ReceivedMessage): { action: string | undefined; status: string | undefined } {
  const text = dsn.data.toString('utf8');
  return { action: /^Action: (\S+)/m.exec(text)?.[1], status: /^Status: (\S+)/m.exec(text)?.[1] };
}

interface World {
  readonly dns: TestDnsServer;
  readonly mta: FakeMta;
  readonly installation: TestInstallation;
  serve: ServeProcess;
}

let world: World | undefined;

async function startWorld(deliveryYaml: string): Promise<World> {
  const mta = await FakeMta.start({ host: '127.0.0.2', name: 'mx.dest.test' });
  const viaMta = { MX: [{ preference: 10, exchange: 'mx.dest.test' }] };
  const dns = await startDnsServer({ zones: { 'dest.test': viaMta, 'other.test': viaMta, 'example.org': viaMta, 'mx.dest.test': { A: ['127.0.0.2'] } } });
  const installation = await makeInstallation({ dns, extraYaml: `delivery: { port: ${mta.port}, connectTimeout: 2s, ${deliveryYaml} }` });
  world = { dns, mta, installation, serve: await ServeProcess.start(installation.configFile) };
  return world;
}

afterEach(async () => {
  if (world === undefined) return;
  const { serve, mta, dns, installation } = world;
  world = undefined;
  serve.signal('SIGTERM');
  await serve.exit();
  await Promise.all([mta.close(), dns.close()]);
  await installation.remove();
});

describe('queue behaviour of outpost serve', () => {
  it('carries several queued messages for one domain over one connection', async () => {
    const { mta, serve, installation } = await startWorld('retry: [1h], concurrencyPerDomain: 1');
    mta.script.rcpt = () => '451 4.3.2 not yet';
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await submit(serve.port(), 'app@example.org', [`r${i}@dest.test`]));
    for (const id of ids) await serve.waitForLog((line) => line['msg'] === 'recipient deferred' && line['qid'] === id);
    mta.script.rcpt = () => undefined;
    const sessionsBefore = mta.sessions.length;
    const flushed = await runOutpost(['queue', 'flush', '--config', installation.configFile]);
    assert.equal(flushed.code, 0, flushed.stderr);
    await mta.waitForMessages(4);
    // One connection: a new one, or the one kept open for reuse after the deferrals (delivery.connectionReuseTime).
    assert.ok(mta.sessions.length - sessionsBefore <= 1, 'at most one new connection');
    assert.equal(new Set(mta.messages.map((message) => message.sessionId)).size, 1, 'one connection');
    assert.equal(mta.messages.length, 4);
  });

  it('never runs more than concurrencyPerDomain sessions to one domain', async () => {
    const { mta, serve } = await startWorld('retry: [1s], concurrencyPerDomain: 2');
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    mta.script.dataDone = async () => {
      await gate;
      return undefined;
    };
    for (let i = 0; i < 6; i++) await submit(serve.port(), 'app@example.org', [`c${i}@dest.test`]);
    await mta.until(() => mta.activeSessions >= 2);
    assert.equal(mta.maxConcurrentSessions, 2);
    release();
    await mta.waitForMessages(6);
    assert.ok(mta.maxConcurrentSessions <= 2, `saw ${mta.maxConcurrentSessions} concurrent sessions`);
  });

  it('sends one delay warning, then an expiry DSN with 4.4.7', async () => {
    const { mta, serve } = await startWorld('retry: [1s], delayWarning: 1s, maxQueueLifetime: 4s');
    mta.script.rcpt = ({ argument }) => (argument === 'stuck@dest.test' ? '451 4.4.0 still not' : undefined);
    const id = await submit(serve.port(), 'app@example.org', ['stuck@dest.test']);
    const dsnsFor = (): ReceivedMessage[] => mta.messages.filter((message) => message.from === '' && message.data.includes(id));
    await mta.until(() => dsnsFor().length >= 2);
    await serve.waitForLog((line) => line['msg'] === 'message done' && line['qid'] === id);
    const dsns = dsnsFor();
    assert.deepEqual(
      dsns.map((dsn) => statusFields(dsn)),
      [
        { action: 'delayed', status: '4.4.0' },
        { action: 'failed', status: '4.4.7' },
      ],
    );
  });

  it('after kill -9 during a delivery, delivers the rest and nothing twice', async () => {
    const current = await startWorld('retry: [1s]');
    const { mta } = current;
    let holdOther = true;
    let otherHanging = (): void => undefined;
    const hanging = new Promise<void>((resolve) => {
      otherHanging = resolve;
    });
    mta.script.dataDone = async ({ recipients }) => {
      if (recipients.includes('late@other.test') && holdOther) {
        otherHanging();
        await new Promise(() => undefined);
      }
      return undefined;
    };
    const id = await submit(current.serve.port(), 'app@example.org', ['early@dest.test', 'late@other.test']);
    await mta.until(() => mta.messages.some((message) => message.recipients.includes('early@dest.test')));
    await current.serve.waitForLog((line) => line['msg'] === 'recipient delivered' && line['rcpt'] === 'early@dest.test');
    await hanging; // the second delivery hangs after its final dot
    await current.serve.kill9();
    holdOther = false;
    current.serve = await ServeProcess.start(current.installation.configFile);
    await current.serve.waitForLog((line) => line['msg'] === 'message done' && line['qid'] === id, 20_000);
    const to = (rcpt: string): number => mta.messages.filter((message) => message.recipients.includes(rcpt)).length;
    assert.equal(to('early@dest.test'), 1, 'the recipient recorded as delivered is not sent again');
    assert.equal(to('late@other.test'), 1);
  });
});
