// TLS reporting end to end: the real `outpost serve` delivers under a cached
// MTA-STS enforce policy to an MX whose certificate has expired (deferred), then,
// the MX fixed, delivers (queue flush); at shutdown the counts are on disk. The
// daily sender (in-process, its clock moved past the day) queues the report in
// the same spool; a second `outpost serve` delivers it to the rua's MX, and
// Python's email, gzip and json read both counts out of it. The rua's domain has an
// MTA-STS enforce policy its MX (no STARTTLS) fails: ordinary mail there is deferred,
// the report ("TLS-Required: No", RFC 8460 §3 and RFC 8689) goes through in clear.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { loadConfig } from '../../src/config/load.js';
import { systemClock } from '../../src/core/clock.js';
import { utcDay } from '../../src/tlsrpt/store.js';
import { createTlsReportRecorder, createTlsReportSender } from '../../src/tlsrpt/setup.js';
import { Spool } from '../../src/spool/spool.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { resolverFor } from '../helpers/dns-resolver-setup.js';
import { submit } from '../helpers/e2e-clients.js';
import { FakeMta } from '../helpers/fake-mta.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog } from '../helpers/memory-log.js';
import { makeInstallation, runOutpost, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';
import { readReportMail } from '../helpers/python-tlsrpt.js';
import { makeTestCa } from '../helpers/test-ca.js';

type Json = Record<string, unknown>;

describe('TLS reporting end to end', () => {
  let dns: TestDnsServer;
  let installation: TestInstallation;
  let caCert: string;
  let good: FakeMta;
  let expired: FakeMta;
  let reportsMx: FakeMta;
  let serve: ServeProcess | undefined;

  before(async () => {
    const ca = await makeTestCa();
    caCert = ca.cert;
    good = await FakeMta.start({ host: '127.0.0.6', name: 'mx.rpt.test', tls: await ca.issue('mx.rpt.test') });
    expired = await FakeMta.start({ host: '127.0.0.8', port: good.port, name: 'mx.rpt.test', tls: await ca.issue('mx.rpt.test', { expired: true }) });
    reportsMx = await FakeMta.start({ host: '127.0.0.9', port: good.port, name: 'mx.reports.test' });
    dns = await startDnsServer({
      zones: {
        'rpt.test': { MX: [{ preference: 10, exchange: 'mx.rpt.test' }] },
        'mx.rpt.test': { A: ['127.0.0.8'], ttl: 0 },
        '_mta-sts.rpt.test': { TXT: ['v=STSv1; id=7'] },
        '_smtp._tls.rpt.test': { TXT: ['v=TLSRPTv1; rua=mailto:tls-reports@reports.test'] },
        'reports.test': { MX: [{ preference: 10, exchange: 'mx.reports.test' }] },
        'mx.reports.test': { A: ['127.0.0.9'] },
        '_mta-sts.reports.test': { TXT: ['v=STSv1; id=3'] },
      },
    });
    installation = await makeInstallation({
      dns,
      extraYaml: `delivery: { port: ${good.port}, retry: [1h], caFile: ca.pem, connectTimeout: 2s, commandTimeout: 10s }\ntlsrpt: { organization: "Outpost E2E" }`,
    });
    await writeFile(join(installation.dir, 'ca.pem'), caCert);
    const cache = join(installation.spoolDir, 'mta-sts');
    await mkdir(cache, { recursive: true });
    const policy = { domain: 'rpt.test', id: '7', fetchedAt: new Date().toISOString(), mode: 'enforce', mx: ['mx.rpt.test'], maxAge: 604_800 };
    await writeFile(join(cache, 'rpt.test.json'), JSON.stringify(policy));
    const reportsPolicy = { domain: 'reports.test', id: '3', fetchedAt: new Date().toISOString(), mode: 'enforce', mx: ['mx.reports.test'], maxAge: 604_800 };
    await writeFile(join(cache, 'reports.test.json'), JSON.stringify(reportsPolicy));
  });

  after(async () => {
    serve?.signal('SIGTERM');
    await serve?.exit();
    await Promise.all([good.close(), expired.close(), reportsMx.close(), dns.close()]);
    await installation.remove();
  });

  it('reports a failed then a successful delivery under the MTA-STS policy in the next day\'s report', { timeout: 120_000 }, async () => {
    serve = await ServeProcess.start(installation.configFile);
    const first = serve;
    const qid = await submit(first.port(), 'app@example.org', ['a@rpt.test']);
    const deferred = await first.waitForLog((line) => line['msg'] === 'recipient deferred' && line['qid'] === qid, 15_000);
    assert.match(String(deferred['reply']), /CERT_HAS_EXPIRED/);
    // The MX gets a valid certificate (its name now points at the good server); the retry goes through.
    dns.zones['mx.rpt.test'] = { A: ['127.0.0.6'], ttl: 0 };
    const flushed = await runOutpost(['queue', 'flush', '--config', installation.configFile]);
    assert.equal(flushed.code, 0, flushed.stderr);
    await good.until(() => good.messages.some((message) => message.recipients.includes('a@rpt.test')));
    const http = await first.waitForLog((line) => line['msg'] === 'http listening');
    const metrics = await (await fetch(`http://127.0.0.1:${String(http['port'])}/metrics`)).text();
    assert.match(metrics, /^outpost_tlsrpt_sessions_total\{result="success"\} 1$/m);
    assert.match(metrics, /^outpost_tlsrpt_sessions_total\{result="failure"\} 1$/m);
    first.signal('SIGTERM');
    assert.equal(await first.exit(), 0);
    serve = undefined;

    // The counts of today are on disk (written at shutdown).
    const today = utcDay(Date.now());
    assert.deepEqual(await readdir(join(installation.spoolDir, 'tlsrpt', today)), ['rpt.test.json']);

    // The sender, its clock just past today's end, queues the report in the spool.
    const config = await loadConfig(installation.configFile, {});
    const clock = new ManualClock(Date.parse(`${today}T00:00:00Z`) + 24 * 60 * 60_000);
    const log = memoryLog('debug');
    // The spool keeps real time: the report is due now for the second run.
    const spool = await Spool.open({ dir: config.spoolDir, clock: systemClock, logger: log.logger, recover: true });
    const { resolver } = resolverFor([dns], { clock });
    const parts = createTlsReportRecorder(config.spoolDir, { clock, logger: log.logger });
    const sender = createTlsReportSender(config.tlsrpt, parts, {
      hostname: config.hostname,
      resolver,
      ipv6: false,
      ca: [...rootCertificates, caCert],
      sink: spool,
      signer: undefined,
      clock,
      random: () => 0,
      logger: log.logger,
    });
    sender.start();
    clock.advance(0);
    await sender.idle();
    await sender.stop();
    await parts.recorder.close();
    const [queued] = await spool.list();
    await spool.close();
    assert.deepEqual(queued?.recipients.map((recipient) => recipient.address), ['tls-reports@reports.test']);
    assert.equal(queued?.tlsRequirement, 'tls-required-no');

    // A second run delivers it to the rua's MX, though that MX fails its domain's MTA-STS enforce policy (no STARTTLS).
    serve = await ServeProcess.start(installation.configFile);
    const second = serve;
    await reportsMx.until(() => reportsMx.messages.length > 0);
    const [message] = reportsMx.messages;
    assert.deepEqual([message?.from, message?.recipients, message?.tls], ['', ['tls-reports@reports.test'], false]);
    // Ordinary mail to the same domain is held back by the policy.
    const ordinary = await submit(second.port(), 'app@example.org', ['ops@reports.test']);
    const held = await second.waitForLog((line) => line['msg'] === 'recipient deferred' && line['qid'] === ordinary, 15_000);
    assert.match(String(held['reply']), /^451 4\.7\.5 .*does not offer STARTTLS/);
    assert.equal(reportsMx.messages.length, 1);
    const mail = await readReportMail(message?.data ?? Buffer.alloc(0));
    assert.deepEqual([mail.contentType, mail.reportType, mail.headers['TLS-Report-Domain'], mail.headers['TLS-Report-Submitter']], ['multipart/report', 'tlsrpt', 'rpt.test', 'mx.example.org']);
    const report = mail.report as Json;
    assert.equal(report['organization-name'], 'Outpost E2E');
    assert.equal(report['contact-info'], 'postmaster@mx.example.org');
    const policies = report['policies'] as Json[];
    assert.equal(policies.length, 1);
    const [policy] = policies;
    assert.deepEqual(policy?.['policy'], { 'policy-type': 'sts', 'policy-string': ['version: STSv1', 'mode: enforce', 'mx: mx.rpt.test', 'max_age: 604800'], 'policy-domain': 'rpt.test', 'mx-host': ['mx.rpt.test'] });
    assert.deepEqual(policy?.['summary'], { 'total-successful-session-count': 1, 'total-failure-session-count': 1 });
    const [detail] = policy?.['failure-details'] as Json[];
    assert.deepEqual([detail?.['result-type'], detail?.['receiving-mx-hostname'], detail?.['receiving-ip'], detail?.['failed-session-count'], detail?.['failure-reason-code']], ['certificate-expired', 'mx.rpt.test', '127.0.0.8', 1, 'CERT_HAS_EXPIRED']);
    assert.notEqual(isIP(String(detail?.['sending-mta-ip'])), 0);
  });
});
