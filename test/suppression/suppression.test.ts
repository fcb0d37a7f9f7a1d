// The suppression list over a real listener: permanent mailbox failures
// (as the scheduler reports them) suppress an address `after` times within the
// ttl, RCPT is refused with 550 5.1.1 until the ttl passes (manual clock), the
// list survives a restart in suppression.json, and swaks sees the refusal.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from '../../src/observability/prometheus.js';
import { sendingParts, type SendingParts } from '../../src/sending-setup.js';
import { Suppressions } from '../../src/suppression/suppressions.js';
import { swaks } from '../helpers/e2e-clients.js';
import { startHarness, type Harness } from '../helpers/relay-harness.js';
import { SmtpTestClient } from '../helpers/smtp-client.js';

const DAY_MS = 86_400_000;

interface Rig {
  readonly harness: Harness;
  readonly parts: SendingParts;
  readonly registry: Registry;
}

async function startRig(after: number, ttlMs = 30 * DAY_MS): Promise<Rig> {
  const registry = new Registry();
  let parts: SendingParts | undefined;
  const harness = await startHarness({
    domains: ['example.org'],
    guards: ({ spoolDir, clock, logger }) => {
      parts = sendingParts(
        { spoolDir, suppression: { enabled: true, after, ttlMs }, quotas: { perHour: 0, perDay: 0 } },
        { clock, logger, registry, isLocalDomain: (domain) => domain === 'example.org' },
      );
      return parts.guards;
    },
  });
  if (parts === undefined) throw new Error('guards not built');
  await parts.suppressions.load();
  return { harness, parts, registry };
}

/** RCPT TO each address in one transaction from the trusted client (sender in the local domain); the replies. */
async function rcptReplies(harness: Harness, recipients: readonly string[]): Promise<string[]> {
  const client = await SmtpTestClient.connect(harness.port);
  await client.reply();
  await client.command('EHLO app.example.org');
  assert.equal((await client.command('MAIL FROM:<app@example.org>')).code, 250);
  const replies: string[] = [];
  for (const recipient of recipients) replies.push((await client.command(`RCPT TO:<${recipient}>`)).text);
  await client.command('QUIT');
  client.close();
  return replies;
}

async function fail(rig: Rig, address: string, status = '5.1.1', reply = `550 ${status} <${address}>: no such user here`): Promise<void> {
  rig.parts.permanentFailure(address, status, reply);
  await rig.parts.suppressions.idle();
}

describe('suppression after one permanent failure (after: 1)', () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig(1);
  });
  after(async () => {
    await rig.harness.close();
  });

  it('refuses RCPT to the failed address with 550 5.1.1 naming the date, the remote reply and the command', async () => {
    await fail(rig, 'dead@remote.test');
    const [refused, other] = await rcptReplies(rig.harness, ['dead@remote.test', 'alive@remote.test']);
    assert.equal(
      refused,
      '550 5.1.1 <dead@remote.test>: Recipient address rejected: suppressed after a permanent failure on 2026-11-26 10:00 UTC (550 5.1.1 <dead@remote.test>: no such user here); see outpost suppress',
    );
    assert.match(other ?? '', /^250 2\.1\.5/);
    assert.ok(rig.harness.log.entries.some((entry) => entry['msg'] === 'address suppressed' && entry['rcpt'] === 'dead@remote.test'));
    assert.ok(rig.harness.log.entries.some((entry) => entry['msg'] === 'recipient refused: suppressed' && entry['rcpt'] === 'dead@remote.test'));
  });

  it('quotes at most 80 characters of a long remote reply, printable only', async () => {
    await fail(rig, 'long@remote.test', '5.1.1', `550 5.1.1 \u0007${'x'.repeat(400)}`);
    const [refused] = await rcptReplies(rig.harness, ['long@remote.test']);
    assert.equal(refused, `550 5.1.1 <long@remote.test>: Recipient address rejected: suppressed after a permanent failure on 2026-11-26 10:00 UTC (550 5.1.1 ${'x'.repeat(67)}...); see outpost suppress`);
  });

  it('matches the address without regard to case', async () => {
    const [refused] = await rcptReplies(rig.harness, ['DEAD@Remote.TEST']);
    assert.match(refused ?? '', /^550 5\.1\.1 <DEAD@Remote\.TEST>: Recipient address rejected: suppressed/);
  });

  it('counts only mailbox statuses 5.1.1, 5.1.6 and 5.1.10, not 5.1.2, 5.7.1 or 5.0.0', async () => {
    await fail(rig, 'moved@remote.test', '5.1.6');
    await fail(rig, 'nullmx@nomail.test', '5.1.10', '556 5.1.10 nomail.test: null MX');
    await fail(rig, 'nodomain@gone.test', '5.1.2');
    await fail(rig, 'policy@remote.test', '5.7.1');
    await fail(rig, 'other@remote.test', '5.0.0');
    const replies = await rcptReplies(rig.harness, ['moved@remote.test', 'nullmx@nomail.test', 'nodomain@gone.test', 'policy@remote.test', 'other@remote.test']);
    assert.deepEqual(
      replies.map((text) => text.slice(0, 9)),
      ['550 5.1.1', '550 5.1.1', '250 2.1.5', '250 2.1.5', '250 2.1.5'],
    );
  });

  it('leaves recipients in the local domains to recipient verification', async () => {
    await fail(rig, 'gone@example.org');
    assert.equal(await rig.parts.suppressions.add('added@example.org'), true);
    const replies = await rcptReplies(rig.harness, ['gone@example.org', 'added@example.org']);
    assert.deepEqual(replies.map((text) => text.slice(0, 3)), ['250', '250']);
    assert.ok(!rig.parts.suppressions.entries().some((entry) => entry.address === 'gone@example.org'));
  });

  it('keeps the list in suppression.json: a new server loads it', async () => {
    const stored = JSON.parse(await readFile(join(rig.harness.spoolDir, 'suppression.json'), 'utf8')) as { entries: { address: string; expires: string | null }[] };
    const dead = stored.entries.find((entry) => entry.address === 'dead@remote.test');
    assert.equal(dead?.expires, '2026-12-26T10:00:00.000Z');
    const reloaded = new Suppressions({ spoolDir: rig.harness.spoolDir, settings: { after: 1, ttlMs: 30 * DAY_MS }, clock: rig.harness.clock, logger: rig.harness.logger });
    await reloaded.load();
    assert.ok(reloaded.entries().some((entry) => entry.address === 'dead@remote.test' && entry.expiresAtMs !== undefined));
  });

  it('exports the refusals and the list size as metrics', async () => {
    const text = await rig.registry.render();
    assert.match(text, /^outpost_suppressed_rcpt_total [1-9]\d*$/m);
    assert.match(text, /^outpost_suppression_list_size 5$/m);
    assert.match(text, /^outpost_suppressions_total\{source="delivery"\} 4$/m);
  });

  it('is refused for swaks too (an independent client)', async () => {
    const result = await swaks(['--server', '127.0.0.1', '--port', String(rig.harness.port), '--from', 'app@example.org', '--to', 'dead@remote.test', '--helo', 'app.example.org']);
    assert.equal(result.ok, false, result.output);
    assert.match(result.output, /<\*\* 550 5\.1\.1 <dead@remote\.test>: Recipient address rejected: suppressed after a permanent failure/);
  });

  it('lifts the suppression when the ttl has passed (manual clock)', async () => {
    rig.harness.clock.advance(30 * DAY_MS - 1);
    assert.match((await rcptReplies(rig.harness, ['dead@remote.test']))[0] ?? '', /^550 5\.1\.1/);
    rig.harness.clock.advance(1);
    assert.match((await rcptReplies(rig.harness, ['dead@remote.test']))[0] ?? '', /^250 2\.1\.5/);
    assert.equal(rig.parts.suppressions.size(), 0);
  });
});

describe('suppression after two permanent failures (after: 2)', () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig(2, 10 * DAY_MS);
  });
  after(async () => {
    await rig.harness.close();
  });

  it('accepts after one failure and refuses after the second within the ttl', async () => {
    await fail(rig, 'twice@remote.test');
    assert.match((await rcptReplies(rig.harness, ['twice@remote.test']))[0] ?? '', /^250/);
    assert.equal(rig.parts.suppressions.entries().find((entry) => entry.address === 'twice@remote.test')?.failuresMs.length, 1);
    rig.harness.clock.advance(DAY_MS);
    await fail(rig, 'twice@remote.test');
    assert.match((await rcptReplies(rig.harness, ['twice@remote.test']))[0] ?? '', /^550 5\.1\.1 <twice@remote\.test>: Recipient address rejected: suppressed after a permanent failure on 2026-11-27 10:00 UTC/);
  });

  it('does not suppress when the two failures are further apart than the ttl', async () => {
    await fail(rig, 'sometimes@remote.test');
    rig.harness.clock.advance(10 * DAY_MS + 1);
    await fail(rig, 'sometimes@remote.test');
    assert.match((await rcptReplies(rig.harness, ['sometimes@remote.test']))[0] ?? '', /^250/);
    rig.harness.clock.advance(DAY_MS);
    await fail(rig, 'sometimes@remote.test');
    assert.match((await rcptReplies(rig.harness, ['sometimes@remote.test']))[0] ?? '', /^550 5\.1\.1/);
  });

  it('takes an operator add at once and forgets a removed address', async () => {
    assert.equal(await rig.parts.suppressions.add('manual@remote.test'), true);
    assert.match(
      (await rcptReplies(rig.harness, ['manual@remote.test']))[0] ?? '',
      /^550 5\.1\.1 <manual@remote\.test>: Recipient address rejected: suppressed by the operator on \d{4}-\d\d-\d\d \d\d:\d\d UTC; see outpost suppress$/,
    );
    assert.equal(await rig.parts.suppressions.remove('Manual@Remote.test'), true);
    assert.equal(await rig.parts.suppressions.remove('manual@remote.test'), false);
    assert.match((await rcptReplies(rig.harness, ['manual@remote.test']))[0] ?? '', /^250/);
  });
});
