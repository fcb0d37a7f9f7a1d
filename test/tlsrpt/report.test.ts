// TLS report counts (RFC 8460 §4): the recorder aggregates sessions per UTC day
// and policy domain, writes them to the spool (a new instance adds to them), and
// the report carries exactly the field names of the RFC's example (Appendix B).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MAX_DETAILS_PER_POLICY } from '../../src/tlsrpt/aggregate.js';
import { SpoolRecorder } from '../../src/tlsrpt/recorder.js';
import { noPolicyFound, stsReportedPolicy } from '../../src/tlsrpt/reported-policy.js';
import { buildReport, gzipReport, reportFileName, reportId } from '../../src/tlsrpt/report.js';
import { ReportStore } from '../../src/tlsrpt/store.js';
import type { FailureDetails } from '../../src/tlsrpt/types.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog } from '../helpers/memory-log.js';

/** RFC 8460 Appendix B, with the mx-host erratum (EID 6241: a list). */
const RFC_EXAMPLE = `{
  "organization-name": "Company-X",
  "date-range": {
    "start-datetime": "2016-04-01T00:00:00Z",
    "end-datetime": "2016-04-01T23:59:59Z"
  },
  "contact-info": "sts-reporting@company-x.example",
  "report-id": "5065427c-23d3-47ca-b6e0-946ea0e8c4be",
  "policies": [{
    "policy": {
      "policy-type": "sts",
      "policy-string": ["version: STSv1","mode: testing", "mx: *.mail.company-y.example","max_age: 86400"],
      "policy-domain": "company-y.example",
      "mx-host": ["*.mail.company-y.example"]
    },
    "summary": {
      "total-successful-session-count": 5326,
      "total-failure-session-count": 303
    },
    "failure-details": [{
      "result-type": "certificate-expired",
      "sending-mta-ip": "2001:db8:abcd:0012::1",
      "receiving-mx-hostname": "mx1.mail.company-y.example",
      "failed-session-count": 100
    }, {
      "result-type": "starttls-not-supported",
      "sending-mta-ip": "2001:db8:abcd:0013::1",
      "receiving-mx-hostname": "mx2.mail.company-y.example",
      "receiving-ip": "203.0.113.56",
      "failed-session-count": 200,
      "additional-information": "https://reports.company-x.example/report_info?id=5065427c-23d3#StarttlsNotSupported"
    }, {
      "result-type": "validation-failure",
      "sending-mta-ip": "198.51.100.62",
      "receiving-ip": "203.0.113.58",
      "receiving-mx-hostname": "mx-backup.mail.company-y.example",
      "failed-session-count": 3,
      "failure-reason-code": "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"
    }]
  }]
}`;

/** §4.4 fields the example leaves out: receiving-mx-helo (optional in failure-details). */
const OPTIONAL_NOT_IN_EXAMPLE = new Set(['receiving-mx-helo']);

type Json = Record<string, unknown>;

function keysOf(value: unknown): string[] {
  return Object.keys(value as Json).sort();
}

/** Every object's keys in `report` are keys the RFC example has at the same place (required ones present). */
function assertRfcShape(report: Json, example: Json): void {
  assert.deepEqual(keysOf(report), keysOf(example));
  assert.deepEqual(keysOf(report['date-range']), keysOf(example['date-range']));
  const examplePolicy = (example['policies'] as Json[])[0] as Json;
  const exampleDetailKeys = new Set((examplePolicy['failure-details'] as Json[]).flatMap(keysOf));
  for (const policy of report['policies'] as Json[]) {
    assert.deepEqual(keysOf(policy), keysOf(examplePolicy));
    assert.deepEqual(keysOf(policy['policy']), keysOf(examplePolicy['policy']));
    assert.deepEqual(keysOf(policy['summary']), keysOf(examplePolicy['summary']));
    for (const detail of policy['failure-details'] as Json[]) {
      for (const key of keysOf(detail)) assert.ok(exampleDetailKeys.has(key) || OPTIONAL_NOT_IN_EXAMPLE.has(key), `unknown failure-details field ${key}`);
      assert.equal(typeof detail['result-type'], 'string');
      assert.equal(typeof detail['failed-session-count'], 'number');
    }
    assert.ok(Array.isArray((policy['policy'] as Json)['policy-string']));
    assert.ok(Array.isArray((policy['policy'] as Json)['mx-host']));
  }
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-tlsrpt-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const STS = stsReportedPolicy('company-y.example', { mode: 'testing', mx: ['*.mail.company-y.example'], maxAgeSeconds: 86_400 });
const EXPIRED: FailureDetails = { resultType: 'certificate-expired', sendingMtaIp: '2001:db8:abcd:12::1', receivingMxHostname: 'mx1.mail.company-y.example', receivingIp: '203.0.113.55', failureReasonCode: 'CERT_HAS_EXPIRED' };
const NO_STARTTLS: FailureDetails = { resultType: 'starttls-not-supported', sendingMtaIp: '2001:db8:abcd:12::1', receivingMxHostname: 'mx2.mail.company-y.example', receivingIp: '203.0.113.56' };

function recorderAt(folder: string, clock: ManualClock): { recorder: SpoolRecorder; store: ReportStore } {
  const store = new ReportStore(folder);
  return { store, recorder: new SpoolRecorder({ store, clock, logger: memoryLog().logger, flushIntervalMs: 10_000 }) };
}

describe('the recorder', () => {
  it('counts successes and failures per policy, merging failure details equal but for the count', async () => {
    const clock = new ManualClock(Date.UTC(2026, 3, 1, 12, 0, 0));
    const { recorder, store } = recorderAt(join(dir, 'merge'), clock);
    for (let index = 0; index < 5; index += 1) recorder.succeeded(STS);
    recorder.failed(STS, EXPIRED);
    recorder.failed(STS, EXPIRED);
    recorder.failed(STS, NO_STARTTLS);
    recorder.succeeded(noPolicyFound('other.example'));
    await recorder.flush();
    const read = await store.read('2026-04-01', 'company-y.example');
    assert.equal(read.kind, 'found');
    if (read.kind !== 'found') return;
    const report = buildReport('2026-04-01', 'company-y.example', read.stored.counts, { organization: 'Outpost Org', contact: 'postmaster@mx.outpost.example', hostname: 'mx.outpost.example' });
    assert.deepEqual(report.policies.map((policy) => policy.summary), [{ 'total-successful-session-count': 5, 'total-failure-session-count': 3 }]);
    assert.deepEqual(report.policies[0]?.['failure-details'], [
      { 'result-type': 'certificate-expired', 'sending-mta-ip': '2001:db8:abcd:12::1', 'receiving-mx-hostname': 'mx1.mail.company-y.example', 'receiving-ip': '203.0.113.55', 'failed-session-count': 2, 'failure-reason-code': 'CERT_HAS_EXPIRED' },
      { 'result-type': 'starttls-not-supported', 'sending-mta-ip': '2001:db8:abcd:12::1', 'receiving-mx-hostname': 'mx2.mail.company-y.example', 'receiving-ip': '203.0.113.56', 'failed-session-count': 1 },
    ]);
    assert.deepEqual(await store.domains('2026-04-01'), ['company-y.example', 'other.example']);
  });

  it('writes a report with exactly the field names of the RFC example, policy lines and mx-host as lists', async () => {
    const clock = new ManualClock(Date.UTC(2026, 3, 1, 23, 59, 0));
    const { recorder, store } = recorderAt(join(dir, 'shape'), clock);
    recorder.succeeded(STS);
    recorder.failed(STS, EXPIRED);
    recorder.failed(STS, { ...NO_STARTTLS, receivingMxHelo: 'mx2.helo.example', additionalInformation: 'https://reports.outpost.example/x' });
    recorder.failed(noPolicyFound('company-y.example'), { resultType: 'validation-failure', failureReasonCode: 'ERR_SSL_WRONG_VERSION_NUMBER' });
    await recorder.close();
    const read = await store.read('2026-04-01', 'company-y.example');
    assert.equal(read.kind, 'found');
    if (read.kind !== 'found') return;
    const report = buildReport('2026-04-01', 'company-y.example', read.stored.counts, { organization: 'Outpost Org', contact: 'postmaster@mx.outpost.example', hostname: 'mx.outpost.example' });
    const example = JSON.parse(RFC_EXAMPLE) as Json;
    const decoded = JSON.parse(gunzipSync(gzipReport(report)).toString('utf8')) as Json;
    assertRfcShape(decoded, example);
    assert.deepEqual(decoded['date-range'], { 'start-datetime': '2026-04-01T00:00:00Z', 'end-datetime': '2026-04-01T23:59:59Z' });
    assert.equal(decoded['report-id'], '20260401.company-y.example@mx.outpost.example');
    assert.equal(decoded['organization-name'], 'Outpost Org');
    assert.equal(decoded['contact-info'], 'postmaster@mx.outpost.example');
    const policies = decoded['policies'] as Json[];
    assert.deepEqual(policies.map((policy) => policy['policy']), [
      { 'policy-type': 'sts', 'policy-string': ['version: STSv1', 'mode: testing', 'mx: *.mail.company-y.example', 'max_age: 86400'], 'policy-domain': 'company-y.example', 'mx-host': ['*.mail.company-y.example'] },
      { 'policy-type': 'no-policy-found', 'policy-string': [], 'policy-domain': 'company-y.example', 'mx-host': [] },
    ]);
    // The RFC example's policy object, read by the same checks, passes them (the checks are not vacuous).
    assertRfcShape(example, example);
  });

  it('keeps counting into the same file from a new instance (a restart)', async () => {
    const folder = join(dir, 'restart');
    const clock = new ManualClock(Date.UTC(2026, 3, 2, 8, 0, 0));
    const first = recorderAt(folder, clock);
    first.recorder.succeeded(STS);
    first.recorder.failed(STS, EXPIRED);
    await first.recorder.close();
    first.recorder.succeeded(STS); // after close: not counted
    const second = recorderAt(folder, clock);
    second.recorder.succeeded(STS);
    second.recorder.succeeded(STS);
    second.recorder.failed(STS, EXPIRED);
    await second.recorder.close();
    const read = await new ReportStore(folder).read('2026-04-02', 'company-y.example');
    assert.equal(read.kind, 'found');
    if (read.kind !== 'found') return;
    const [counts] = read.stored.counts.policies.values();
    assert.deepEqual([counts?.successes, counts?.failures, [...(counts?.details.values() ?? [])].map(({ count }) => count)], [3, 2, [2]]);
    assert.deepEqual(await readdir(join(folder, '2026-04-02')), ['company-y.example.json']);
  });

  it('flushes on its own after the flush interval, and files the counts under the UTC day they happened', async () => {
    const folder = join(dir, 'timer');
    const clock = new ManualClock(Date.UTC(2026, 3, 3, 23, 59, 59));
    const { recorder, store } = recorderAt(folder, clock);
    recorder.succeeded(STS);
    assert.equal(clock.pendingTimers, 1);
    clock.advance(1000);
    recorder.succeeded(STS);
    clock.advance(10_000);
    // The timer's flush runs; an explicit flush waits for it (one writer at a time).
    await recorder.flush();
    assert.deepEqual(await store.days(), ['2026-04-03', '2026-04-04']);
    assert.equal(clock.pendingTimers, 0, 'no timer while nothing is pending');
  });

  it('starts a broken counts file anew and bounds the failure details kept per policy', async () => {
    const folder = join(dir, 'bounds');
    const clock = new ManualClock(Date.UTC(2026, 3, 5, 8, 0, 0));
    await mkdir(join(folder, '2026-04-05'), { recursive: true });
    await writeFile(join(folder, '2026-04-05', 'company-y.example.json'), '{ not json');
    const { recorder, store } = recorderAt(folder, clock);
    for (let index = 0; index < MAX_DETAILS_PER_POLICY + 10; index += 1) recorder.failed(STS, { ...EXPIRED, receivingIp: `10.0.${index >> 8}.${index & 255}` });
    await recorder.close();
    const read = await store.read('2026-04-05', 'company-y.example');
    assert.equal(read.kind, 'found');
    if (read.kind !== 'found') return;
    const [counts] = read.stored.counts.policies.values();
    assert.deepEqual([counts?.failures, counts?.details.size], [MAX_DETAILS_PER_POLICY + 10, MAX_DETAILS_PER_POLICY]);
    assert.match(await readFile(join(folder, '2026-04-05', 'company-y.example.json'), 'utf8'), /^\{"version":1,"day":"2026-04-05","domain":"company-y.example"/);
  });
});

describe('report names', () => {
  it('names the file sender!policy-domain!begin!end!unique-id.json.gz (§5.1) and the report id like a msg-id', () => {
    const name = reportFileName('2026-04-01', 'company-y.example', 'mx.outpost.example');
    const [sender, domain, begin, end, rest] = name.split('!');
    assert.deepEqual([sender, domain, begin, end], ['mx.outpost.example', 'company-y.example', String(Date.UTC(2026, 3, 1) / 1000), String(Date.UTC(2026, 3, 1, 23, 59, 59) / 1000)]);
    assert.match(rest ?? '', /^[0-9a-f]{16}\.json\.gz$/);
    assert.match(reportId('2026-04-01', 'company-y.example', 'mx.outpost.example'), /^[^@<>\s]+@mx\.outpost\.example$/);
  });
});
