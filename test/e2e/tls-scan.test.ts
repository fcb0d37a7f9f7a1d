// The listeners of the real `outpost serve` as a TLS scanner judges them:
// Debian's testssl.sh scans STARTTLS on submission and mta and implicit TLS on
// smtps (RFC 8314; BCP 195 / RFC 9325): TLS 1.2 and 1.3 only, AEAD suites only
// on submission and smtps, no broken suite anywhere, no client renegotiation.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addUser, makeInstallation, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';
import { makeTestCa } from '../helpers/test-ca.js';
import { scanWithTestssl, TESTSSL, type TestsslFinding } from '../helpers/testssl.js';

const inCi = process.env['CI'] === 'true';
const LISTENERS = ['submission', 'smtps', 'mta'] as const;
type Listener = (typeof LISTENERS)[number];

/** The finding of one check; fails when testssl did not report it (a scan that never ran asserts nothing). */
function finding(findings: readonly TestsslFinding[], id: string): string {
  const entry = findings.find((candidate) => candidate.id === id);
  assert.ok(entry !== undefined, `testssl reported no "${id}"; it reported: ${findings.map((f) => f.id).join(', ')}`);
  return entry.finding;
}

/** The suites `-E` found per protocol, by IANA name (the last column of `cipher-tls1_2_xc02b`-style findings). */
function suites(findings: readonly TestsslFinding[], protocol: 'tls1_2' | 'tls1_3'): string[] {
  return findings.filter((entry) => entry.id.startsWith(`cipher-${protocol}_`)).map((entry) => entry.finding.trim().split(/\s+/).at(-1) ?? '');
}

const BROKEN_SUITE = /_NULL_|_anon_|EXPORT|_RC4_|_3DES_|_DES_|_DES40_|_IDEA_|_RC2_/;
const AEAD_SUITE = /_GCM_|_CHACHA20_POLY1305_|_CCM(_8)?(_|$)/;

describe('TLS listeners scanned with testssl.sh', { skip: TESTSSL === undefined && !inCi ? 'testssl.sh not installed' : false, timeout: 240_000 }, () => {
  let installation: TestInstallation;
  let serve: ServeProcess;
  const scans = new Map<Listener, TestsslFinding[]>();

  before(async () => {
    const ca = await makeTestCa();
    const certificate = await ca.issue('mx.example.org');
    installation = await makeInstallation({ listeners: ['mta', 'submission', 'smtps'], extraYaml: 'tls: { cert: cert.pem, key: key.pem }\nusers: users' });
    await writeFile(join(installation.dir, 'cert.pem'), certificate.cert);
    await writeFile(join(installation.dir, 'key.pem'), certificate.key);
    assert.equal(await addUser(installation.configFile, 'app@example.org', 'long-enough-pass'), 0);
    serve = await ServeProcess.start(installation.configFile);
    // Three scans at once: each mostly waits on its own handshakes.
    const results = await Promise.all(LISTENERS.map((mode) => scanWithTestssl({ port: serve.port(mode), starttls: mode !== 'smtps' })));
    LISTENERS.forEach((mode, index) => scans.set(mode, results[index] ?? []));
  });

  after(async () => {
    serve?.signal('SIGTERM');
    await serve?.exit();
    await installation?.remove();
  });

  const scan = (mode: Listener): TestsslFinding[] => scans.get(mode) ?? [];

  for (const mode of LISTENERS) {
    it(`${mode}: offers TLS 1.2 and TLS 1.3 and nothing older`, () => {
      const findings = scan(mode);
      for (const old of ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1']) assert.match(finding(findings, old), /^not offered/, `${mode} ${old}`);
      assert.match(finding(findings, 'TLS1_2'), /^offered/);
      assert.match(finding(findings, 'TLS1_3'), /^offered/);
      assert.ok(suites(findings, 'tls1_2').length > 0, 'some TLS 1.2 suite listed');
      assert.ok(suites(findings, 'tls1_3').length > 0, 'some TLS 1.3 suite listed');
    });

    it(`${mode}: no NULL, anonymous, EXPORT, LOW/RC4 or 3DES suite`, () => {
      const findings = scan(mode);
      for (const category of ['NULL', 'aNULL', 'EXPORT', 'LOW', '3DES_IDEA']) assert.match(finding(findings, `cipherlist_${category}`), /^not offered/, `${mode} ${category}`);
      assert.match(finding(findings, 'RC4'), /^not vulnerable/);
      const broken = [...suites(findings, 'tls1_2'), ...suites(findings, 'tls1_3')].filter((suite) => BROKEN_SUITE.test(suite));
      assert.deepEqual(broken, []);
    });

    it(`${mode}: refuses client-initiated renegotiation and supports secure renegotiation (RFC 5746)`, () => {
      const findings = scan(mode);
      assert.match(finding(findings, 'secure_client_renego'), /^(not vulnerable|not offered)/);
      assert.match(finding(findings, 'secure_renego'), /^supported/);
    });

    it(`${mode}: nothing the scanner rates MEDIUM or worse`, () => {
      const serious = scan(mode).filter((entry) => ['MEDIUM', 'HIGH', 'CRITICAL', 'FATAL'].includes(entry.severity));
      assert.deepEqual(serious, []);
    });
  }

  for (const mode of ['submission', 'smtps'] as const) {
    it(`${mode}: only AEAD suites on TLS 1.2, no CBC`, () => {
      const findings = scan(mode);
      assert.match(finding(findings, 'cipherlist_AVERAGE'), /^not offered/, 'testssl 3.0 files CBC suites under AVERAGE');
      assert.deepEqual(suites(findings, 'tls1_2').filter((suite) => !AEAD_SUITE.test(suite)), []);
    });
  }

  it('mta: keeps CBC suites on port 25, and the scanner sees them (so "not offered" above means something)', () => {
    const findings = scan('mta');
    assert.match(finding(findings, 'cipherlist_AVERAGE'), /^offered/);
    assert.ok(suites(findings, 'tls1_2').some((suite) => suite.includes('_CBC_')));
  });
});
