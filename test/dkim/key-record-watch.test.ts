// The key record watch: first check at start without reloading, then every few
// minutes while a record is missing (reloading the keys folder each time),
// hourly once all are published; a failing reload never stops it.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { DkimKey } from '../../src/dkim/keys.js';
import { AWAITING_RECHECK_MS, KeyRecordWatch, SETTLED_RECHECK_MS } from '../../src/dkim/key-record-watch.js';
import { dkimRecord } from '../../src/dkim/record.js';
import { SigningKeyring } from '../../src/dkim/signing-keyring.js';
import type { Resolver } from '../../src/dns/resolver.js';
import type { DnsResult, RecordType } from '../../src/dns/types.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog } from '../helpers/memory-log.js';

function edKey(selector: string): DkimKey {
  const pair = generateKeyPairSync('ed25519');
  const publicKeyBase64 = pair.publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64');
  return { domain: 'example.org', selector, algorithm: 'ed25519-sha256', privateKey: pair.privateKey, bits: undefined, file: `/k/${selector}.pem`, createdMs: 1, publicKeyBase64 };
}

/** A resolver over a map of TXT records that counts its lookups (the watch's only DNS use). */
function txtResolver(records: Map<string, string>): Resolver & { lookups: number } {
  const resolver = {
    lookups: 0,
    lookup<T extends RecordType>(name: string): Promise<DnsResult<T>> {
      resolver.lookups += 1;
      const value = records.get(name);
      const result = value === undefined ? { kind: 'nxdomain', ttlSeconds: 0, canonicalName: name, authenticated: false, secure: false } : { kind: 'ok', records: [[value]], ttlSeconds: 60, canonicalName: name, authenticated: false, secure: false };
      return Promise.resolve(result as DnsResult<T>);
    },
  };
  return resolver;
}

it('rechecks soon while a record is missing, hourly once published, and survives a failing reload', async () => {
  const clock = new ManualClock();
  const key = edKey('ed-1');
  const records = new Map<string, string>();
  const resolver = txtResolver(records);
  const keyring = new SigningKeyring([key]);
  let reloads = 0;
  const log = memoryLog();
  const watch = new KeyRecordWatch({
    keyring: () => keyring,
    resolver,
    clock,
    logger: log.logger,
    reloadKeys: () => {
      reloads += 1;
      return reloads === 1 ? Promise.reject(new Error('broken key file')) : Promise.resolve();
    },
  });
  watch.start();
  await clock.waitForTimers(1);
  assert.equal(resolver.lookups, 1);
  assert.equal(reloads, 0, 'the first check uses the keys loaded at start');
  assert.equal(keyring.status()[0]?.record, 'missing');
  clock.advance(AWAITING_RECHECK_MS - 1);
  assert.equal(resolver.lookups, 1);
  const record = dkimRecord(key);
  records.set(record.name, record.value);
  clock.advance(1);
  await clock.waitForTimers(1);
  assert.equal(reloads, 1);
  assert.equal(log.messages('dkim keys reload failed').length, 1);
  assert.equal(resolver.lookups, 2);
  assert.equal(keyring.status()[0]?.record, 'published');
  clock.advance(AWAITING_RECHECK_MS);
  assert.equal(resolver.lookups, 2, 'no early recheck once every record is published');
  clock.advance(SETTLED_RECHECK_MS - AWAITING_RECHECK_MS);
  await clock.waitForTimers(1);
  assert.equal(resolver.lookups, 3);
  await watch.stop();
  assert.equal(clock.pendingTimers, 0);
});
