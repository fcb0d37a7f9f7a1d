// The daily report sender (RFC 8460 §4.1, §5) on the manual clock: after the
// UTC day ends (and a random delay), each policy domain's report goes to its
// rua: mailto as a DKIM-signed mail in the real spool (read back with Python's
// email, gzip and json), https as a POST to a local HTTPS server trusted through
// the test CA; failures are retried, then dropped; domains without a record are dropped.

import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { generateKeyPem, parsePrivateKey, type DkimKey } from '../../src/dkim/keys.js';
import { keyringSigner } from '../../src/dkim/message-signer.js';
import { dkimRecord } from '../../src/dkim/record.js';
import { SigningKeyring } from '../../src/dkim/signing-keyring.js';
import { Spool } from '../../src/spool/spool.js';
import { noPolicyFound, stsReportedPolicy } from '../../src/tlsrpt/reported-policy.js';
import type { DailyReportSender } from '../../src/tlsrpt/sender.js';
import { createTlsReportRecorder, createTlsReportSender, type RecorderParts } from '../../src/tlsrpt/setup.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { resolverFor } from '../helpers/dns-resolver-setup.js';
import { dkimpyInstalled, verifyWithDkimpy } from '../helpers/dkimpy-verify.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog, type MemoryLog } from '../helpers/memory-log.js';
import { readGzipJson, readReportMail } from '../helpers/python-tlsrpt.js';
import { ReportServer } from '../helpers/report-server.js';
import { makeTestCa } from '../helpers/test-ca.js';

const HOUR_MS = 60 * 60_000;
const START_MS = Date.UTC(2026, 10, 26, 10, 0, 0);
const inCi = process.env['CI'] === 'true';

let dns: TestDnsServer;
let reports: ReportServer;
let caCert: string;
let dir: string;

before(async () => {
  const ca = await makeTestCa();
  caCert = ca.cert;
  reports = await ReportServer.start(await ca.issue('reports.web.test'));
  dns = await startDnsServer({
    zones: {
      '_smtp._tls.mail.test': { TXT: ['v=TLSRPTv1; rua=mailto:tls-reports@mail.test'] },
      '_smtp._tls.web.test': { TXT: [`v=TLSRPTv1; rua=https://reports.web.test:${reports.port}/v1/tlsrpt`] },
      '_smtp._tls.both.test': { TXT: [`v=TLSRPTv1; rua=mailto:a@both.test,https://reports.web.test:${reports.port}/both; rua=ftp://x.test/y`] },
      'reports.web.test': { A: ['127.0.0.1'] },
    },
    faults: { '_smtp._tls.flaky.test': { kind: 'servfail' } },
  });
  dir = await mkdtemp(join(tmpdir(), 'outpost-tlsrpt-send-'));
});
after(async () => {
  await Promise.all([reports.close(), dns.close()]);
  await rm(dir, { recursive: true, force: true });
});

interface Rig {
  readonly clock: ManualClock;
  readonly spool: Spool;
  readonly spoolDir: string;
  readonly parts: RecorderParts;
  readonly sender: DailyReportSender;
  readonly log: MemoryLog;
  readonly sent: string[];
  readonly failed: string[];
  close(): Promise<void>;
}

function edKey(domain: string): DkimKey {
  const parsed = parsePrivateKey(generateKeyPem('ed25519'));
  assert.ok(parsed.ok);
  return { ...parsed, domain, selector: 'tls1', file: `/keys/${domain}/tls1.pem`, createdMs: 0 };
}

const KEY = edKey('outpost.test');
let rigCount = 0;

async function rig(options: { spoolDir?: string; startMs?: number } = {}): Promise<Rig> {
  rigCount += 1;
  const spoolDir = options.spoolDir ?? join(dir, `spool-${rigCount}`);
  const clock = new ManualClock(options.startMs ?? START_MS);
  const log = memoryLog('debug');
  const spool = await Spool.open({ dir: spoolDir, clock, logger: log.logger, recover: true });
  const { resolver } = resolverFor([dns], { clock });
  const parts = createTlsReportRecorder(spoolDir, { clock, logger: log.logger });
  const sent: string[] = [];
  const failed: string[] = [];
  const sender = createTlsReportSender({ enabled: true, organization: 'Outpost Test Org', contact: 'postmaster@mx.outpost.test' }, parts, {
    hostname: 'mx.outpost.test',
    resolver,
    ipv6: false,
    ca: [...rootCertificates, caCert],
    sink: spool,
    signer: keyringSigner({ keyring: () => new SigningKeyring([KEY]), isLocalDomain: (domain) => domain === 'outpost.test', clock }),
    clock,
    random: () => 0.5,
    logger: log.logger,
    observer: { reportSent: (method) => sent.push(method), reportFailed: (method) => failed.push(method) },
  });
  return {
    clock,
    spool,
    spoolDir,
    parts,
    sender,
    log,
    sent,
    failed,
    async close() {
      await sender.stop();
      await parts.recorder.close();
      await spool.close();
    },
  };
}

const STS = stsReportedPolicy('mail.test', { mode: 'enforce', mx: ['mx.mail.test'], maxAgeSeconds: 604_800 });

/** Moves the clock to `atMs` (firing the sender's timers) and waits for the round it started. */
async function advanceTo(r: Rig, atMs: number): Promise<void> {
  r.clock.advance(atMs - r.clock.now());
  await r.sender.idle();
}

async function storedMessage(spool: Spool, id: string): Promise<Buffer> {
  const record = await spool.read(id);
  const chunks: Buffer[] = [Buffer.from(record?.dkimSignature ?? '')];
  for await (const chunk of spool.openBody(id)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

type Json = Record<string, unknown>;

describe('the daily report sender', () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
  });

  it('queues the mailto: report after the day ends and a random delay: multipart/report, signed, report JSON inside', { skip: !dkimpyInstalled() && !inCi ? 'python3-dkim not installed' : false }, async () => {
    for (let index = 0; index < 4; index += 1) r.parts.recorder.succeeded(STS);
    r.parts.recorder.failed(STS, { resultType: 'certificate-expired', sendingMtaIp: '192.0.2.25', receivingMxHostname: 'mx.mail.test', receivingIp: '198.51.100.7', failureReasonCode: 'CERT_HAS_EXPIRED' });
    r.sender.start();
    // The first round (after half of the at most one hour delay) finds only today's counts: nothing is due.
    await advanceTo(r, START_MS + HOUR_MS / 2);
    assert.deepEqual(await r.spool.list(), []);
    // 2026-11-27 00:29: the day has ended, the random delay (0.5 h) has not.
    await advanceTo(r, Date.UTC(2026, 10, 27, 0, 29));
    assert.deepEqual(await r.spool.list(), []);
    await advanceTo(r, Date.UTC(2026, 10, 27, 0, 30));
    const [queued] = await r.spool.list();
    assert.ok(queued !== undefined, 'report queued');
    assert.deepEqual([queued.from, queued.recipients.map((recipient) => recipient.address), queued.body], ['', ['tls-reports@mail.test'], '7BIT']);
    const message = await storedMessage(r.spool, queued.id);
    const mail = await readReportMail(message);
    assert.deepEqual(mail.defects, []);
    assert.deepEqual([mail.contentType, mail.reportType], ['multipart/report', 'tlsrpt']);
    // Folded (RFC 5322 §2.2.3: over 78 characters); unfolded it is the §5.3 form.
    assert.equal(mail.headers['Subject']?.replace(/\r\n/g, ''), 'Report Domain: mail.test Submitter: mx.outpost.test Report-ID: <20261126.mail.test@mx.outpost.test>');
    assert.deepEqual([mail.headers['TLS-Report-Domain'], mail.headers['TLS-Report-Submitter'], mail.headers['From'], mail.headers['To']], ['mail.test', 'mx.outpost.test', '<tlsrpt-noreply@mx.outpost.test>', '<tls-reports@mail.test>']);
    const attachment = mail.parts.find((part) => part.type === 'application/tlsrpt+gzip');
    assert.equal(attachment?.cte, 'base64');
    assert.match(attachment?.filename ?? '', new RegExp(`^mx\\.outpost\\.test!mail\\.test!${Date.UTC(2026, 10, 26) / 1000}!${Date.UTC(2026, 10, 26, 23, 59, 59) / 1000}![0-9a-f]{16}\\.json\\.gz$`));
    const report = mail.report as Json;
    assert.deepEqual([report['organization-name'], report['contact-info'], report['report-id']], ['Outpost Test Org', 'postmaster@mx.outpost.test', '20261126.mail.test@mx.outpost.test']);
    assert.deepEqual(report['date-range'], { 'start-datetime': '2026-11-26T00:00:00Z', 'end-datetime': '2026-11-26T23:59:59Z' });
    const [policy] = report['policies'] as Json[];
    assert.deepEqual(policy?.['summary'], { 'total-successful-session-count': 4, 'total-failure-session-count': 1 });
    assert.deepEqual(policy?.['failure-details'], [
      { 'result-type': 'certificate-expired', 'sending-mta-ip': '192.0.2.25', 'receiving-mx-hostname': 'mx.mail.test', 'receiving-ip': '198.51.100.7', 'failed-session-count': 1, 'failure-reason-code': 'CERT_HAS_EXPIRED' },
    ]);
    // Signed by the parent domain's key (the From: domain is the host name), the report fields under the signature.
    const record = dkimRecord(KEY);
    assert.deepEqual(await verifyWithDkimpy(message, { [record.name]: record.value }), { signatures: 1, valid: [true] });
    assert.match(queued.dkimSignature?.replace(/\r\n\s+/g, '') ?? '', /d=outpost\.test;.*h=[^;]*TLS-Report-Domain:TLS-Report-Submitter/);
    // Sent: the counts and the day folder are gone; the next round is tomorrow after midnight.
    assert.deepEqual(await readdir(join(r.spoolDir, 'tlsrpt')), []);
    assert.deepEqual(r.sent, ['mailto']);
    await r.close();
  });

  it('POSTs the https: report as application/tlsrpt+gzip, certificate verified against the test CA', async () => {
    r.parts.recorder.succeeded(noPolicyFound('web.test'));
    r.parts.recorder.failed(noPolicyFound('web.test'), { resultType: 'starttls-not-supported', receivingMxHostname: 'mx.web.test', receivingIp: '198.51.100.8', failureReasonCode: 'starttls-not-offered' });
    r.sender.start();
    await advanceTo(r, Date.UTC(2026, 10, 27, 1, 0));
    assert.equal(reports.received.length, 1);
    const [post] = reports.received.splice(0);
    assert.deepEqual([post?.method, post?.path, post?.host, post?.contentType], ['POST', '/v1/tlsrpt', 'reports.web.test', 'application/tlsrpt+gzip']);
    const report = (await readGzipJson(post?.body ?? Buffer.alloc(0))) as Json;
    const [policy] = report['policies'] as Json[];
    assert.deepEqual(policy?.['policy'], { 'policy-type': 'no-policy-found', 'policy-string': [], 'policy-domain': 'web.test', 'mx-host': [] });
    assert.deepEqual(policy?.['summary'], { 'total-successful-session-count': 1, 'total-failure-session-count': 1 });
    assert.deepEqual(r.sent, ['https']);
    assert.deepEqual(await r.spool.list(), []);
    await r.close();
  });

  it('sends to every rua of the record, skips a scheme it cannot use, and retries only the URI that failed', async () => {
    reports.status = 503;
    r.parts.recorder.succeeded(noPolicyFound('both.test'));
    r.sender.start();
    await advanceTo(r, Date.UTC(2026, 10, 27, 1, 0));
    assert.equal((await r.spool.list()).length, 1, 'the mailto: report is queued');
    assert.equal(reports.received.splice(0).length, 1);
    assert.deepEqual([r.sent, r.failed], [['mailto'], ['https']]);
    assert.match(String(r.log.messages('tls report rua not usable, skipped')[0]?.['reason']), /^ftp:\/\/x\.test\/y: only mailto: and https: URIs take reports$/);
    const retry = r.log.messages('tls report not sent, will retry')[0];
    assert.equal(retry?.['nextAttempt'], new Date(Date.UTC(2026, 10, 27, 2, 0)).toISOString());
    // An hour later only the https: URI is tried again, and succeeds.
    reports.status = 200;
    await advanceTo(r, Date.UTC(2026, 10, 27, 2, 0));
    assert.equal(reports.received.splice(0).length, 1);
    assert.equal((await r.spool.list()).length, 1, 'no second mail');
    assert.deepEqual(r.sent, ['mailto', 'https']);
    assert.deepEqual(await readdir(join(r.spoolDir, 'tlsrpt')), []);
    await r.close();
  });

  it('drops a report after the last retry, and counts of a domain without a record at once', async () => {
    reports.status = 302;
    r.parts.recorder.succeeded(noPolicyFound('web.test'));
    r.parts.recorder.succeeded(noPolicyFound('none.test'));
    r.parts.recorder.succeeded(noPolicyFound('flaky.test'));
    r.sender.start();
    await advanceTo(r, Date.UTC(2026, 10, 27, 1, 0));
    assert.deepEqual(await readdir(join(r.spoolDir, 'tlsrpt', '2026-11-26')), ['flaky.test.json', 'web.test.json']);
    // Retries after 1 h, 3 h and 6 h more; then both are dropped.
    for (const atMs of [Date.UTC(2026, 10, 27, 2, 0), Date.UTC(2026, 10, 27, 5, 0), Date.UTC(2026, 10, 27, 11, 0)]) await advanceTo(r, atMs);
    assert.deepEqual(r.log.messages('tls report not sent, dropped after retries').map((entry) => entry['domain']).sort(), ['flaky.test', 'web.test']);
    const problems = (domain: string): string => String((r.log.messages('tls report not sent, will retry').find((entry) => entry['domain'] === domain)?.['problems'] as string[])[0]);
    assert.match(problems('web.test'), /^https:\/\/reports\.web\.test:\d+\/v1\/tlsrpt: HTTP 302 \(redirects are not followed\)$/);
    assert.equal(problems('flaky.test'), 'TXT lookup of _smtp._tls.flaky.test: servfail (SERVFAIL from 127.0.0.1)');
    assert.equal(reports.received.splice(0).length, 4);
    assert.deepEqual(r.failed, ['https', 'https', 'https', 'https']);
    assert.deepEqual(await readdir(join(r.spoolDir, 'tlsrpt')), []);
    reports.status = 200;
    await r.close();
  });

  it('sends after a restart what an earlier run counted (the first round comes within the random delay)', async () => {
    r.parts.recorder.succeeded(STS);
    r.parts.recorder.succeeded(STS);
    await r.close();
    const restarted = await rig({ spoolDir: r.spoolDir, startMs: Date.UTC(2026, 10, 28, 9, 0) });
    restarted.sender.start();
    await advanceTo(restarted, Date.UTC(2026, 10, 28, 9, 30));
    const [queued] = await restarted.spool.list();
    assert.ok(queued !== undefined);
    const mail = await readReportMail(await storedMessage(restarted.spool, queued.id));
    const [policy] = (mail.report as Json)['policies'] as Json[];
    assert.deepEqual(policy?.['summary'], { 'total-successful-session-count': 2, 'total-failure-session-count': 0 });
    await restarted.close();
  });
});
