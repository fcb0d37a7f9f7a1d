// The bounce of a REQUIRETLS message (RFC 8689 §5): the real scheduler, SMTP
// transport and DSN builder on a real spool. The report carries the original's
// headers only (as RET=HDRS) and is itself sent with REQUIRETLS to the sender's MX.

import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outboundTrust } from '../../src/delivery/outbound-tls-setup.js';
import { OutboundTls, type StsPolicySource } from '../../src/delivery/tls-policy.js';
import { SmtpTransport } from '../../src/delivery/transport.js';
import type { DeliveryPlan } from '../../src/dns/next-hop.js';
import { buildDsn } from '../../src/dsn/build.js';
import { DeliveryScheduler } from '../../src/scheduler/scheduler.js';
import { Spool } from '../../src/spool/spool.js';
import { CountingConnector, fakeMtaPool, TEST_TIMEOUTS } from '../delivery/fixtures.js';
import type { FakeMta } from '../helpers/fake-mta.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog } from '../helpers/memory-log.js';
import { makeTestCa } from '../helpers/test-ca.js';
import { DEFAULT_SETTINGS } from './fixtures.js';

const fakeMta = fakeMtaPool(after);
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-requiretls-dsn-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Every domain publishes an enforce policy naming its mx1. */
const enforcing: StsPolicySource = {
  lookup: (domain) =>
    Promise.resolve({ kind: 'policy', domain, id: '1', policy: { mode: 'enforce', mx: [`mx1.${domain}`], maxAgeSeconds: 86_400 }, source: 'cached', fetchedAtMs: 0, expiresAtMs: Number.MAX_SAFE_INTEGER }),
};

function planner(byDomain: Readonly<Record<string, FakeMta>>): (domain: string) => Promise<DeliveryPlan> {
  return (domain) => {
    const mta = byDomain[domain];
    if (mta === undefined) return Promise.resolve({ ok: false, domain, permanent: false, status: '4.4.3', reason: 'no such test domain' });
    return Promise.resolve({ ok: true, domain, source: 'mx', hosts: [{ host: `mx1.${domain}`, preference: 10, port: mta.port, addresses: [mta.host], ttlSeconds: 300 }] });
  };
}

it('bounces a REQUIRETLS message with 5.7.30, headers only, in a report sent with REQUIRETLS', async () => {
  const ca = await makeTestCa();
  await writeFile(join(dir, 'ca.pem'), ca.cert);
  const { secureContext } = await outboundTrust(join(dir, 'ca.pem'));
  const destination = await fakeMta({ name: 'mx1.dest.test', tls: await ca.issue('mx1.dest.test') });
  const senderMx = await fakeMta({ name: 'mx1.origin.test', tls: await ca.issue('mx1.origin.test'), extensions: { requireTls: true } });
  const clock = new ManualClock();
  const log = memoryLog('debug');
  const spool = await Spool.open({ dir: join(dir, 'spool'), clock, logger: log.logger, recover: true });
  const transport = new SmtpTransport({
    hostname: 'relay.outpost.test',
    planner: planner({ 'dest.test': destination, 'origin.test': senderMx }),
    connector: new CountingConnector(clock),
    clock,
    logger: log.logger,
    timeouts: TEST_TIMEOUTS,
    outboundTls: new OutboundTls({ levels: new Map(), mtaSts: enforcing, secureContext }),
  });
  const scheduler = new DeliveryScheduler({ spool, transport, buildDsn, clock, logger: log.logger, random: () => 0.5, hostname: 'relay.outpost.test', delivery: DEFAULT_SETTINGS });
  try {
    const writer = await spool.begin();
    writer.body.write(Buffer.from('From: sender@origin.test\r\nSubject: the secret plans\r\n\r\nTOP SECRET BODY\r\n'));
    const original = await writer.commit({
      from: 'sender@origin.test',
      recipients: ['a@dest.test'],
      smtputf8: false,
      body: '7BIT',
      client: { address: '127.0.0.1', helo: 'client.test', listener: 'submission', tls: 'TLSv1.3 TLS_AES_256_GCM_SHA384', auth: 'sender@origin.test' },
      tlsRequirement: 'requiretls',
    });
    await scheduler.start();
    await senderMx.waitForMessages(1);
    assert.equal(destination.messages.length, 0, 'never sent to the MX without REQUIRETLS');
    const report = senderMx.messages[0];
    assert.ok(report);
    assert.equal(report.from, '');
    assert.equal(report.mailParams, 'REQUIRETLS');
    assert.equal(report.tls, true);
    const text = report.data.toString('utf8');
    assert.match(text, /^Status: 5\.7\.30$/m);
    assert.match(text, /^Content-Type: text\/rfc822-headers$/m);
    assert.match(text, /^Subject: the secret plans$/m, 'the original headers are returned');
    assert.doesNotMatch(text, /TOP SECRET BODY/, 'the body is not');
    await scheduler.idle();
    assert.equal(await spool.read(original.id), undefined, 'the bounced message left the spool');
  } finally {
    const stopped = scheduler.stop(0);
    clock.advance(0);
    await stopped;
    await spool.close();
  }
});
