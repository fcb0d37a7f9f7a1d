// The stub client's defences over real sockets: spoofed replies ignored, TC ->
// TCP, malformed packets as error results, timeouts and retries on a manual clock.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { lookupAdvancing, resolverFor } from '../helpers/dns-resolver-setup.js';

const zones = {
  'big.example.net': { A: ['127.0.0.2', '127.0.0.3'] },
  'spoof-id.example.net': { A: ['127.0.0.10'] },
  'spoof-question.example.net': { A: ['127.0.0.11'] },
  'spoof-port.example.net': { A: ['127.0.0.12'] },
  'spoof-only.example.net': { A: ['127.0.0.13'] },
  'quiet.example.net': { A: ['127.0.0.14'] },
  'slow.example.net': { A: ['127.0.0.15'] },
  'flaky.example.net': { A: ['127.0.0.16'] },
};

describe('DNS client defences', () => {
  let server: TestDnsServer;
  let backup: TestDnsServer;
  const serverClock = new ManualClock();

  before(async () => {
    server = await startDnsServer({
      zones,
      clock: serverClock,
      faults: {
        'big.example.net': { kind: 'truncate' },
        'spoof-id.example.net': { kind: 'wrong-id' },
        'spoof-question.example.net': { kind: 'wrong-question' },
        'spoof-port.example.net': { kind: 'wrong-port' },
        'spoof-only.example.net': { kind: 'wrong-id', thenAnswer: false },
        'garbage.example.net': { kind: 'garbage' },
        'pointer.example.net': { kind: 'compression-loop' },
        'rdlength.example.net': { kind: 'bad-rdlength' },
        'huge.example.net': { kind: 'oversized' },
        'quiet.example.net': { kind: 'silence' },
        'flaky.example.net': { kind: 'servfail' },
        'slow.example.net': { kind: 'slow', delayMs: 400 },
      },
    });
    backup = await startDnsServer({ zones });
  });
  after(async () => {
    await server.close();
    await backup.close();
  });

  it('re-asks a truncated UDP answer over TCP', async () => {
    const { resolver } = resolverFor([server]);
    const result = await resolver.lookup('big.example.net', 'A');
    assert.deepEqual(result.kind === 'ok' && result.records, ['127.0.0.2', '127.0.0.3']);
    assert.deepEqual(
      server.queries.filter((query) => query.name === 'big.example.net').map((query) => query.transport),
      ['udp', 'tcp'],
    );
  });

  for (const [name, address] of [
    ['spoof-id.example.net', '127.0.0.10'],
    ['spoof-question.example.net', '127.0.0.11'],
    ['spoof-port.example.net', '127.0.0.12'],
  ] as const) {
    it(`ignores a forged reply (${name.split('.')[0] ?? ''}) and believes the genuine one`, async () => {
      const { resolver } = resolverFor([server]);
      const result = await resolver.lookup(name, 'A');
      assert.deepEqual(result.kind === 'ok' && result.records, [address]);
    });
  }

  it('never believes a reply with the wrong id: the query times out', async () => {
    const setup = resolverFor([server], { timeoutMs: 1000, attempts: 2 });
    const result = await lookupAdvancing(setup, server, 'spoof-only.example.net', 'A', 1000);
    assert.equal(result.kind, 'timeout');
    assert.equal(server.queries.filter((query) => query.name === 'spoof-only.example.net').length, 2, 'one try per attempt');
  });

  for (const [name, pattern] of [
    ['garbage.example.net', /malformed/],
    ['pointer.example.net', /malformed.*pointer/],
    ['rdlength.example.net', /RDLENGTH/],
    ['huge.example.net', /exceeds the advertised 1232/],
  ] as const) {
    it(`turns a broken reply (${name.split('.')[0] ?? ''}) into an error result`, async () => {
      const { resolver } = resolverFor([server], { attempts: 1 });
      const result = await resolver.lookup(name, name.startsWith('huge') ? 'TXT' : 'A');
      assert.equal(result.kind, 'servfail');
      assert.match(result.kind === 'servfail' ? result.reason : '', pattern);
    });
  }

  it('times out per try, retries, then reports timeout', async () => {
    const setup = resolverFor([server], { timeoutMs: 2000, attempts: 3 });
    const result = await lookupAdvancing(setup, server, 'quiet.example.net', 'A', 2000);
    assert.equal(result.kind, 'timeout');
    assert.equal(server.queries.filter((query) => query.name === 'quiet.example.net').length, 3);
  });

  it('stops at the total deadline', async () => {
    const before_ = server.queries.filter((query) => query.name === 'quiet.example.net').length;
    const setup = resolverFor([server], { timeoutMs: 2000, attempts: 5, totalTimeoutMs: 3000 });
    assert.equal((await lookupAdvancing(setup, server, 'quiet.example.net', 'A', 2000)).kind, 'timeout');
    assert.equal(server.queries.filter((query) => query.name === 'quiet.example.net').length - before_, 2);
  });

  it('rotates to the next server after a timeout and after SERVFAIL', async () => {
    const setup = resolverFor([server, backup], { timeoutMs: 1000, attempts: 1 });
    const quiet = await lookupAdvancing(setup, server, 'quiet.example.net', 'A', 1000);
    assert.deepEqual(quiet.kind === 'ok' && quiet.records, ['127.0.0.14']);
    const flakyBefore = backup.queries.length;
    const flaky = await setup.resolver.lookup('flaky.example.net', 'A');
    assert.deepEqual(flaky.kind === 'ok' && flaky.records, ['127.0.0.16']);
    assert.equal(backup.queries.length, flakyBefore + 1);
  });

  it('waits for a slow answer within the per-try timeout (clock advanced, not slept)', async () => {
    const clock = serverClock;
    const setup = resolverFor([server], { clock, timeoutMs: 1000, attempts: 1 });
    const pending = setup.resolver.lookup('slow.example.net', 'A');
    await clock.waitForTimers(2); // the client's per-try timer and the server's delay
    clock.advance(400);
    const result = await pending;
    assert.deepEqual(result.kind === 'ok' && result.records, ['127.0.0.15']);
  });

  it('gives up on an answer slower than the per-try timeout', async () => {
    const clock = serverClock;
    const setup = resolverFor([server], { clock, timeoutMs: 300, attempts: 1 });
    const pending = setup.resolver.lookup('slow.example.net', 'A');
    await clock.waitForTimers(2);
    clock.advance(300);
    assert.equal((await pending).kind, 'timeout');
    clock.advance(100); // the late answer arrives at a closed socket
  });

  it('shares one query between identical concurrent questions', async () => {
    const { client } = resolverFor([backup]);
    const before_ = backup.queries.length;
    const [first, second] = await Promise.all([client.query('big.example.net', 'A'), client.query('big.example.net', 'A')]);
    assert.equal(first, second);
    assert.equal(backup.queries.length, before_ + 1);
  });

  it('uses a fresh random id and source port for every query', async () => {
    const { client } = resolverFor([backup]);
    const before_ = backup.queries.length;
    for (let index = 0; index < 8; index += 1) await client.query('big.example.net', 'A');
    const sent = backup.queries.slice(before_);
    assert.equal(sent.length, 8);
    assert.ok(new Set(sent.map((query) => query.id)).size >= 7);
    assert.ok(new Set(sent.map((query) => query.sourcePort)).size >= 7);
    assert.ok(sent.every((query) => query.sourcePort >= 1024));
  });
});
