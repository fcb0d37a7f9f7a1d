// Outbound TLS policies in the real `outpost serve`: MTA-STS policies cached in
// the spool (as a previous run left them) are enforced after a start, the MX
// certificate verified against delivery.caFile; a tlsPolicy verify entry defers.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { submit } from '../helpers/e2e-clients.js';
import { FakeMta } from '../helpers/fake-mta.js';
import { makeInstallation, runOutpost, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';
import { makeTestCa } from '../helpers/test-ca.js';
import { makeSelfSignedCertificate } from '../helpers/tls-cert.js';

describe('outbound TLS policies end to end', () => {
  let dns: TestDnsServer;
  let installation: TestInstallation;
  let serve: ServeProcess;
  let verified: FakeMta;
  let selfSigned: FakeMta;

  before(async () => {
    const ca = await makeTestCa();
    verified = await FakeMta.start({ host: '127.0.0.6', name: 'mx.enforce.test', tls: await ca.issue('mx.enforce.test') });
    selfSigned = await FakeMta.start({ host: '127.0.0.7', port: verified.port, name: 'mx.verify.test', tls: await makeSelfSignedCertificate('mx.verify.test') });
    dns = await startDnsServer({
      zones: {
        'enforce.test': { MX: [{ preference: 10, exchange: 'mx.enforce.test' }] },
        'moved.test': { MX: [{ preference: 10, exchange: 'mx.enforce.test' }] },
        'verify.test': { MX: [{ preference: 10, exchange: 'mx.verify.test' }] },
        'mx.enforce.test': { A: ['127.0.0.6'] },
        'mx.verify.test': { A: ['127.0.0.7'] },
        '_mta-sts.enforce.test': { TXT: ['v=STSv1; id=7'] },
        '_mta-sts.moved.test': { TXT: ['v=STSv1; id=7'] },
      },
    });
    installation = await makeInstallation({
      dns,
      extraYaml: `delivery: { port: ${verified.port}, retry: [1h], caFile: ca.pem, tlsPolicy: { verify.test: verify }, connectTimeout: 2s, commandTimeout: 10s }`,
    });
    await writeFile(join(installation.dir, 'ca.pem'), ca.cert);
    const cache = join(installation.spoolDir, 'mta-sts');
    await mkdir(cache, { recursive: true });
    const fetchedAt = new Date().toISOString();
    const policy = (domain: string, mx: string[]): string => JSON.stringify({ domain, id: '7', fetchedAt, mode: 'enforce', mx, maxAge: 604_800 });
    await writeFile(join(cache, 'enforce.test.json'), policy('enforce.test', ['mx.enforce.test']));
    await writeFile(join(cache, 'moved.test.json'), policy('moved.test', ['*.new-provider.test']));
    serve = await ServeProcess.start(installation.configFile);
  });

  after(async () => {
    serve.signal('SIGTERM');
    await serve.exit();
    await Promise.all([verified.close(), selfSigned.close(), dns.close()]);
    await installation.remove();
  });

  it('delivers under a cached enforce policy over STARTTLS verified with delivery.caFile', async () => {
    await submit(serve.port(), 'app@example.org', ['a@enforce.test']);
    await verified.until(() => verified.messages.some((message) => message.recipients.includes('a@enforce.test')));
    assert.equal(verified.messages.find((message) => message.recipients.includes('a@enforce.test'))?.tls, true);
    const opened = await serve.waitForLog((line) => line['msg'] === 'session open' && line['mx'] === 'mx.enforce.test');
    assert.equal(opened['tlsRequiredBy'], 'the MTA-STS policy of enforce.test');
    assert.match(String(opened['tls']), /\(verified\)$/);
  });

  it('defers with 4.7.5 a domain whose MX is not in its policy, and a tlsPolicy verify domain with a self-signed MX', async () => {
    const moved = await submit(serve.port(), 'app@example.org', ['b@moved.test']);
    const pinned = await submit(serve.port(), 'app@example.org', ['c@verify.test']);
    const movedLog = await serve.waitForLog((line) => line['msg'] === 'recipient deferred' && line['qid'] === moved, 10_000);
    assert.equal(movedLog['reply'], '451 4.7.5 moved.test: no MX host (mx.enforce.test) matches its MTA-STS policy (mx: *.new-provider.test); not delivered without it');
    const pinnedLog = await serve.waitForLog((line) => line['msg'] === 'recipient deferred' && line['qid'] === pinned, 10_000);
    assert.match(String(pinnedLog['reply']), /^451 4\.7\.5 TLS is required by delivery\.tlsPolicy \(verify\) of verify\.test with mx\.verify\.test\[127\.0\.0\.7\], but its certificate does not verify/);
    assert.equal(selfSigned.messages.length, 0);
    assert.ok(!verified.messages.some((message) => message.recipients.includes('b@moved.test')));
  });

  it('shows the cached policy with outpost resolve', async () => {
    const run = await runOutpost(['resolve', 'enforce.test', '--json', '--config', installation.configFile]);
    assert.equal(run.code, 0, run.stderr);
    const tls = (JSON.parse(run.stdout) as { tls: { policy: string; mtaSts: { source: string; mode: string }; hosts: unknown } }).tls;
    assert.deepEqual([tls.policy, tls.mtaSts.mode, tls.mtaSts.source, tls.hosts], ['mta-sts', 'enforce', 'cached', [{ host: 'mx.enforce.test', tls: 'verify', inPolicy: true }]]);
  });
});
