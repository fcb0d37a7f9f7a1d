// The events of a message's life as the real `outpost serve` reports them: queued,
// delivered (with the MX and its reply), failed (550 5.1.1), bounced (the DSN's queue
// id), the address suppressed, and a quota refusal at MAIL; in order per message.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { submit } from '../helpers/e2e-clients.js';
import { FakeMta } from '../helpers/fake-mta.js';
import { makeInstallation, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';
import { SmtpTestClient } from '../helpers/smtp-client.js';
import type { DeliveryEvent } from '../../src/webhooks/types.js';
import { pythonVerify } from '../webhooks/python-verify.js';
import { startReceiver, type TestReceiver } from '../webhooks/receiver.js';

describe('delivery events of the real server', () => {
  let dns: TestDnsServer;
  let mta: FakeMta;
  let receiver: TestReceiver;
  let installation: TestInstallation;
  let serve: ServeProcess;
  const secret = 'a shared secret without the whsec_ prefix';

  before(async () => {
    mta = await FakeMta.start({ host: '127.0.0.2', name: 'mx.partial.test' });
    mta.script.rcpt = ({ argument }) => (argument === 'nobody@partial.test' ? '550 5.1.1 no such user here' : undefined);
    dns = await startDnsServer({
      zones: {
        'partial.test': { MX: [{ preference: 10, exchange: 'mx.partial.test' }] },
        'example.org': { MX: [{ preference: 10, exchange: 'mx.partial.test' }] },
        'mx.partial.test': { A: ['127.0.0.2'] },
      },
    });
    receiver = await startReceiver('accept');
    installation = await makeInstallation({
      dns,
      extraYaml: [
        `delivery: { port: ${mta.port}, retry: [1s], connectTimeout: 2s, commandTimeout: 10s, dataDoneTimeout: 10s }`,
        'quotas: { perHour: 2 }',
        'events:',
        '  webhooks:',
        `    - { url: "${receiver.url}", secretFile: hook-secret }`,
      ].join('\n'),
    });
    await writeFile(join(installation.dir, 'hook-secret'), secret);
    serve = await ServeProcess.start(installation.configFile);
  });

  after(async () => {
    serve.signal('SIGTERM');
    await serve.exit();
    await Promise.all([mta.close(), dns.close(), receiver.close()]);
    await installation.remove();
  });

  it('reports queued, delivered, failed, bounced, suppressed and quota', async () => {
    const id = await submit(serve.port(), 'app@example.org', ['ok@partial.test', 'nobody@partial.test'], 'Message-ID: <life-1@example.org>\r\nSubject: life\r\n\r\nhello\r\n');
    const events = (): DeliveryEvent[] => receiver.accepted().map((post) => JSON.parse(post.body) as DeliveryEvent);
    const has = (type: string, recipient: string | null): boolean => events().some((event) => event.type === type && event.recipient === recipient);
    await receiver.waitForAccepted(5);
    while (!(has('bounced', 'nobody@partial.test') && has('suppressed', 'nobody@partial.test') && has('delivered', 'ok@partial.test'))) await receiver.waitForAccepted(receiver.accepted().length + 1);

    const ofMessage = events().filter((event) => event.queueId === id);
    const order = ofMessage.map((event) => `${event.type} ${event.recipient ?? ''}`);
    assert.ok(order.indexOf('queued ok@partial.test') < order.indexOf('delivered ok@partial.test'), order.join(', '));
    assert.ok(order.indexOf('queued nobody@partial.test') < order.indexOf('failed nobody@partial.test'), order.join(', '));
    assert.ok(order.indexOf('failed nobody@partial.test') < order.indexOf('bounced nobody@partial.test'), order.join(', '));
    const delivered = ofMessage.find((event) => event.type === 'delivered');
    assert.equal(delivered?.messageId, '<life-1@example.org>');
    assert.equal(delivered?.sender, 'app@example.org');
    assert.equal(delivered?.remote?.mx, 'mx.partial.test');
    assert.equal(delivered?.remote?.address, '127.0.0.2');
    assert.match(delivered?.remote?.reply ?? '', /^250/);
    const failed = ofMessage.find((event) => event.type === 'failed');
    assert.equal(failed?.remote?.reply, '550 5.1.1 no such user here');
    assert.equal(failed?.remote?.status, '5.1.1');
    const bounced = ofMessage.find((event) => event.type === 'bounced');
    assert.match(String(bounced?.details?.['dsnQueueId']), /^\w+$/);
    assert.equal(events().find((event) => event.type === 'suppressed')?.details?.['action'], 'added');

    // The second message fills the hour's quota of 2; a third MAIL is refused and reported.
    await submit(serve.port(), 'app@example.org', ['ok@partial.test']);
    const client = await SmtpTestClient.connect(serve.port());
    await client.reply();
    await client.command('EHLO app.example.org');
    assert.equal((await client.command('MAIL FROM:<app@example.org>')).code, 450);
    client.close();
    while (!has('quota', null)) await receiver.waitForAccepted(receiver.accepted().length + 1);
    const quota = events().find((event) => event.type === 'quota');
    assert.equal(quota?.details?.['kind'], 'hour');
    assert.equal(quota?.details?.['limit'], 2);

    // A snapshot: events of the DSN's own delivery may still be arriving.
    const accepted = receiver.accepted();
    const ids = accepted.map((post) => post.id);
    assert.equal(new Set(ids).size, ids.length, 'every event has its own id');
    assert.deepEqual(await pythonVerify(secret, accepted), accepted.map(() => true));

    const http = await serve.waitForLog((line) => line['msg'] === 'http listening');
    const metrics = await (await fetch(`http://127.0.0.1:${String(http['port'])}/metrics`)).text();
    const value = (name: string): number => Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(metrics)?.[1]);
    assert.ok(value('outpost_webhook_deliveries_total{result="success"}') >= accepted.length, metrics);
    assert.equal(value('outpost_webhook_deliveries_total{result="failure"}'), 0);
    assert.equal(value('outpost_webhook_events_dropped_total'), 0);
    assert.ok(value('outpost_webhook_outbox_events') >= 0);
  });
});
