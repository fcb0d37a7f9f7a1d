// Delivery events survive kill -9: the real `outpost serve` posts to a loopback
// receiver that never answers (the events are in the outbox, the POST under way);
// after kill -9 and a restart with the receiver back, every event arrives, signed
// (verified by Python), queued before deferred for the message.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeInstallation, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';
import { SmtpTestClient } from '../helpers/smtp-client.js';
import type { DeliveryEvent } from '../../src/webhooks/types.js';
import { pythonVerify } from '../webhooks/python-verify.js';
import { startReceiver, type TestReceiver } from '../webhooks/receiver.js';

describe('webhooks across kill -9', () => {
  let installation: TestInstallation;
  let receiver: TestReceiver;
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  before(async () => {
    receiver = await startReceiver('hang');
    installation = await makeInstallation({
      extraYaml: `events:\n  webhooks:\n    - { url: "${receiver.url}", secretFile: webhook-secret, events: [queued, deferred, delivered] }\n`,
    });
    await writeFile(join(installation.dir, 'webhook-secret'), `${secret}\n`, { mode: 0o600 });
  });
  after(async () => {
    await receiver.close();
    await installation.remove();
  });

  it('delivers the events recorded before the crash after the restart', async () => {
    const serve = await ServeProcess.start(installation.configFile);
    const client = await SmtpTestClient.connect(serve.port());
    await client.reply();
    await client.command('EHLO crash.example.net');
    await client.command('MAIL FROM:<app@example.org>');
    await client.command('RCPT TO:<held@example.net>');
    assert.equal((await client.command('DATA')).code, 354);
    client.write('Message-ID: <crash-1@example.org>\r\nSubject: webhook crash\r\n\r\nbody\r\n.\r\n');
    const reply = await client.reply();
    const queueId = /queued as (\w+)/.exec(reply.text)?.[1];
    assert.ok(queueId !== undefined, reply.text);
    client.close();
    // The first event is being POSTed (the receiver holds the request); the deferral is recorded after it.
    await receiver.waitForPosts(1);
    await serve.waitForLog((line) => line['qid'] === queueId && line['status'] === '4.4.3');
    await serve.kill9();
    const beforeCrash = receiver.posts.map((post) => post.id);

    receiver.mode = 'accept';
    const restarted = await ServeProcess.start(installation.configFile);
    await receiver.waitForAccepted(2);
    const accepted = receiver.accepted();
    const events = accepted.map((post) => JSON.parse(post.body) as DeliveryEvent);
    assert.deepEqual(events.slice(0, 2).map((event) => [event.type, event.queueId, event.recipient]), [
      ['queued', queueId, 'held@example.net'],
      ['deferred', queueId, 'held@example.net'],
    ]);
    assert.ok(beforeCrash.every((id) => accepted.some((post) => post.id === id)), 'the event under way at the crash is delivered again');
    assert.equal(events[0]?.messageId, '<crash-1@example.org>');
    assert.equal(events[1]?.remote?.status, '4.4.3');
    assert.match(events[0]?.id ?? '', /^evt_[0-9A-Z]{26}$/);
    assert.deepEqual(await pythonVerify(secret, accepted), accepted.map(() => true));
    restarted.signal('SIGTERM');
    assert.equal(await restarted.exit(), 0);
  });
});
