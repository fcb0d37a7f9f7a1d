// The `events.webhooks` key: default empty, secretFile read relative to the
// config file (or inline secret), default event types, and errors naming line and key.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { ConfigErrors } from '../../src/core/errors.js';
import { minimalYaml, TempConfigs } from './temp-config.js';

const temp = new TempConfigs();
after(() => temp.removeAll());

async function load(yaml: string, env: Record<string, string> = {}): Promise<Config> {
  const folder = await temp.write({ domains: 'example.org\n', 'outpost.yaml': yaml, 'secrets/hook': 'whsec_c2VjcmV0\n' });
  return loadConfig(join(folder, 'outpost.yaml'), env);
}

async function problems(yaml: string): Promise<string[]> {
  const error = await load(yaml).then(
    () => assert.fail('the config was accepted'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof ConfigErrors, String(error));
  return error.problems.map((problem) => `${problem.line ?? '-'} ${problem.key ?? ''}: ${problem.problem}`);
}

describe('events.webhooks', () => {
  it('is empty by default', async () => {
    assert.deepEqual((await load(minimalYaml())).events, { webhooks: [] });
  });

  it('reads url, the secret from secretFile (relative to the config) or inline, and the event types', async () => {
    const config = await load(
      minimalYaml(
        'events:',
        '  webhooks:',
        '    - { url: "https://hooks.example.com/outpost", secretFile: secrets/hook, events: [delivered, failed, failed] }',
        '    - { url: "http://127.0.0.1:8080/e", secret: "plain text secret" }',
      ),
    );
    assert.deepEqual(config.events.webhooks, [
      { url: 'https://hooks.example.com/outpost', secret: 'whsec_c2VjcmV0', events: ['delivered', 'failed'] },
      { url: 'http://127.0.0.1:8080/e', secret: 'plain text secret', events: ['queued', 'delivered', 'deferred', 'failed', 'bounced', 'delayed', 'expired', 'suppressed', 'quota'] },
    ]);
  });

  it('reads OUTPOST_EVENTS_WEBHOOKS as a JSON array', async () => {
    const config = await load(minimalYaml(), { OUTPOST_EVENTS_WEBHOOKS: '[{"url": "https://hooks.example.com/e", "secret": "s3", "events": ["bounced"]}]' });
    assert.deepEqual(config.events.webhooks, [{ url: 'https://hooks.example.com/e', secret: 's3', events: ['bounced'] }]);
    await assert.rejects(load(minimalYaml(), { OUTPOST_EVENTS_WEBHOOKS: 'https://x' }), ConfigErrors);
  });

  it('refuses bad URLs, missing or double secrets, unknown event types and keys, naming line and key', async () => {
    const yaml = minimalYaml(
      'events:',
      '  webhooks:',
      '    - { url: "ftp://example.com/x", secretFile: secrets/hook }',
      '    - { url: "https://example.com/x" }',
      '    - { url: "https://example.com/x", secret: a, secretFile: secrets/hook }',
      '    - { url: "https://example.com/x", secretFile: secrets/missing }',
      '    - { url: "https://example.com/x", secret: a, events: [delivred] }',
      '    - { url: "https://example.com/x", secret: a, retries: 3 }',
    );
    const found = await problems(yaml);
    assert.equal(found.length, 6, found.join('\n'));
    assert.match(found[0] ?? '', /^5 events\.webhooks\[0\]\.url: "ftp:\/\/example\.com\/x" is not an http or https URL$/);
    assert.match(found[1] ?? '', /^6 events\.webhooks\[1\]: give secretFile \(or secret\)/);
    assert.match(found[2] ?? '', /^7 events\.webhooks\[2\]: give only one of secret and secretFile$/);
    assert.match(found[3] ?? '', /^8 events\.webhooks\[3\]\.secretFile: .*secrets\/missing/);
    assert.match(found[4] ?? '', /^9 events\.webhooks\[4\]\.events\[0\]: "delivred" is not an event type \(did you mean delivered\?\)$/);
    assert.match(found[5] ?? '', /^10 events\.webhooks\[5\]\.retries: unknown key/);
  });
});
