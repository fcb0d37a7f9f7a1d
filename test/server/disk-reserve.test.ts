// The spool disk reserve (`limits.minFreeSpace`) over the real listener: MAIL
// (with and without SIZE) and DATA answer 452 4.3.1 below it, with the free
// space driven by an injected reader, and once on a real 2 MiB tmpfs spool.

import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { statfsFreeBytes } from '../../src/spool/free-space.js';
import { SmtpTestClient } from '../helpers/smtp-client.js';
import { startHarness, type Harness, type HarnessOptions } from '../helpers/relay-harness.js';

const MIB = 1024 * 1024;
const RESERVE_BYTES = 100 * MIB;

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** A harness whose spool disk has `free.bytes` free; the test may change it between commands. */
async function start(free: { bytes: number }, options: HarnessOptions = {}): Promise<Harness> {
  harness = await startHarness({ limits: { minFreeBytes: RESERVE_BYTES }, freeSpaceBytes: async () => free.bytes, ...options });
  return harness;
}

async function greeted(h: Harness): Promise<SmtpTestClient> {
  const client = await SmtpTestClient.connect(h.port);
  await client.reply();
  assert.equal((await client.command('EHLO client.example.net')).code, 250);
  return client;
}

describe('disk reserve at MAIL and DATA', () => {
  it('refuses MAIL with 452 4.3.1 when the declared SIZE would take free space below the reserve', async () => {
    const h = await start({ bytes: RESERVE_BYTES + 5 * MIB });
    const client = await greeted(h);
    const refused = await client.command(`MAIL FROM:<app@example.org> SIZE=${6 * MIB}`);
    assert.match(refused.text, /^452 4\.3\.1 .*spool disk is nearly full/);
    assert.equal((await client.command(`MAIL FROM:<app@example.org> SIZE=${4 * MIB}`)).code, 250, 'a smaller message still fits');
    client.close();
  });

  it('refuses MAIL without SIZE with 452 4.3.1 when free space is already below the reserve', async () => {
    const h = await start({ bytes: RESERVE_BYTES - 1 });
    const client = await greeted(h);
    assert.match((await client.command('MAIL FROM:<app@example.org>')).text, /^452 4\.3\.1/);
    assert.equal((await client.command('NOOP')).code, 250, 'the session goes on');
    client.close();
  });

  it('refuses DATA with 452 4.3.1 before 354 when free space fell below the reserve after MAIL', async () => {
    const free = { bytes: RESERVE_BYTES + MIB };
    const h = await start(free);
    const client = await greeted(h);
    assert.equal((await client.command('MAIL FROM:<app@example.org>')).code, 250);
    assert.equal((await client.command('RCPT TO:<r@example.net>')).code, 250);
    free.bytes = RESERVE_BYTES - MIB;
    assert.match((await client.command('DATA')).text, /^452 4\.3\.1/);
    assert.equal((await h.spool.list()).length, 0);
    free.bytes = RESERVE_BYTES + MIB;
    assert.equal((await client.command('DATA')).code, 354, 'the transaction is kept for a later DATA');
    client.write('Subject: t\r\n\r\nhello\r\n.\r\n');
    assert.equal((await client.reply()).code, 250);
    client.close();
  });

  it('accepts a message as before when the disk has plenty of space', async () => {
    const h = await start({ bytes: 10 * RESERVE_BYTES });
    const client = await greeted(h);
    assert.equal((await client.command(`MAIL FROM:<app@example.org> SIZE=${MIB}`)).code, 250);
    assert.equal((await client.command('RCPT TO:<r@example.net>')).code, 250);
    assert.equal((await client.command('DATA')).code, 354);
    client.write('Subject: t\r\n\r\nhello\r\n.\r\n');
    assert.match((await client.reply()).text, /^250 /);
    assert.equal((await h.spool.list()).length, 1);
    client.close();
  });

  it('does not refuse mail when the free space cannot be read, and logs it', async () => {
    harness = await startHarness({
      limits: { minFreeBytes: RESERVE_BYTES },
      freeSpaceBytes: () => Promise.reject(new Error('statfs failed')),
    });
    const client = await greeted(harness);
    assert.equal((await client.command('MAIL FROM:<app@example.org>')).code, 250);
    assert.equal(harness.log.messages('cannot read spool free space').length, 1);
    client.close();
  });
});

const run = promisify(execFile);

/** Mounts a 2 MiB tmpfs, or says why it cannot (not root, or mounting not permitted here). */
async function mountSmallTmpfs(): Promise<{ dir: string } | { skip: string }> {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return { skip: 'mounting a tmpfs needs root on Linux' };
  const dir = await mkdtemp(join(tmpdir(), 'outpost-tmpfs-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir]);
    return { dir };
  } catch (error: unknown) {
    await rm(dir, { recursive: true, force: true });
    return { skip: `mount -t tmpfs is not permitted here (${error instanceof Error ? error.message.split('\n')[0] : String(error)})` };
  }
}

describe('disk reserve on a real 2 MiB tmpfs spool', () => {
  let mounted: { dir: string } | { skip: string } = { skip: 'not mounted yet' };
  before(async () => {
    mounted = await mountSmallTmpfs();
  });
  after(async () => {
    if (!('dir' in mounted)) return;
    await harness?.close();
    harness = undefined;
    await run('umount', [mounted.dir]);
    await rm(mounted.dir, { recursive: true, force: true });
  });

  it('answers MAIL 452 4.3.1 once the spool file system is filled past the reserve (real statfs)', async (t) => {
    if (!('dir' in mounted)) return t.skip(mounted.skip);
    const { dir } = mounted;
    const h = await startHarness({ limits: { minFreeBytes: MIB }, spoolParent: dir, freeSpaceBytes: statfsFreeBytes });
    harness = h;
    const client = await greeted(h);
    assert.match((await client.command(`MAIL FROM:<app@example.org> SIZE=${1.5 * MIB}`)).text, /^452 4\.3\.1/, '2 MiB - 1.5 MiB < 1 MiB');
    assert.equal((await client.command(`MAIL FROM:<app@example.org> SIZE=${100 * 1024}`)).code, 250);
    assert.equal((await client.command('RSET')).code, 250);
    await writeFile(join(dir, 'filler'), Buffer.alloc(1.5 * MIB));
    assert.match((await client.command('MAIL FROM:<app@example.org>')).text, /^452 4\.3\.1/);
    client.close();
  });
});
