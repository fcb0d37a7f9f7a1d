// outpost's predefined metrics: every event method moves its series, known
// label values start at 0, and the queue gauges are read at scrape time.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../../src/observability/metrics.js';
import { memoryLog } from '../helpers/memory-log.js';
import { parseExposition, sampleValue } from './exposition-parser.js';

const FAMILIES: [string, 'counter' | 'gauge'][] = [
  ['outpost_smtp_sessions_total', 'counter'],
  ['outpost_smtp_sessions_active', 'gauge'],
  ['outpost_messages_accepted_total', 'counter'],
  ['outpost_messages_rejected_total', 'counter'],
  ['outpost_queue_messages', 'gauge'],
  ['outpost_queue_oldest_age_seconds', 'gauge'],
  ['outpost_deliveries_total', 'counter'],
  ['outpost_dsn_sent_total', 'counter'],
  ['outpost_auth_failures_total', 'counter'],
  ['outpost_tls_sessions_total', 'counter'],
  ['outpost_recipient_verifications_total', 'counter'],
];

describe('Metrics', () => {
  it('declares every outpost metric with HELP and TYPE, known label values at 0', async () => {
    const families = parseExposition(await new Metrics({ listeners: ['mta', 'submission'], rejectReasons: ['relay-denied'] }).render());
    for (const [name, type] of FAMILIES) {
      assert.equal(families.get(name)?.type, type, name);
      assert.ok((families.get(name)?.help ?? '').length > 0, name);
    }
    assert.equal(sampleValue(families, 'outpost_smtp_sessions_total', { listener: 'submission' }), 0);
    assert.equal(sampleValue(families, 'outpost_messages_accepted_total', { listener: 'mta' }), 0);
    assert.equal(sampleValue(families, 'outpost_messages_rejected_total', { reason: 'relay-denied' }), 0);
    for (const outcome of ['delivered', 'deferred', 'failed']) assert.equal(sampleValue(families, 'outpost_deliveries_total', { outcome }), 0);
    for (const action of ['failed', 'delayed']) assert.equal(sampleValue(families, 'outpost_dsn_sent_total', { action }), 0);
    for (const direction of ['in', 'out']) assert.equal(sampleValue(families, 'outpost_tls_sessions_total', { direction }), 0);
    assert.equal(sampleValue(families, 'outpost_auth_failures_total'), 0);
    assert.equal(sampleValue(families, 'outpost_queue_messages'), 0);
    for (const source of ['cache', 'probe']) {
      for (const result of ['valid', 'invalid']) assert.equal(sampleValue(families, 'outpost_recipient_verifications_total', { result, source }), 0);
    }
  });

  it('moves each series on its event', async () => {
    const metrics = new Metrics();
    metrics.sessionStarted('mta');
    metrics.sessionStarted('mta');
    metrics.sessionStarted('smtps');
    metrics.sessionEnded();
    metrics.messageAccepted('smtps');
    metrics.messageRejected('relay-denied');
    metrics.messageRejected('relay-denied');
    metrics.messageRejected('spoofed-sender');
    metrics.delivery('delivered', 3);
    metrics.delivery('deferred');
    metrics.dsnSent('failed');
    metrics.authFailed();
    metrics.tlsSession('in');
    metrics.tlsSession('out');
    metrics.tlsSession('out');
    metrics.recipientVerified('invalid', 'probe');
    metrics.recipientVerified('invalid', 'cache');
    metrics.recipientVerified('invalid', 'cache');
    const families = parseExposition(await metrics.render());
    const expected: [string, Record<string, string>, number][] = [
      ['outpost_smtp_sessions_total', { listener: 'mta' }, 2],
      ['outpost_smtp_sessions_total', { listener: 'smtps' }, 1],
      ['outpost_smtp_sessions_active', {}, 2],
      ['outpost_messages_accepted_total', { listener: 'smtps' }, 1],
      ['outpost_messages_rejected_total', { reason: 'relay-denied' }, 2],
      ['outpost_messages_rejected_total', { reason: 'spoofed-sender' }, 1],
      ['outpost_deliveries_total', { outcome: 'delivered' }, 3],
      ['outpost_deliveries_total', { outcome: 'deferred' }, 1],
      ['outpost_deliveries_total', { outcome: 'failed' }, 0],
      ['outpost_dsn_sent_total', { action: 'failed' }, 1],
      ['outpost_dsn_sent_total', { action: 'delayed' }, 0],
      ['outpost_auth_failures_total', {}, 1],
      ['outpost_tls_sessions_total', { direction: 'in' }, 1],
      ['outpost_tls_sessions_total', { direction: 'out' }, 2],
      ['outpost_recipient_verifications_total', { result: 'invalid', source: 'probe' }, 1],
      ['outpost_recipient_verifications_total', { result: 'invalid', source: 'cache' }, 2],
      ['outpost_recipient_verifications_total', { result: 'valid', source: 'probe' }, 0],
    ];
    for (const [name, labels, value] of expected) assert.equal(sampleValue(families, name, labels), value, `${name} ${JSON.stringify(labels)}`);
  });

  it('reads the queue gauges from the callback at every scrape', async () => {
    const metrics = new Metrics();
    let snapshot = { messages: 4, oldestAgeSeconds: 120.5 };
    let calls = 0;
    metrics.setQueueGauges(async () => {
      calls += 1;
      return snapshot;
    });
    let families = parseExposition(await metrics.render());
    assert.equal(sampleValue(families, 'outpost_queue_messages'), 4);
    assert.equal(sampleValue(families, 'outpost_queue_oldest_age_seconds'), 120.5);
    snapshot = { messages: 0, oldestAgeSeconds: 0 };
    families = parseExposition(await metrics.render());
    assert.equal(sampleValue(families, 'outpost_queue_messages'), 0);
    assert.equal(calls, 2, 'one callback call per scrape feeds both gauges');
  });

  it('shows the queue gauges as NaN and logs when the callback fails, keeping the rest of the scrape', async () => {
    const log = memoryLog();
    const metrics = new Metrics({ logger: log.logger });
    metrics.authFailed();
    metrics.setQueueGauges(() => {
      throw new Error('spool unreadable');
    });
    const families = parseExposition(await metrics.render());
    assert.ok(Number.isNaN(sampleValue(families, 'outpost_queue_messages')));
    assert.ok(Number.isNaN(sampleValue(families, 'outpost_queue_oldest_age_seconds')));
    assert.equal(sampleValue(families, 'outpost_auth_failures_total'), 1);
    assert.equal(log.messages('queue metrics collection failed').length, 1);
  });

  it('keeps separate counts per instance (no global registry)', async () => {
    const first = new Metrics();
    first.authFailed();
    assert.equal(sampleValue(parseExposition(await new Metrics().render()), 'outpost_auth_failures_total'), 0);
  });
  it('exports the spool free space at each scrape beside the reserve, NaN when the reading fails', async () => {
    const log = memoryLog();
    const metrics = new Metrics({ logger: log.logger });
    assert.equal(parseExposition(await metrics.render()).has('outpost_spool_free_bytes'), false, 'absent until wired');
    let reading: number | Error = 5_000_000;
    metrics.setSpoolFreeSpace(() => (reading instanceof Error ? Promise.reject(reading) : Promise.resolve(reading)), 1_000_000);
    let families = parseExposition(await metrics.render());
    assert.equal(families.get('outpost_spool_free_bytes')?.type, 'gauge');
    assert.equal(sampleValue(families, 'outpost_spool_free_bytes'), 5_000_000);
    assert.equal(sampleValue(families, 'outpost_spool_min_free_bytes'), 1_000_000);
    reading = 700_000;
    assert.equal(sampleValue(parseExposition(await metrics.render()), 'outpost_spool_free_bytes'), 700_000);
    reading = new Error('statfs failed');
    families = parseExposition(await metrics.render());
    assert.ok(Number.isNaN(sampleValue(families, 'outpost_spool_free_bytes')));
    assert.equal(log.messages('spool free space metric failed').length, 1);
  });
});
