// `outpost doctor` as a command: a config whose dns.servers is the in-process
// test DNS server, a DKIM key on disk; output forms and exit statuses 0 / 1 / 2.

import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { doctorCommand } from '../../src/cli/doctor.js';
import { generateKeyPem, loadDkimKeys, writeNewKeyFile } from '../../src/dkim/keys.js';
import { dkimRecord } from '../../src/dkim/record.js';
import type { Zones } from '../helpers/dns-server.js';
import { minimalYaml, TempConfigs } from '../config/temp-config.js';
import { closeServersAfter, zoneFixture, type ZoneFixture } from './fixtures.js';

closeServersAfter();
const temp = new TempConfigs();
after(() => temp.removeAll());

async function run(args: readonly string[], cwd: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const capture = () => {
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
  };
  const stdout = capture();
  const stderr = capture();
  const exitCode = await doctorCommand(args, { stdout: stdout.stream, stderr: stderr.stream, env: {}, cwd });
  return { exitCode, stdout: stdout.text(), stderr: stderr.text() };
}

describe('outpost doctor', () => {
  let fixture: ZoneFixture;
  let folder: string;
  let zones: Zones;

  before(async () => {
    fixture = await zoneFixture({});
    folder = await temp.write({
      domains: 'example.org\n',
      'outpost.yaml': minimalYaml(`dns: { servers: ["127.0.0.1:${fixture.server.port}"], timeout: 2s }`, 'publicAddresses: [203.0.113.5]', 'dkim: { keys: dkim }'),
      'bad.yaml': minimalYaml('nonsense: true'),
    });
    await writeNewKeyFile(`${folder}/dkim`, 'example.org', 's1', generateKeyPem('ed25519'));
    const [key] = (await loadDkimKeys(`${folder}/dkim`)).keys;
    assert.ok(key);
    zones = {
      'mx.example.org': { A: ['203.0.113.5'], TXT: ['v=spf1 a -all'] },
      '5.113.0.203.in-addr.arpa': { PTR: ['mx.example.org'] },
      'example.org': { MX: [{ preference: 10, exchange: 'mx.example.org' }], TXT: ['v=spf1 ip4:203.0.113.5 -all'] },
      's1._domainkey.example.org': { TXT: [dkimRecord(key).strings] },
      '_dmarc.example.org': { TXT: ['v=DMARC1; p=none'] },
    };
    fixture.server.zones = zones;
  });

  it('exits 0 with --json when nothing fails, warnings included', async () => {
    const result = await run(['--config', 'outpost.yaml', '--json'], folder);
    assert.equal(result.stderr, '');
    assert.equal(result.exitCode, 0, result.stdout);
    const json = JSON.parse(result.stdout) as { ok: boolean; checks: { domain: string; check: string; status: string; subject: string | null }[] };
    assert.equal(json.ok, true);
    assert.deepEqual(json.checks.find((row) => row.check === 'dkim'), json.checks.find((row) => row.subject === 's1._domainkey.example.org'));
    assert.equal(json.checks.find((row) => row.check === 'dkim')?.status, 'ok');
    assert.equal(json.checks.find((row) => row.check === 'dmarc')?.status, 'warn');
  });

  it('exits 1 and prints the record to publish when a check fails', async () => {
    fixture.server.zones = { ...zones, '5.113.0.203.in-addr.arpa': {} };
    try {
      const result = await run(['example.org', '--config', 'outpost.yaml'], folder);
      assert.equal(result.exitCode, 1);
      assert.match(result.stdout, /^mx\.example\.org\s+ptr\s+fail\s+203\.0\.113\.5: no PTR record/m);
      assert.match(result.stdout, /^\s+publish: 5\.113\.0\.203\.in-addr\.arpa\. IN PTR mx\.example\.org\./m);
    } finally {
      fixture.server.zones = zones;
    }
  });

  it('exits 2 for a DOMAIN that is not local, extra arguments or unknown options', async () => {
    const notLocal = await run(['example.net', '--config', 'outpost.yaml'], folder);
    assert.equal(notLocal.exitCode, 2);
    assert.match(notLocal.stderr, /example.net is not a local domain/);
    assert.equal((await run(['a.example', 'b.example'], folder)).exitCode, 2);
    assert.equal((await run(['--frobnicate'], folder)).exitCode, 2);
    const help = await run(['--help'], folder);
    assert.deepEqual([help.exitCode, /^usage: outpost doctor/.test(help.stdout)], [0, true]);
  });

  it('exits 1 naming the problem when the config is invalid', async () => {
    const result = await run(['--config', 'bad.yaml'], folder);
    assert.equal(result.exitCode, 1);
    assert.match(result.stderr, /nonsense/);
    assert.equal(result.stdout, '');
  });
});
