// Hooks to events with a real outbox: a failure DSN for a recipient that ran out of
// time is `expired` and `bounced`, a delay warning is `delayed`, each receiver gets
// only the types it subscribed to, and the Message-ID is read from the header section.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeliveryEvents, messageIdOf } from '../../src/webhooks/delivery-events.js';
import { EventOutbox } from '../../src/webhooks/outbox.js';
import type { EnvelopeRecord, RecipientRecord } from '../../src/spool/types.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog } from '../helpers/memory-log.js';

const ALL = 'http://127.0.0.1:1/all';
const BOUNCES = 'http://127.0.0.1:1/bounces';

function recipient(address: string, reply: string, status: string): RecipientRecord {
  return { address, state: 'failed', attempts: 3, lastReply: reply, history: [{ at: '2026-11-26T09:00:00.000Z', reply, status, mx: 'mx.example.net' }] };
}

const original = {
  id: 'Q123',
  from: 'app@example.org',
  recipients: [],
} as unknown as EnvelopeRecord;

describe('delivery events', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-events-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reports expiry, bounces and delay warnings to the receivers that want them', async () => {
    const log = memoryLog();
    const outbox = await EventOutbox.open({ folder: dir, logger: log.logger }, [ALL, BOUNCES]);
    const events = new DeliveryEvents({
      outbox,
      receivers: [
        { url: ALL, events: ['queued', 'delivered', 'deferred', 'failed', 'bounced', 'delayed', 'expired', 'suppressed', 'quota'] },
        { url: BOUNCES, events: ['bounced'] },
      ],
      clock: new ManualClock(),
      logger: log.logger,
      facts: () => Promise.resolve({ sender: 'app@example.org', messageId: '<m1@example.org>' }),
    });
    await events.notice('failed', original, 'DSN1', [recipient('late@example.net', '451 4.4.7 delivery time expired', '4.4.7'), recipient('gone@example.net', '550 5.1.1 no such user', '5.1.1')]);
    await events.notice('delayed', original, 'DSN2', [recipient('slow@example.net', '451 4.4.1 connection refused', '4.4.1')]);
    const all = outbox.pendingFor(ALL);
    assert.deepEqual(all.map((event) => `${event.type} ${event.recipient}`), ['expired late@example.net', 'bounced late@example.net', 'bounced gone@example.net', 'delayed slow@example.net']);
    assert.deepEqual(all.map((event) => event.details?.['dsnQueueId']), ['DSN1', 'DSN1', 'DSN1', 'DSN2']);
    assert.equal(all[0]?.messageId, '<m1@example.org>');
    assert.equal(all[2]?.remote?.reply, '550 5.1.1 no such user');
    assert.deepEqual(outbox.pendingFor(BOUNCES).map((event) => `${event.type} ${event.recipient}`), ['bounced late@example.net', 'bounced gone@example.net']);
    assert.equal(new Set(all.map((event) => event.id)).size, all.length);
    await outbox.close();
  });

  it('reads the Message-ID field, folded or not', () => {
    assert.equal(messageIdOf('Subject: x\r\nMessage-ID: <a@b>\r\n\r\n'), '<a@b>');
    assert.equal(messageIdOf('message-id:\r\n <folded@example.org>\r\nTo: c\r\n'), '<folded@example.org>');
    assert.equal(messageIdOf('Subject: none\r\n'), null);
  });
});
