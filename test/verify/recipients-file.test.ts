// The recipient allow-list file (verifyRecipients.file): addresses with their
// local part kept exact, `@domain` for a whole domain, '#' comments, and
// problems that name the file and line; loaded with the config and on SIGHUP.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { loadRecipientsFile, parseRecipientsText } from '../../src/config/recipients-file.js';
import { ConfigErrors } from '../../src/core/errors.js';
import { minimalYaml, TempConfigs } from '../config/temp-config.js';

const temp = new TempConfigs();
after(() => temp.removeAll());

const FILE = '/etc/outpost/recipients';

const LOOKUPS: ReadonlyArray<readonly [string, string, string, 'accepts' | 'refuses' | 'not covered']> = [
  ['alice@example.org', 'alice', 'example.org', 'accepts'],
  ['alice@example.org', 'Alice', 'example.org', 'refuses'],
  ['Alice@Example.ORG', 'Alice', 'example.org', 'accepts'],
  ['alice@example.org', 'bob', 'example.org', 'refuses'],
  ['alice@example.org', 'alice', 'example.net', 'not covered'],
  ['@example.org', 'anyone', 'example.org', 'accepts'],
  ['@EXAMPLE.org.', 'Anyone', 'example.org', 'accepts'],
  ['"john doe"@example.org', '"john doe"', 'example.org', 'accepts'],
  ['"alice"@example.org', 'alice', 'example.org', 'accepts'],
  ['a#b@example.org', 'a#b', 'example.org', 'accepts'],
  ['user@bücher.example', 'user', 'xn--bcher-kva.example', 'accepts'],
];

for (const [entry, localPart, domain, expected] of LOOKUPS) {
  test(`recipients file: "${entry}" ${expected} ${localPart}@${domain}`, () => {
    const { list, problems } = parseRecipientsText(`${entry}\n`, FILE);
    assert.deepEqual(problems, []);
    if (expected === 'not covered') {
      assert.equal(list.covers(domain), false);
      return;
    }
    assert.equal(list.covers(domain), true);
    assert.equal(list.accepts(localPart, domain), expected === 'accepts');
  });
}

test('recipients file: whole-line and trailing comments, blank lines and CRLF', () => {
  const { list, problems } = parseRecipientsText('# staff\r\n\r\n  alice@example.org   # ops\r\nbob@example.org\t# dev\r\n', FILE);
  assert.deepEqual(problems, []);
  assert.equal(list.size, 2);
  assert.ok(list.accepts('bob', 'example.org'));
});

const INVALID: ReadonlyArray<readonly [string, string, number, RegExp]> = [
  ['two addresses on one line', 'a@example.org\nb@example.org c@example.org\n', 2, /has more than one word/],
  ['a bare domain', 'example.org\n', 1, /"example\.org" is not an address \(write user@example\.org or @example\.org\)/],
  ['a bad whole-domain entry', '# x\n@-bad.example\n', 2, /"@-bad\.example" is not a valid domain/],
  ['an address literal', 'user@[192.0.2.1]\n', 1, /is not an address/],
  ['angle brackets', '<user@example.org>\n', 1, /is not an address/],
];

for (const [name, text, line, problem] of INVALID) {
  test(`recipients file: rejects ${name}, naming the file and line`, () => {
    const { problems } = parseRecipientsText(text, FILE);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.file, FILE);
    assert.equal(problems[0]?.line, line);
    assert.match(problems[0]?.message ?? '', problem);
    assert.ok(problems[0]?.message.startsWith(`${FILE}:${line}: `));
  });
}

test('recipients file: an empty file covers no domain', () => {
  const { list, problems } = parseRecipientsText('# nobody yet\n', FILE);
  assert.deepEqual(problems, []);
  assert.equal(list.covers('example.org'), false);
});

test('recipients file: loading a missing or broken file throws ConfigErrors naming it', async () => {
  const folder = await temp.write({ recipients: 'ok@example.org\nnot an address\n' });
  await assert.rejects(loadRecipientsFile(join(folder, 'missing')), (error: unknown) => error instanceof ConfigErrors && /missing: verifyRecipients\.file: cannot read the recipients file: no such file/.test(error.message));
  await assert.rejects(loadRecipientsFile(join(folder, 'recipients')), (error: unknown) => error instanceof ConfigErrors && error.message === `${join(folder, 'recipients')}:2: "not an address" has more than one word (write one address per line)`);
});

test('config: verifyRecipients.file is read with the config; its problems name the file and line', async () => {
  const folder = await temp.write({ domains: 'example.org\n', recipients: '@example.org\nbroken\n', 'outpost.yaml': minimalYaml('verifyRecipients: { file: recipients }') });
  await assert.rejects(loadConfig(join(folder, 'outpost.yaml'), {}), (error: unknown) => error instanceof ConfigErrors && error.message.includes(`${join(folder, 'recipients')}:2: "broken" is not an address`));
  const missing = await temp.write({ domains: 'example.org\n', 'outpost.yaml': minimalYaml('verifyRecipients:', '  file: nowhere') });
  await assert.rejects(loadConfig(join(missing, 'outpost.yaml'), {}), (error: unknown) => error instanceof ConfigErrors && error.message.includes(`outpost.yaml:4: verifyRecipients.file: cannot read ${join(missing, 'nowhere')}: no such file`));
});

test('config: verifyRecipients defaults, values and environment overrides', async () => {
  const folder = await temp.write({ domains: 'example.org\n', recipients: '@example.org\n', 'outpost.yaml': minimalYaml() });
  const defaults = await loadConfig(join(folder, 'outpost.yaml'), {});
  assert.deepEqual(defaults.verifyRecipients, {
    probe: true,
    file: undefined,
    positiveTtlMs: 7 * 24 * 3_600_000,
    negativeTtlMs: 3 * 3_600_000,
    whenUnavailable: 'defer',
    probeTimeoutMs: 30_000,
    maxProbes: 20,
    cacheSize: 100_000,
  });
  const yaml = minimalYaml('verifyRecipients:', '  probe: false', '  file: recipients', '  positiveTtl: 1d', '  negativeTtl: 0', '  whenUnavailable: accept', '  probeTimeout: 10s', '  maxProbes: 5', '  cacheSize: 500');
  await temp.write({});
  const configured = await temp.write({ domains: 'example.org\n', recipients: '@example.org\n', 'outpost.yaml': yaml });
  const config = await loadConfig(join(configured, 'outpost.yaml'), { OUTPOST_VERIFY_RECIPIENTS_PROBE: 'true', OUTPOST_VERIFY_RECIPIENTS_WHEN_UNAVAILABLE: 'defer' });
  assert.deepEqual(config.verifyRecipients, {
    probe: true,
    file: join(configured, 'recipients'),
    positiveTtlMs: 24 * 3_600_000,
    negativeTtlMs: 0,
    whenUnavailable: 'defer',
    probeTimeoutMs: 10_000,
    maxProbes: 5,
    cacheSize: 500,
  });
  const bad = await temp.write({ domains: 'example.org\n', 'outpost.yaml': minimalYaml('verifyRecipients: { whenUnavailable: reject, probeTimeout: 0 }') });
  await assert.rejects(loadConfig(join(bad, 'outpost.yaml'), {}), (error: unknown) => {
    assert.ok(error instanceof ConfigErrors);
    assert.match(error.message, /verifyRecipients\.whenUnavailable: "reject" is not one of "defer" or "accept"|verifyRecipients\.whenUnavailable: .*not one of/);
    assert.match(error.message, /verifyRecipients\.probeTimeout: .*must be more than 0/);
    return true;
  });
});
