// The webhook outbox on disk: appends are durable (a reopened outbox owes the same
// events in order), a torn last line is cut off, acknowledgements persist, the size
// bound drops the oldest event with a log line and a count, and events owed only to
// a receiver no longer configured are forgotten.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventOutbox, OUTBOX_FILE } from '../../src/webhooks/outbox.js';
import type { DeliveryEvent } from '../../src/webhooks/types.js';
import { memoryLog } from '../helpers/memory-log.js';

const A = 'http://127.0.0.1:1/a';
const B = 'http://127.0.0.1:1/b';

function event(id: string): DeliveryEvent {
  return { id, type: 'delivered', timestamp: '2026-11-26T10:00:00.000Z', queueId: 'Q1', recipient: 'r@example.net', sender: '', messageId: null, remote: null, tls: null };
}

describe('webhook outbox', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'outpost-outbox-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('keeps owed events across a reopen, per receiver and in order, and cuts a torn last line', async () => {
    const folder = join(root, 'replay');
    const log = memoryLog();
    const outbox = await EventOutbox.open({ folder, logger: log.logger }, [A, B]);
    await Promise.all([outbox.append(event('e1'), [A, B]), outbox.append(event('e2'), [A]), outbox.append(event('e3'), [B])]);
    outbox.acknowledge('e1', A);
    outbox.acknowledge('e3', B);
    await outbox.close();
    await appendFile(join(folder, OUTBOX_FILE), '{"t":"e","ev":{"id":"torn"');

    const reopened = await EventOutbox.open({ folder, logger: log.logger }, [A, B]);
    assert.deepEqual(reopened.pendingFor(A).map((item) => item.id), ['e2']);
    assert.deepEqual(reopened.pendingFor(B).map((item) => item.id), ['e1']);
    assert.equal(reopened.size, 2);
    await reopened.close();
    assert.ok((await readFile(join(folder, OUTBOX_FILE), 'utf8')).endsWith('\n'), 'the torn line is gone');

    // B is no longer configured: what only B was owed is forgotten.
    const onlyA = await EventOutbox.open({ folder, logger: log.logger }, [A]);
    assert.deepEqual(onlyA.pendingFor(A).map((item) => item.id), ['e2']);
    assert.equal(onlyA.size, 1);
    await onlyA.close();
  });

  it('drops the oldest event past maxEvents, counted and logged, and the drop is durable', async () => {
    const folder = join(root, 'bound');
    const log = memoryLog();
    const dropped: number[] = [];
    const options = { folder, logger: log.logger, maxEvents: 3, observer: { dropped: (count: number) => dropped.push(count) } };
    const outbox = await EventOutbox.open(options, [A]);
    for (const id of ['e1', 'e2', 'e3', 'e4', 'e5']) await outbox.append(event(id), [A]);
    assert.deepEqual(outbox.pendingFor(A).map((item) => item.id), ['e3', 'e4', 'e5']);
    assert.deepEqual(dropped, [1, 1]);
    const warnings = log.messages('webhook outbox full: oldest event dropped');
    assert.deepEqual(warnings.map((entry) => entry['oldestEventId']), ['e1', 'e2']);
    await outbox.close();
    const reopened = await EventOutbox.open(options, [A]);
    assert.deepEqual(reopened.pendingFor(A).map((item) => item.id), ['e3', 'e4', 'e5']);
    await reopened.close();
  });

  it('rewrites the file once it is mostly acknowledged, keeping what is still owed', async () => {
    const folder = join(root, 'compact');
    const log = memoryLog();
    const options = { folder, logger: log.logger, compactAfterDeadLines: 20 };
    const outbox = await EventOutbox.open(options, [A]);
    for (let index = 0; index < 30; index += 1) await outbox.append(event(`e${index}`), [A]);
    for (let index = 0; index < 29; index += 1) outbox.acknowledge(`e${index}`, A);
    await outbox.append(event('last'), [A]);
    await outbox.close();
    const lines = (await readFile(join(folder, OUTBOX_FILE), 'utf8')).split('\n').filter((line) => line !== '');
    assert.ok(lines.length < 20, `${lines.length} lines after compaction`);
    const reopened = await EventOutbox.open(options, [A]);
    assert.deepEqual(reopened.pendingFor(A).map((item) => item.id), ['e29', 'last']);
    await reopened.close();
  });
});
