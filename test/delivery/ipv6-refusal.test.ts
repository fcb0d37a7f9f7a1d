// A receiver that refuses our IPv6 address (Gmail's 550-5.7.25: no PTR) gets
// the message again over IPv4 at once instead of a bounce; with no IPv4
// address the refusal stands. The plan's addresses are mapped to loopback
// fake MTAs by the connector, so no real IPv6 is needed.

import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { NetConnector, type ConnectRequest, type Connector } from '../../src/delivery/connector.js';
import { SmtpTransport } from '../../src/delivery/transport.js';
import { blamesIpv6Sender } from '../../src/delivery/ipv6-refusal.js';
import type { FakeMta } from '../helpers/fake-mta.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog } from '../helpers/memory-log.js';
import { fakeMtaPool, fixedPlan, outboundMessage, outcomeOf, runJob, TEST_TIMEOUTS } from './fixtures.js';

const startMta = fakeMtaPool(after);
const GMAIL_PTR = ['550-5.7.25 [2001:db8::25] The IP address sending this message does not have a', '550 5.7.25 PTR record setup, or the corresponding forward DNS entry does not point to the sending IP.'];

/** Connects plan addresses to fake MTAs on 127.0.0.1 and records which addresses were dialled. */
class MappingConnector implements Connector {
  readonly dialled: string[] = [];
  readonly #inner = new NetConnector({ clock: new ManualClock() });
  constructor(private readonly ports: ReadonlyMap<string, number>) {}
  connect(request: ConnectRequest): Promise<Socket> {
    this.dialled.push(request.host);
    return this.#inner.connect({ ...request, host: '127.0.0.1', port: this.ports.get(request.host) ?? 1 });
  }
}

function transport(ports: ReadonlyMap<string, number>, addresses: readonly string[]): { transport: SmtpTransport; connector: MappingConnector; log: ReturnType<typeof memoryLog> } {
  const connector = new MappingConnector(ports);
  const log = memoryLog('debug');
  const planner = fixedPlan({ host: 'mx.gmail.test', addresses, port: 25 });
  return { transport: new SmtpTransport({ hostname: 'outpost.test', timeouts: TEST_TIMEOUTS, planner, clock: new ManualClock(), connector, logger: log.logger }), connector, log };
}

async function refusingOverIpv6(): Promise<FakeMta> {
  const mta = await startMta({ name: 'v6.gmail.test' });
  mta.script.dataDone = () => GMAIL_PTR;
  return mta;
}

it('retries over IPv4 at once when the IPv6 address is refused for its PTR', async () => {
  const v6 = await refusingOverIpv6();
  const v4 = await startMta({ name: 'v4.gmail.test' });
  const { transport: smtp, connector, log } = transport(new Map([['2001:db8::25', v6.port], ['192.0.2.25', v4.port]]), ['2001:db8::25', '192.0.2.25']);
  const reports = await runJob(smtp, 'gmail.test', [outboundMessage('m1', ['a@gmail.test', 'b@gmail.test']), outboundMessage('m2', ['c@gmail.test'])]);
  for (const [id, rcpt] of [['m1', 'a@gmail.test'], ['m1', 'b@gmail.test'], ['m2', 'c@gmail.test']] as const) assert.equal(outcomeOf(reports, id, rcpt).kind, 'delivered', rcpt);
  assert.deepEqual(connector.dialled, ['2001:db8::25', '192.0.2.25']);
  assert.equal(v4.messages.length, 2);
  assert.equal(v6.messages.length, 0);
  assert.equal(log.messages('ipv6 address refused, trying ipv4').length, 1);
});

it('keeps the refusal when the destination has no IPv4 address', async () => {
  const v6 = await refusingOverIpv6();
  const { transport: smtp } = transport(new Map([['2001:db8::25', v6.port]]), ['2001:db8::25']);
  const reports = await runJob(smtp, 'gmail.test', [outboundMessage('m1', ['a@gmail.test'])]);
  const outcome = outcomeOf(reports, 'm1', 'a@gmail.test');
  assert.deepEqual([outcome.kind, outcome.status], ['permanent', '5.7.25']);
});

it('blames the IPv6 address only for remote 5xx replies over IPv6 that say so', () => {
  const outcome = (reply: string, status: string, kind: 'permanent' | 'transient' = 'permanent', remote = true) => ({ kind, reply, status, remote, remoteMta: 'mx' });
  assert.equal(blamesIpv6Sender('2001:db8::25', outcome('550 5.7.25 no PTR', '5.7.25')), true);
  assert.equal(blamesIpv6Sender('2001:db8::25', outcome('550 5.7.1 this message does not meet IPv6 sending guidelines', '5.7.1')), true);
  assert.equal(blamesIpv6Sender('192.0.2.25', outcome('550 5.7.25 no PTR', '5.7.25')), false);
  assert.equal(blamesIpv6Sender('2001:db8::25', outcome('550 5.1.1 no such user', '5.1.1')), false);
  assert.equal(blamesIpv6Sender('2001:db8::25', outcome('421 4.7.25 try later', '4.7.25', 'transient')), false);
  assert.equal(blamesIpv6Sender('2001:db8::25', outcome('550 5.7.25 local', '5.7.25', 'permanent', false)), false);
});
