// Mail actually leaves: the real `outpost serve` resolves destinations with
// the test DNS server and delivers to fake remote MTAs on loopback; temporary
// failures retry, permanent ones come back as DSNs, and the queue CLI drives
// the running server through its control socket.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { FakeMta, type ReceivedMessage } from '../helpers/fake-mta.js';
import { submit } from '../helpers/e2e-clients.js';
import { makeInstallation, runOutpost, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';
import { makeSelfSignedCertificate } from '../helpers/tls-cert.js';

interface QueueEntry {
  id: string;
  from: string;
  recipients: { address: string; state: string; attempts: number; lastReply: string | null }[];
}

/** Waits until every message the log shows queued (by a client or as a DSN) is logged done (removed from the spool). */
async function allMessagesDone(serve: ServeProcess): Promise<void> {
  for (;;) {
    const queued = serve.logLines.flatMap((line) => (line['msg'] === 'message queued' ? [line['qid']] : line['msg'] === 'DSN queued' ? [line['dsnQid']] : []));
    const open = queued.filter((id) => !serve.logLines.some((line) => line['msg'] === 'message done' && line['qid'] === id));
    if (open.length === 0) return;
    for (const id of open) await serve.waitForLog((line) => line['msg'] === 'message done' && line['qid'] === id, 30_000);
  }
}

function messagesTo(mta: FakeMta, rcpt: string): ReceivedMessage[] {
  return mta.messages.filter((message) => message.recipients.includes(rcpt));
}

/** The delivery-status part of a DSN as field maps: the per-message block, then one per recipient. */
function deliveryStatusBlocks(dsn: ReceivedMessage): Map<string, string>[] {
  const text = dsn.data.toString('utf8');
  const start = text.search(/Content-Type: message\/(global-)?delivery-status/i);
  assert.ok(start !== -1, 'a delivery-status part');
  const part = text.slice(text.indexOf('\r\n\r\n', start) + 4, text.indexOf('\r\n--', start));
  return part
    .split(/\r\n\r\n/)
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const fields = new Map<string, string>();
      for (const line of block.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon > 0) fields.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
      }
      return fields;
    });
}

describe('delivery end to end', () => {
  let dns: TestDnsServer;
  let installation: TestInstallation;
  let serve: ServeProcess;
  let main: FakeMta; // MX of most test domains, and of example.org (where DSNs go)
  let backup: FakeMta; // second MX of fallback.test
  let tlsMta: FakeMta;

  before(async () => {
    main = await FakeMta.start({ host: '127.0.0.2', name: 'main.mx.test' });
    const port = main.port;
    backup = await FakeMta.start({ host: '127.0.0.3', port, name: 'backup.mx.test' });
    const certificate = await makeSelfSignedCertificate('tls.mx.test');
    tlsMta = await FakeMta.start({ host: '127.0.0.5', port, name: 'tls.mx.test', tls: { key: certificate.key, cert: certificate.cert } });
    const mx = (host: string, preference = 10): { preference: number; exchange: string } => ({ preference, exchange: host });
    dns = await startDnsServer({
      zones: {
        'example.org': { MX: [mx('main.mx.test')] },
        'one.test': { MX: [mx('main.mx.test')] },
        'two.test': { MX: [mx('main.mx.test')] },
        'three.test': { MX: [mx('main.mx.test')] },
        'fallback.test': { MX: [mx('dead.mx.test', 10), mx('backup.mx.test', 20)] },
        'retry.test': { MX: [mx('main.mx.test')] },
        'partial.test': { MX: [mx('main.mx.test')] },
        'tls.test': { MX: [mx('tls.mx.test')] },
        'nullmx.test': { MX: [{ preference: 0, exchange: '.' }] },
        'main.mx.test': { A: ['127.0.0.2'] },
        'backup.mx.test': { A: ['127.0.0.3'] },
        'dead.mx.test': { A: ['127.0.0.4'] },
        'tls.mx.test': { A: ['127.0.0.5'] },
      },
    });
    let retryAnswered = false;
    main.script.rcpt = ({ argument }) => {
      if (argument === 'later@retry.test' && !retryAnswered) {
        retryAnswered = true;
        return '451 4.2.0 try again later';
      }
      if (argument === 'nobody@partial.test' || argument === 'gone@partial.test') return '550 5.1.1 no such user here';
      return undefined;
    };
    installation = await makeInstallation({
      dns: dns,
      extraYaml: [
        `delivery: { port: ${port}, retry: [1s], connectTimeout: 2s, commandTimeout: 10s, dataDoneTimeout: 10s }`,
      ].join('\n'),
    });
    serve = await ServeProcess.start(installation.configFile);
  });

  after(async () => {
    serve.signal('SIGTERM');
    await serve.exit();
    await Promise.all([main.close(), backup.close(), tlsMta.close(), dns.close()]);
    await installation.remove();
  });

  it('delivers mail for three destination domains', async () => {
    await submit(serve.port(), 'app@example.org', ['a@one.test', 'b@two.test', 'c@three.test'], 'Subject: three\r\n\r\nto three domains\r\n');
    await main.until(() => ['a@one.test', 'b@two.test', 'c@three.test'].every((rcpt) => messagesTo(main, rcpt).length === 1));
    const received = messagesTo(main, 'a@one.test')[0];
    assert.equal(received?.from, 'app@example.org');
    assert.match(received?.data.toString('utf8') ?? '', /^Received: from app\.example\.org[\s\S]*to three domains\r\n$/);
  });

  it('goes on to the second MX when the first refuses connections', async () => {
    await submit(serve.port(), 'app@example.org', ['x@fallback.test']);
    await backup.until(() => messagesTo(backup, 'x@fallback.test').length === 1);
  });

  it('retries a 451 and delivers on the next attempt', async () => {
    const id = await submit(serve.port(), 'app@example.org', ['later@retry.test']);
    await main.until(() => messagesTo(main, 'later@retry.test').length === 1);
    const log = await serve.waitForLog((line) => line['msg'] === 'recipient deferred' && line['qid'] === id);
    assert.match(String(log['reply']), /^451 4\.2\.0/);
  });

  it('delivers to two of three recipients and sends one DSN for the 550', async () => {
    const id = await submit(serve.port(), 'app@example.org', ['ok1@partial.test', 'nobody@partial.test', 'ok2@partial.test']);
    await main.until(() => main.messages.some((message) => message.from === '' && message.recipients.includes('app@example.org') && message.data.includes(id)));
    const delivered = main.messages.filter((message) => message.from === 'app@example.org' && message.recipients.some((rcpt) => rcpt.endsWith('@partial.test')));
    assert.deepEqual(delivered.flatMap((message) => message.recipients).sort(), ['ok1@partial.test', 'ok2@partial.test']);
    const dsns = main.messages.filter((message) => message.from === '' && message.data.includes(id));
    assert.equal(dsns.length, 1);
    const dsn = dsns[0] as ReceivedMessage;
    const text = dsn.data.toString('utf8');
    assert.match(text, /^From: .*MAILER-DAEMON@mx\.example\.org/m);
    assert.match(text, /^Auto-Submitted: auto-replied/m);
    assert.match(text, /^Content-Type: multipart\/report; report-type=delivery-status/m);
    const [perMessage, ...perRecipient] = deliveryStatusBlocks(dsn);
    assert.equal(perMessage?.get('reporting-mta'), 'dns; mx.example.org');
    assert.ok(perMessage?.has('arrival-date'));
    assert.equal(perRecipient.length, 1);
    const failed = perRecipient[0];
    assert.equal(failed?.get('final-recipient'), 'rfc822; nobody@partial.test');
    assert.equal(failed?.get('action'), 'failed');
    assert.equal(failed?.get('status'), '5.1.1');
    assert.equal(failed?.get('remote-mta'), 'dns; main.mx.test');
    assert.match(failed?.get('diagnostic-code') ?? '', /^smtp; 550 5\.1\.1 no such user here/);
    assert.match(text, /Content-Type: text\/rfc822-headers/);
  });

  it('bounces a null-MX destination with 5.1.10 and never connects', async () => {
    const sessionsBefore = main.sessions.length + backup.sessions.length + tlsMta.sessions.length;
    const id = await submit(serve.port(), 'app@example.org', ['someone@nullmx.test']);
    await main.until(() => main.messages.some((message) => message.from === '' && message.data.includes(id)));
    const dsn = main.messages.find((message) => message.from === '' && message.data.includes(id)) as ReceivedMessage;
    assert.equal(deliveryStatusBlocks(dsn)[1]?.get('status'), '5.1.10');
    const sessionsAfter = main.sessions.length + backup.sessions.length + tlsMta.sessions.length;
    // The DSN may ride on a session to example.org kept open for reuse (delivery.connectionReuseTime).
    assert.ok(sessionsAfter - sessionsBefore <= 1, 'only the DSN delivery connected anywhere');
    const sessions = [...main.sessions, ...backup.sessions, ...tlsMta.sessions];
    assert.ok(!sessions.some((session) => session.commands.some((command) => command.includes('someone@nullmx.test'))), 'no RCPT for the null-MX recipient');
  });

  it('sends no DSN for a failing message from <>', async () => {
    // Not nobody@partial.test again: its 550 5.1.1 above put it on the suppression list (on by default).
    const id = await submit(serve.port(), '', ['gone@partial.test']);
    await serve.waitForLog((line) => line['msg'] === 'recipient failed' && line['qid'] === id);
    await serve.waitForLog((line) => line['msg'] === 'message done' && line['qid'] === id);
    assert.equal(main.messages.filter((message) => message.from === '' && message.data.includes(id)).length, 0);
  });

  it('uses STARTTLS when the remote offers it', async () => {
    const id = await submit(serve.port(), 'app@example.org', ['secure@tls.test']);
    await tlsMta.until(() => messagesTo(tlsMta, 'secure@tls.test').length === 1);
    assert.equal(messagesTo(tlsMta, 'secure@tls.test')[0]?.tls, true);
    const log = await serve.waitForLog((line) => line['msg'] === 'recipient delivered' && line['qid'] === id);
    assert.match(String(log['tls']), /^TLSv1\.[23] /);
  });

  it('counts deliveries, DSNs and outbound TLS in /metrics', async () => {
    const http = await serve.waitForLog((line) => line['msg'] === 'http listening');
    const text = await (await fetch(`http://127.0.0.1:${String(http['port'])}/metrics`)).text();
    const value = (series: string): number => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    assert.ok(value('outpost_deliveries_total{outcome="delivered"}') >= 6, text);
    assert.ok(value('outpost_deliveries_total{outcome="failed"}') >= 3);
    assert.ok(value('outpost_deliveries_total{outcome="deferred"}') >= 1);
    assert.ok(value('outpost_dsn_sent_total{action="failed"}') >= 2);
    assert.ok(value('outpost_tls_sessions_total{direction="out"}') >= 1);
  });

  it('empties the queue once everything is final', async () => {
    await allMessagesDone(serve);
    const listed = await runOutpost(['queue', 'list', '--json', '--config', installation.configFile]);
    assert.deepEqual(JSON.parse(listed.stdout) as QueueEntry[], []);
  });
});

describe('queue actions against a running server', () => {
  let dns: TestDnsServer;
  let installation: TestInstallation;
  let serve: ServeProcess;
  let mta: FakeMta;

  before(async () => {
    mta = await FakeMta.start({ host: '127.0.0.2', name: 'slow.mx.test' });
    mta.script.rcpt = () => '451 4.3.2 not now';
    const viaSlowMx = { MX: [{ preference: 10, exchange: 'slow.mx.test' }] };
    dns = await startDnsServer({ zones: { 'held.test': viaSlowMx, 'example.org': viaSlowMx, 'slow.mx.test': { A: ['127.0.0.2'] } } });
    installation = await makeInstallation({
      dns,
      extraYaml: `delivery: { port: ${mta.port}, retry: [1h], connectTimeout: 2s }`,
    });
    serve = await ServeProcess.start(installation.configFile);
  });

  after(async () => {
    serve.signal('SIGTERM');
    await serve.exit();
    await Promise.all([mta.close(), dns.close()]);
    await installation.remove();
  });

  async function queue(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return runOutpost(['queue', ...args, '--config', installation.configFile]);
  }

  async function deferred(id: string): Promise<void> {
    await serve.waitForLog((line) => line['msg'] === 'recipient deferred' && line['qid'] === id);
  }

  it('flush ID retries a deferred message now', async () => {
    const id = await submit(serve.port(), 'app@example.org', ['one@held.test']);
    await deferred(id);
    const listed = JSON.parse((await queue('list', '--json')).stdout) as QueueEntry[];
    const entry = listed.find((candidate) => candidate.id === id);
    assert.equal(entry?.recipients[0]?.state, 'pending');
    assert.match(entry?.recipients[0]?.lastReply ?? '', /^451 4\.3\.2/);
    mta.script.rcpt = () => undefined;
    const flushed = await queue('flush', id);
    assert.equal(flushed.code, 0, flushed.stderr);
    await mta.until(() => messagesTo(mta, 'one@held.test').length === 1);
  });

  it('delete ID removes a message without a DSN', async () => {
    mta.script.rcpt = () => '451 4.3.2 not now';
    const id = await submit(serve.port(), 'app@example.org', ['two@held.test']);
    await deferred(id);
    const deleted = await queue('delete', id);
    assert.equal(deleted.code, 0, deleted.stderr);
    const listed = JSON.parse((await queue('list', '--json')).stdout) as QueueEntry[];
    assert.equal(listed.some((entry) => entry.id === id), false);
    assert.equal((await queue('delete', id)).code, 1, 'a second delete finds nothing');
  });

  it('bounce ID gives up at once and queues a DSN to the sender', async () => {
    const id = await submit(serve.port(), 'app@example.org', ['three@held.test']);
    await deferred(id);
    const bounced = await queue('bounce', id);
    assert.equal(bounced.code, 0, bounced.stderr);
    await serve.waitForLog((line) => line['msg'] === 'message done' && line['qid'] === id);
    const listed = JSON.parse((await queue('list', '--json')).stdout) as QueueEntry[];
    assert.equal(listed.some((entry) => entry.id === id), false);
    assert.ok(listed.some((entry) => entry.from === '' && entry.recipients[0]?.address === 'app@example.org'), 'the DSN is queued');
  });

  it('answers an unknown id with exit 1', async () => {
    const result = await queue('flush', 'NOSUCHID0000');
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no message with id NOSUCHID0000/);
  });
});
