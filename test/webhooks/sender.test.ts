// The webhook sender against a real HTTP receiver on loopback: the receiver fails
// (500), hangs past the timeout, stays down for hours, then comes back; every event
// arrives, in order, signed (checked by Python's hmac), and the outbox is empty after.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpPoster } from '../../src/webhooks/http-post.js';
import { EventOutbox } from '../../src/webhooks/outbox.js';
import { WebhookSender } from '../../src/webhooks/sender.js';
import { signingKey, signPayload } from '../../src/webhooks/signature.js';
import type { DeliveryEvent } from '../../src/webhooks/types.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog } from '../helpers/memory-log.js';
import { pythonVerify } from './python-verify.js';
import { startReceiver, type TestReceiver } from './receiver.js';

const HOUR_MS = 3_600_000;
const TIMEOUT_MS = 10_000;
const MAX_RETRY_DELAY_MS = 10 * 60_000;

function event(id: string, type: DeliveryEvent['type'], queueId: string, recipient: string): DeliveryEvent {
  return { id, type, timestamp: '2026-11-26T10:00:00.000Z', queueId, recipient, sender: 'app@example.org', messageId: `<${queueId}@example.org>`, remote: null, tls: null };
}

describe('webhook sender', () => {
  let dir: string;
  let receiver: TestReceiver;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-webhooks-'));
    receiver = await startReceiver('fail');
  });
  after(async () => {
    await receiver.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('retries through a 500, a timeout and hours of downtime, then delivers every event in order', async () => {
    const clock = new ManualClock();
    const log = memoryLog();
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const outbox = await EventOutbox.open({ folder: join(dir, 'events'), logger: log.logger }, [receiver.url]);
    const posted: string[] = [];
    const sender = new WebhookSender({
      outbox,
      receivers: [{ url: receiver.url, secret }],
      post: httpPoster({ clock, timeoutMs: TIMEOUT_MS }),
      clock,
      logger: log.logger,
      observer: { posted: (result) => posted.push(result) },
      initialRetryDelayMs: 1_000,
      maxRetryDelayMs: MAX_RETRY_DELAY_MS,
    });
    const events = [
      event('evt_01', 'queued', 'A1', 'a@example.net'),
      event('evt_02', 'queued', 'B1', 'b@example.net'),
      event('evt_03', 'deferred', 'A1', 'a@example.net'),
      event('evt_04', 'delivered', 'B1', 'b@example.net'),
      event('evt_05', 'delivered', 'A1', 'a@example.net'),
    ];
    for (const item of events.slice(0, 2)) await outbox.append(item, [receiver.url]);
    sender.start();
    const failures = (count: number): Promise<unknown> => log.waitFor(() => log.messages('webhook delivery failed').length >= count);

    await failures(1);
    assert.equal(receiver.posts[0]?.answered, 'fail');
    receiver.mode = 'hang';
    clock.advance(1_000);
    await receiver.waitForPosts(2);
    clock.advance(TIMEOUT_MS);
    await failures(2);
    assert.match(String(log.messages('webhook delivery failed')[1]?.['problem']), /no answer within 10000 ms/);

    // Down for three hours: the retries back off to the cap and keep the events.
    receiver.mode = 'fail';
    for (const item of events.slice(2)) await outbox.append(item, [receiver.url]);
    const downSinceMs = clock.now();
    let seen = 2;
    while (clock.now() - downSinceMs < 3 * HOUR_MS) {
      clock.advance(MAX_RETRY_DELAY_MS);
      seen += 1;
      await failures(seen);
    }
    const delays = log.messages('webhook delivery failed').map((entry) => entry['retryInMs']);
    assert.deepEqual(delays.slice(0, 4), [1_000, 2_000, 4_000, 8_000]);
    assert.equal(delays.at(-1), MAX_RETRY_DELAY_MS);
    assert.equal(outbox.size, 5);

    receiver.mode = 'accept';
    clock.advance(MAX_RETRY_DELAY_MS);
    await receiver.waitForAccepted(5);
    const accepted = receiver.accepted();
    assert.deepEqual(accepted.map((post) => post.id), events.map((item) => item.id));
    assert.deepEqual(accepted.map((post) => (JSON.parse(post.body) as DeliveryEvent).type), ['queued', 'queued', 'deferred', 'delivered', 'delivered']);
    for (const post of accepted) assert.equal(post.contentType, 'application/json');
    // Every POST (accepted or not) is signed; Python verifies them independently.
    assert.deepEqual(await pythonVerify(secret, receiver.posts), receiver.posts.map(() => true));
    assert.deepEqual(await pythonVerify(`whsec_${randomBytes(24).toString('base64')}`, accepted.slice(0, 1)), [false]);
    assert.equal(posted.filter((result) => result === 'success').length, 5);

    await sender.stop();
    assert.equal(outbox.size, 0);
    await outbox.close();
    // The acknowledgements are durable: a reopened outbox owes nothing.
    const reopened = await EventOutbox.open({ folder: join(dir, 'events'), logger: log.logger }, [receiver.url]);
    assert.equal(reopened.size, 0);
    await reopened.close();
  });

  it('signs "id.timestamp.body" with the raw bytes of a secret without the whsec_ prefix', async () => {
    const secret = 'a plain shared secret';
    const body = JSON.stringify({ hello: 'wörld' });
    const signature = signPayload(signingKey(secret), 'evt_X', 1_764_151_200, body);
    assert.deepEqual(await pythonVerify(secret, [{ id: 'evt_X', timestamp: '1764151200', body, signature }]), [true]);
    assert.deepEqual(await pythonVerify(secret, [{ id: 'evt_X', timestamp: '1764151201', body, signature }]), [false]);
  });
});
