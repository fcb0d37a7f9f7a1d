// REQUIRETLS end to end with independent implementations (RFC 8689): Python's
// smtplib submits over STARTTLS with `MAIL ... REQUIRETLS` to the real
// `outpost serve`, which relays under a cached MTA-STS enforce policy to
// aiosmtpd offering REQUIRETLS after STARTTLS; `outpost queue show` shows the tag.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { aiosmtpdInstalled, DEBIAN_PYTHON } from '../helpers/aiosmtpd-capture.js';
import { AiosmtpdRequireTls } from '../helpers/aiosmtpd-requiretls.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { makeInstallation, runOutpost, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';
import { makeTestCa } from '../helpers/test-ca.js';

const run = promisify(execFile);

/** smtplib: EHLO and MAIL REQUIRETLS in clear, then STARTTLS (CA-verified), EHLO and one REQUIRETLS transaction per recipient. */
const CLIENT = `
import json, smtplib, ssl, sys
port, cafile = int(sys.argv[1]), sys.argv[2]
recipients = sys.argv[3:]
report = {}
with smtplib.SMTP('127.0.0.1', port, local_hostname='client.example.org') as smtp:
    smtp.ehlo()
    report['plainOffers'] = smtp.has_extn('requiretls')
    code, text = smtp.mail('app@example.org', ['REQUIRETLS'])
    report['plainMail'] = [code, text.decode()]
    smtp.rset()
    smtp.starttls(context=ssl.create_default_context(cafile=cafile))
    smtp.ehlo()
    report['tlsOffers'] = smtp.has_extn('requiretls')
    report['queued'] = []
    for rcpt in recipients:
        assert smtp.mail('app@example.org', ['REQUIRETLS'])[0] == 250
        assert smtp.rcpt(rcpt)[0] == 250
        message = 'From: app@example.org\\r\\nTo: %s\\r\\nSubject: for your eyes only\\r\\n\\r\\nsent with REQUIRETLS\\r\\n' % rcpt
        code, text = smtp.data(message.encode())
        report['queued'].append([code, text.decode()])
print(json.dumps(report))
`;

interface ClientReport {
  readonly plainOffers: boolean;
  readonly plainMail: [number, string];
  readonly tlsOffers: boolean;
  readonly queued: [number, string][];
}

describe('REQUIRETLS end to end (smtplib -> outpost serve -> aiosmtpd)', { skip: aiosmtpdInstalled() ? false : 'python3-aiosmtpd is not installed' }, () => {
  let dns: TestDnsServer;
  let installation: TestInstallation;
  let serve: ServeProcess;
  let receiver: AiosmtpdRequireTls;
  let caFile: string;

  before(async () => {
    const ca = await makeTestCa();
    receiver = await AiosmtpdRequireTls.start('127.0.0.9', await ca.issue('mx.secret.test'));
    dns = await startDnsServer({
      zones: {
        'secret.test': { MX: [{ preference: 10, exchange: 'mx.secret.test' }] },
        'mx.secret.test': { A: ['127.0.0.9'] },
        '_mta-sts.secret.test': { TXT: ['v=STSv1; id=9'] },
      },
      faults: { 'example.net': { kind: 'servfail' } },
    });
    installation = await makeInstallation({
      dns,
      extraYaml: [
        'tls: { cert: cert.pem, key: key.pem }',
        `delivery: { port: ${receiver.port}, retry: [1h], caFile: ca.pem, connectTimeout: 5s, commandTimeout: 20s }`,
      ].join('\n'),
    });
    const own = await ca.issue('mx.example.org');
    caFile = join(installation.dir, 'ca.pem');
    await writeFile(caFile, ca.cert);
    await writeFile(join(installation.dir, 'cert.pem'), own.cert);
    await writeFile(join(installation.dir, 'key.pem'), own.key);
    const cache = join(installation.spoolDir, 'mta-sts');
    await mkdir(cache, { recursive: true });
    await writeFile(join(cache, 'secret.test.json'), JSON.stringify({ domain: 'secret.test', id: '9', fetchedAt: new Date().toISOString(), mode: 'enforce', mx: ['mx.secret.test'], maxAge: 604_800 }));
    serve = await ServeProcess.start(installation.configFile);
  });

  after(async () => {
    serve.signal('SIGTERM');
    await serve.exit();
    await Promise.all([receiver.stop(), dns.close()]);
    await installation.remove();
  });

  it('accepts MAIL REQUIRETLS only inside TLS, relays it with REQUIRETLS, and queue show displays the tag', async () => {
    const { stdout } = await run(DEBIAN_PYTHON, ['-c', CLIENT, String(serve.port()), caFile, 'reader@secret.test', 'held@example.net'], { timeout: 30_000 });
    const report = JSON.parse(stdout) as ClientReport;
    assert.equal(report.plainOffers, false, 'REQUIRETLS is not offered before STARTTLS');
    assert.equal(report.plainMail[0], 530);
    assert.match(report.plainMail[1], /^5\.7\.10 REQUIRETLS needs TLS/);
    assert.equal(report.tlsOffers, true, 'REQUIRETLS is offered after STARTTLS');
    assert.deepEqual(report.queued.map(([code]) => code), [250, 250]);

    const [delivered] = await receiver.waitForMessages(1);
    assert.ok(delivered);
    assert.deepEqual([delivered.from, delivered.recipients, delivered.requireTls, delivered.tls], ['app@example.org', ['reader@secret.test'], true, true]);
    assert.match(delivered.data.toString(), /Subject: for your eyes only/);
    const attempt = await serve.waitForLog((line) => line['msg'] === 'delivery attempt' && line['tlsRequirement'] === 'requiretls' && line['delivered'] === 1);
    assert.match(String(attempt['tls']), /\(verified\)$/);

    const heldId = /queued as (\w+)/.exec(report.queued[1]?.[1] ?? '')?.[1];
    assert.ok(heldId);
    const shown = await runOutpost(['queue', 'show', heldId, '--config', installation.configFile]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^tls required: {2}REQUIRETLS \(verified TLS to servers offering REQUIRETLS only, else bounced 5\.7\.x\)$/m);
    const shownJson = await runOutpost(['queue', 'show', heldId, '--json', '--config', installation.configFile]);
    assert.equal(shownJson.code, 0, shownJson.stderr);
    const json = JSON.parse(shownJson.stdout) as { record: { tlsRequirement?: string } };
    assert.equal(json.record.tlsRequirement, 'requiretls');
  });
});
