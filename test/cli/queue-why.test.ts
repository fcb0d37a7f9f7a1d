// `outpost queue why ID|--all [--json]` over a spool with messages in several states
// (written through the Spool API), no server running.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Spool } from '../../src/spool/spool.js';
import type { EnvelopeRecord, RecipientRecord } from '../../src/spool/types.js';
import { runCliCaptured } from '../helpers/run-cli.js';
import { commitMessage, makeTempDir, openSpool, removeDir, sampleEnvelope } from '../spool/fixtures.js';

const CONFIG = ['--config', 'outpost.yaml'];
const MINUTE_MS = 60_000;

async function setUp(): Promise<{ dir: string; spool: Spool }> {
  const dir = await makeTempDir('outpost-queue-why-');
  await writeFile(join(dir, 'domains'), 'example.org\n');
  await writeFile(
    join(dir, 'outpost.yaml'),
    `domains: domains\nspoolDir: ${JSON.stringify(join(dir, 'spool'))}\ndelivery:\n  retry: [5m, 10m, 30m]\n  maxQueueLifetime: 2d\n  delayWarning: 4h\n`,
  );
  return { dir, spool: await openSpool(join(dir, 'spool')) };
}

type RecipientChange = (recipient: RecipientRecord) => RecipientRecord;

/** Commits a message and rewrites its record as if `attempts` rounds had happened. */
async function queued(spool: Spool, recipients: readonly string[], fields: { arrivalMs: number; nextAttemptMs: number; attempts: number }, change: RecipientChange): Promise<EnvelopeRecord> {
  const record = await commitMessage(spool, 'Subject: hi\r\n\r\nbody\r\n', sampleEnvelope(recipients));
  return spool.update(record.id, (current) => ({
    ...current,
    arrival: new Date(fields.arrivalMs).toISOString(),
    nextAttempt: new Date(fields.nextAttemptMs).toISOString(),
    attempts: fields.attempts,
    recipients: current.recipients.map(change),
  }));
}

function attempted(reply: string, status: string, atMs: number, extra: { mx?: string; address?: string; tls?: string | null } = {}): RecipientChange {
  return (recipient) => ({
    ...recipient,
    state: reply.startsWith('2') ? 'delivered' : reply.startsWith('5') ? 'failed' : 'pending',
    attempts: recipient.attempts + 1,
    lastReply: reply,
    history: [...recipient.history, { at: new Date(atMs).toISOString(), reply, status, ...extra }],
  });
}

test('queue why explains greylisting, DNS failures, expiry and mixed states, with --json and --all', async (t) => {
  const { dir, spool } = await setUp();
  t.after(() => removeDir(dir));
  const nowMs = Date.now();
  const greylisted = await queued(
    spool,
    ['b@example.net'],
    { arrivalMs: nowMs - 10 * MINUTE_MS, nextAttemptMs: nowMs + 4 * 60 * MINUTE_MS, attempts: 1 },
    attempted('451 4.7.1 Greylisted, please try again later', '4.7.1', nowMs - 9 * MINUTE_MS, { mx: 'mx1.example.net', address: '192.0.2.25', tls: 'TLSv1.3 TLS_AES_256_GCM_SHA384 (unverified)' }),
  );
  const mixed = await queued(spool, ['ok@example.com', 'dns@example.com', 'gone@example.com'], { arrivalMs: nowMs - 5 * 60 * MINUTE_MS, nextAttemptMs: nowMs - MINUTE_MS, attempts: 2 }, (recipient) => {
    if (recipient.address === 'ok@example.com') return attempted('250 2.0.0 ok', '2.0.0', nowMs - 60 * MINUTE_MS, { mx: 'mx.example.com', address: '192.0.2.30', tls: null })(recipient);
    if (recipient.address === 'gone@example.com') return attempted('550 5.1.1 no such user', '5.1.1', nowMs - 60 * MINUTE_MS, { mx: 'mx.example.com', address: '192.0.2.30', tls: null })(recipient);
    return attempted('451 4.4.3 example.com: DNS lookup failed', '4.4.3', nowMs - 2 * MINUTE_MS)(attempted('451 4.4.1 connection refused by mx.example.com[192.0.2.30]', '4.4.1', nowMs - 60 * MINUTE_MS)(recipient));
  });
  const expiring = await queued(
    spool,
    ['late@example.net'],
    { arrivalMs: nowMs - 2 * 24 * 60 * MINUTE_MS + 10 * MINUTE_MS, nextAttemptMs: nowMs + 10 * MINUTE_MS, attempts: 9 },
    attempted('451 4.7.5 example.net: no MX host (mx1.example.net) matches its MTA-STS policy (mx: mail.example.net); not delivered without it', '4.7.5', nowMs - 20 * MINUTE_MS),
  );
  const fresh = await commitMessage(spool, 'Subject: new\r\n\r\nx\r\n');
  await spool.close();

  const text = await runCliCaptured(['queue', 'why', greylisted.id, ...CONFIG], { cwd: dir });
  assert.equal(text.exitCode, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^message ${greylisted.id} from a@example.org, arrived \\S+, 1 attempts$`, 'm'));
  assert.match(text.stdout, new RegExp(`^next: +attempt 2 at ${escape(greylisted.nextAttempt)} \\(in (3h 59m|4h)[^)]*\\); if it fails too, the one after about 10m later \\(delivery.retry\\)`, 'm'));
  assert.match(text.stdout, /^delay warning: due at /m);
  assert.match(text.stdout, /^providers: +unknown \(no server is running/m);
  assert.match(text.stdout, /^ {2}b@example.net: pending, 1 attempts, provider example.net$/m);
  assert.match(text.stdout, /^ {4}why: mx1.example.net greylists new senders \(4\.7\.1\)/m);
  assert.match(text.stdout, /^ {4}\S+ mx1\.example\.net\[192\.0\.2\.25\] tls=TLSv1\.3 TLS_AES_256_GCM_SHA384 \(unverified\): 451 4\.7\.1 Greylisted, please try again later \(greylisting\)$/m);

  const json = await runCliCaptured(['queue', 'why', mixed.id, '--json', ...CONFIG], { cwd: dir });
  assert.equal(json.exitCode, 0, json.stderr);
  const report = JSON.parse(json.stdout) as Record<string, unknown> & { recipients: Array<Record<string, unknown> & { history: Array<Record<string, unknown>> }> };
  assert.equal(report['id'], mixed.id);
  assert.equal(report['server'], 'not-running');
  assert.equal(report['providers'], null);
  assert.equal(report['nextAttempt'], mixed.nextAttempt);
  assert.match(String(report['next']), /^attempt 3 due now/);
  assert.deepEqual(
    report.recipients.map((recipient) => [recipient['address'], recipient['state'], recipient['reason'], recipient['provider']]),
    [
      ['ok@example.com', 'delivered', 'delivered', 'example.com'],
      ['dns@example.com', 'pending', 'dns-temporary', null],
      ['gone@example.com', 'failed', 'remote-permanent', 'example.com'],
    ],
  );
  assert.deepEqual(report.recipients[1]?.history.map((attempt) => [attempt['status'], attempt['reason'], attempt['mx'], attempt['address']]), [
    ['4.4.1', 'unreachable', null, null],
    ['4.4.3', 'dns-temporary', null, null],
  ]);
  assert.deepEqual(report.recipients[0]?.history[0], {
    at: new Date(nowMs - 60 * MINUTE_MS).toISOString(),
    mx: 'mx.example.com',
    address: '192.0.2.30',
    tls: null,
    status: '2.0.0',
    reply: '250 2.0.0 ok',
    reason: 'delivered',
    explanation: 'delivered',
  });
  assert.deepEqual(report.recipients.map((recipient) => recipient['lastExchange']), [null, null, null]);

  const late = await runCliCaptured(['queue', 'why', expiring.id, ...CONFIG], { cwd: dir });
  assert.equal(late.exitCode, 0, late.stderr);
  assert.match(late.stdout, /that is the last attempt: the queue lifetime ends at \S+, then pending recipients bounce \(4\.4\.7\)/);
  assert.match(late.stdout, /why: no TLS connection meeting the destination's policy \(MTA-STS, DANE or delivery\.tlsPolicy\)/);

  const all = await runCliCaptured(['queue', 'why', '--all', '--json', ...CONFIG], { cwd: dir });
  assert.equal(all.exitCode, 0, all.stderr);
  const ids = (JSON.parse(all.stdout) as Array<{ id: string }>).map((entry) => entry.id).sort();
  assert.deepEqual(ids, [greylisted.id, mixed.id, expiring.id].sort());
  assert.ok(!ids.includes(fresh.id));

  const freshWhy = await runCliCaptured(['queue', 'why', fresh.id, ...CONFIG], { cwd: dir });
  assert.match(freshWhy.stdout, /^next: +first attempt /m);
  assert.match(freshWhy.stdout, /why: not attempted yet/);
});

test('queue why refuses bad arguments and unknown ids', async (t) => {
  const { dir, spool } = await setUp();
  t.after(() => removeDir(dir));
  await spool.close();
  for (const args of [['queue', 'why'], ['queue', 'why', 'abc', '--all'], ['queue', 'why', 'a', 'b'], ['queue', 'list', '--all']]) {
    const result = await runCliCaptured([...args, ...CONFIG], { cwd: dir });
    assert.equal(result.exitCode, 2, args.join(' '));
    assert.match(result.stderr, /usage: outpost queue/);
  }
  const missing = await runCliCaptured(['queue', 'why', 'abc123', ...CONFIG], { cwd: dir });
  assert.deepEqual([missing.exitCode, missing.stderr], [1, 'outpost queue why: no message with id abc123\n']);
  const none = await runCliCaptured(['queue', 'why', '--all', ...CONFIG], { cwd: dir });
  assert.deepEqual([none.exitCode, none.stdout], [0, 'no stuck messages (none deferred after an attempt)\n']);
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
