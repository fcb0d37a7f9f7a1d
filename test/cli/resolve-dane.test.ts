// `outpost resolve` with dns.dnssec on: each MX host's TLSA records, their DNSSEC status
// and the requirement that follows (DANE, TLS without authentication, skipped, or why
// DANE does not apply), in text and --json; the test DNS server answers like a validating resolver.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { runCliCaptured } from '../helpers/run-cli.js';

const DIGEST = Buffer.alloc(32, 0xab);
let dns: TestDnsServer;
let folder: string;

before(async () => {
  dns = await startDnsServer({
    authenticated: true,
    faults: { '_25._tcp.mx3.dane.test': { kind: 'servfail', types: ['TLSA'] } },
    zones: {
      'dane.test': {
        MX: [
          { preference: 10, exchange: 'mx1.dane.test' },
          { preference: 20, exchange: 'mx2.dane.test' },
          { preference: 30, exchange: 'mx3.dane.test' },
          { preference: 40, exchange: 'mx4.dane.test' },
          { preference: 50, exchange: 'mx.unsigned.test' },
        ],
      },
      'mx1.dane.test': { A: ['192.0.2.1'] },
      '_25._tcp.mx1.dane.test': { TLSA: [{ usage: 3, selector: 1, matchingType: 1, certificate: DIGEST }] },
      'mx2.dane.test': { A: ['192.0.2.2'] },
      '_25._tcp.mx2.dane.test': { TLSA: [{ usage: 1, selector: 1, matchingType: 1, certificate: DIGEST }] },
      'mx3.dane.test': { A: ['192.0.2.3'] },
      'mx4.dane.test': { A: ['192.0.2.4'] },
      'mx.unsigned.test': { A: ['192.0.2.5'], secure: false },
      'pinned.test': { MX: [{ preference: 10, exchange: 'mx1.dane.test' }] },
    },
  });
  folder = await mkdtemp(join(tmpdir(), 'outpost-resolve-dane-'));
  await writeFile(join(folder, 'domains'), 'outpost.test\n');
  await writeFile(
    join(folder, 'outpost.yaml'),
    [
      'hostname: mail.outpost.test',
      'domains: domains',
      'listen: [{ address: 127.0.0.1, port: 25, mode: mta }]',
      `spoolDir: ${join(folder, 'spool')}`,
      `dns: { servers: ["127.0.0.1:${dns.port}"], timeout: 2s, ipv6: false, dnssec: true }`,
      'delivery: { mtaSts: false, tlsPolicy: { pinned.test: verify } }',
      'http: false',
      '',
    ].join('\n'),
  );
});
after(async () => {
  await dns.close();
  await rm(folder, { recursive: true, force: true });
});

const resolve = (...args: string[]): ReturnType<typeof runCliCaptured> => runCliCaptured(['resolve', ...args, '--config', 'outpost.yaml'], { cwd: folder });

describe('outpost resolve with DANE', () => {
  it('lists per MX host the TLSA records, their DNSSEC status and the requirement (--json)', async () => {
    const run = await resolve('dane.test', '--json');
    assert.equal(run.exitCode, 0, run.stderr);
    const tls = (JSON.parse(run.stdout) as { tls: { dane: unknown; hosts: unknown[] } }).tls;
    assert.deepEqual(tls.dane, { on: true });
    const hex = DIGEST.toString('hex');
    assert.deepEqual(tls.hosts, [
      { host: 'mx1.dane.test', tls: 'dane', dane: { status: 'usable', name: '_25._tcp.mx1.dane.test', dnssec: 'secure', records: [{ usage: 3, selector: 1, matchingType: 1, data: hex, usable: true }] } },
      { host: 'mx2.dane.test', tls: 'encrypt', dane: { status: 'unusable', name: '_25._tcp.mx2.dane.test', dnssec: 'secure', records: [{ usage: 1, selector: 1, matchingType: 1, data: hex, usable: false }] } },
      {
        host: 'mx3.dane.test',
        tls: 'skip',
        dane: { status: 'failed', name: '_25._tcp.mx3.dane.test', dnssec: 'failed', reason: `TLSA lookup of _25._tcp.mx3.dane.test failed: servfail (SERVFAIL from 127.0.0.1)` },
        skipped: { resultType: 'dnssec-invalid', reason: `TLSA lookup of _25._tcp.mx3.dane.test failed: servfail (SERVFAIL from 127.0.0.1)` },
      },
      { host: 'mx4.dane.test', tls: 'may', dane: { status: 'absent', name: '_25._tcp.mx4.dane.test', dnssec: 'secure', reason: 'no TLSA records at _25._tcp.mx4.dane.test' } },
      { host: 'mx.unsigned.test', tls: 'may', dane: { status: 'insecure', name: '_25._tcp.mx.unsigned.test', dnssec: 'insecure', reason: 'the address records of mx.unsigned.test are not DNSSEC-secure' } },
    ]);
  });

  it('says a REQUIRETLS message may go to the hosts of the DNSSEC-secure MX answer, each checked by DANE or WebPKI (--json)', async () => {
    const requireTls = (JSON.parse((await resolve('dane.test', '--json')).stdout) as { requiretls: unknown }).requiretls;
    const webpki = (host: string): Record<string, string> => ({ host, check: 'webpki' });
    assert.deepEqual(requireTls, {
      deliverable: true,
      basis: 'dnssec',
      hosts: ['mx1.dane.test', 'mx2.dane.test', 'mx4.dane.test', 'mx.unsigned.test'],
      checks: [
        { host: 'mx1.dane.test', check: 'dane' },
        webpki('mx2.dane.test'),
        { host: 'mx3.dane.test', skipped: { resultType: 'dnssec-invalid', reason: 'TLSA lookup of _25._tcp.mx3.dane.test failed: servfail (SERVFAIL from 127.0.0.1)' } },
        webpki('mx4.dane.test'),
        webpki('mx.unsigned.test'),
      ],
    });
  });

  it('prints them in text', async () => {
    const run = await resolve('dane.test');
    const text = run.stdout.slice(run.stdout.indexOf('  DANE:'));
    assert.equal(
      text,
      [
        '  DANE: on (TLSA records of DNSSEC-secure MX hosts)',
        '  TLS: opportunistic (delivery.mtaSts is off)',
        '    mx1.dane.test: DANE: TLS required, the certificate must match a TLSA record [TLSA at _25._tcp.mx1.dane.test, DNSSEC-secure]',
        `      TLSA 3 1 1 ${DIGEST.toString('hex')}`,
        '    mx2.dane.test: TLS required, certificate not checked [TLSA at _25._tcp.mx2.dane.test, DNSSEC-secure, none usable]',
        `      TLSA 1 1 1 ${DIGEST.toString('hex')} (unusable for SMTP)`,
        '    mx3.dane.test: skipped (dnssec-invalid: TLSA lookup of _25._tcp.mx3.dane.test failed: servfail (SERVFAIL from 127.0.0.1))',
        '    mx4.dane.test: STARTTLS when offered (opportunistic) [no DANE: no TLSA records at _25._tcp.mx4.dane.test (DNSSEC-secure)]',
        '    mx.unsigned.test: STARTTLS when offered (opportunistic) [no DANE: the address records of mx.unsigned.test are not DNSSEC-secure]',
        '  REQUIRETLS: deliverable via mx1.dane.test, mx2.dane.test, mx4.dane.test, mx.unsigned.test (DNSSEC-secure MX) if one offers REQUIRETLS after STARTTLS with a certificate checked as below; else bounced 5.7.10 / 5.7.30',
        '    mx1.dane.test by its TLSA records (DANE)',
        '    mx2.dane.test by the trusted CAs (WebPKI)',
        '    mx3.dane.test skipped (dnssec-invalid: TLSA lookup of _25._tcp.mx3.dane.test failed: servfail (SERVFAIL from 127.0.0.1))',
        '    mx4.dane.test by the trusted CAs (WebPKI)',
        '    mx.unsigned.test by the trusted CAs (WebPKI)',
        '',
      ].join('\n'),
    );
  });

  it('says a delivery.tlsPolicy level other than dane leaves DANE out', async () => {
    const tls = (JSON.parse((await resolve('pinned.test', '--json')).stdout) as { tls: Record<string, unknown> }).tls;
    assert.deepEqual(tls['dane'], { on: false, reason: 'delivery.tlsPolicy verify applies instead' });
    assert.deepEqual(tls['hosts'], [{ host: 'mx1.dane.test', tls: 'verify' }]);
  });
});
