// Lines over 998 octets end to end: the real `outpost serve`, Python's
// smtplib as the client, aiosmtpd as the next hop. A trusted client's
// message leaves outpost re-encoded, DKIM-signed over the fixed bytes
// (dkimpy verifies), with every part decoding (Python's email package) to
// what was sent; an outside sender gets 554 5.6.0; a 25 MB message of long
// lines is rewritten holding a few chunks at a time.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { loadDkimKeys } from '../../src/dkim/keys.js';
import { dkimRecord } from '../../src/dkim/record.js';
import { AiosmtpdCapture, aiosmtpdInstalled, DEBIAN_PYTHON, type CapturedMessage } from '../helpers/aiosmtpd-capture.js';
import { dkimpyInstalled, verifyWithDkimpy } from '../helpers/dkimpy-verify.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { makeInstallation, runOutpost, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';
import { pythonLeaves } from '../helpers/python-mime.js';

const inCi = process.env['CI'] === 'true';
const missing = !aiosmtpdInstalled() ? 'python3-aiosmtpd' : !dkimpyInstalled() ? 'python3-dkim / python3-nacl' : undefined;
const skip = missing !== undefined && !inCi ? `${missing} not installed` : false;

const SEND = `
import json, smtplib, sys
port, source, sender, recipient = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
message = sys.stdin.buffer.read()
try:
    with smtplib.SMTP('127.0.0.1', port, local_hostname='app.example.org', source_address=(source, 0), timeout=120) as client:
        client.sendmail(sender, [recipient], message, mail_options=['BODY=8BITMIME'])
    print(json.dumps({'ok': True}))
except smtplib.SMTPDataError as error:
    print(json.dumps({'ok': False, 'code': error.smtp_code, 'text': error.smtp_error.decode()}))
`;

/** Sends `message` byte for byte with Python's smtplib from `source` (127.0.0.1 is trusted here, 127.0.0.2 is not). */
function smtplibSend(port: number, message: Buffer, options: { source?: string; from?: string; to?: string } = {}): Promise<{ ok: boolean; code?: number; text?: string }> {
  return new Promise((resolve, reject) => {
    const args = ['-c', SEND, String(port), options.source ?? '127.0.0.1', options.from ?? 'news@example.org', options.to ?? 'reader@sink.test'];
    const child = execFile(DEBIAN_PYTHON, args, { timeout: 180_000 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`smtplib failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout) as { ok: boolean; code?: number; text?: string });
    });
    child.stdin?.end(message);
  });
}

const crlf = (text: string): Buffer => Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'utf8');

function htmlLine(octets: number): string {
  let line = '<!doctype html><html><body><table>';
  for (let n = 0; Buffer.byteLength(line) < octets - 40; n += 1) line += `<tr><td>${n}</td><td>Grüße – ½ €</td></tr>`;
  return `${line}</table></body></html>`;
}

function newsletter(subject: string, html: string): Buffer {
  return crlf(
    [
      'From: News <news@example.org>',
      'To: reader@sink.test',
      `Subject: ${subject}`,
      'Date: Mon, 30 Nov 2026 10:00:00 +0000',
      `Message-ID: <${subject.replace(/\W/g, '')}@example.org>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative; boundary="alt"',
      '',
      '--alt',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'The plain version.',
      '--alt',
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      html,
      '--alt--',
      '',
    ].join('\n'),
  );
}

function longestLine(message: Buffer): number {
  return message
    .toString('latin1')
    .split('\r\n')
    .reduce((longest, line) => Math.max(longest, line.length), 0);
}

/** Peak resident memory of a process since the last reset, and a reset (Linux /proc; clear_refs 5 resets the peak). */
async function peakRssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
}
/** Resets the peak and returns the resident memory now; undefined where /proc does not allow it. */
async function resetPeakRss(pid: number): Promise<number | undefined> {
  try {
    await writeFile(`/proc/${pid}/clear_refs`, '5');
  } catch {
    return undefined;
  }
  return peakRssBytes(pid);
}

describe('long lines end to end (smtplib -> outpost serve -> aiosmtpd; dkimpy, Python email)', { skip }, () => {
  let capture: AiosmtpdCapture;
  let dns: TestDnsServer;
  let installation: TestInstallation;
  let serve: ServeProcess;
  let port: number;
  const records: Record<string, string> = {};
  let received = 0;

  async function next(): Promise<CapturedMessage> {
    const messages = await capture.waitForMessages(received + 1, 120_000);
    received += 1;
    return messages[received - 1] as CapturedMessage;
  }

  before(async () => {
    capture = await AiosmtpdCapture.start('127.0.0.1');
    const zones: Record<string, object> = {
      'sink.test': { MX: [{ preference: 10, exchange: 'capture.mx.test' }] },
      'example.org': { MX: [{ preference: 10, exchange: 'capture.mx.test' }] },
      'capture.mx.test': { A: ['127.0.0.1'] },
    };
    dns = await startDnsServer({ zones: { ...zones } });
    installation = await makeInstallation({
      dns,
      extraYaml: ['trustedNetworks: [127.0.0.1/32]', `delivery: { port: ${capture.port}, retry: [1s] }`, 'limits: { maxMessageSize: 40MB }'].join('\n'),
    });
    for (const algorithm of ['rsa', 'ed25519']) {
      const made = await runOutpost(['dkim', 'keygen', 'example.org', '--algorithm', algorithm, '--config', installation.configFile]);
      assert.equal(made.code, 0, made.stderr);
    }
    const loaded = await loadDkimKeys(`${installation.dir}/dkim`);
    for (const key of loaded.keys) {
      const record = dkimRecord(key);
      records[record.name] = record.value;
      zones[record.name] = { TXT: [record.strings] };
    }
    dns.zones = { ...zones } as typeof dns.zones;
    serve = await ServeProcess.start(installation.configFile);
    port = serve.port('mta');
    await serve.waitForLog((line) => line['msg'] === 'dkim key record checked' && line['record'] === 'published', 10_000);
  });

  after(async () => {
    serve?.signal('SIGTERM');
    await serve?.exit();
    await installation?.remove();
    await dns?.close();
    await capture?.stop();
  });

  it('a trusted client: a 5000-octet HTML line leaves re-encoded, signed, every part decoding to what was sent', async () => {
    const message = newsletter('Newsletter one', htmlLine(5000));
    assert.deepEqual(await smtplibSend(port, message), { ok: true });
    const delivered = (await next()).data;
    assert.ok(longestLine(delivered) <= 998, `a delivered line of ${longestLine(delivered)} octets`);
    const html = delivered.toString('latin1').split('Content-Transfer-Encoding: quoted-printable\r\n\r\n')[1]?.split('\r\n--alt--')[0] ?? '';
    assert.ok(html.length > 5000);
    assert.ok(html.split('\r\n').every((line) => line.length <= 76), 'quoted-printable lines within 76 characters');
    assert.deepEqual((await verifyWithDkimpy(delivered, records)).valid, [true, true]);
    const [sent, got] = await pythonLeaves([message, delivered]);
    assert.deepEqual(got?.map((leaf) => [leaf.type, leaf.cte]), [['text/plain', ''], ['text/html', 'quoted-printable']]);
    sent?.forEach((leaf, index) => assert.ok(got?.[index]?.payload.equals(leaf.payload), `part ${index} decodes to what was sent`));
  });

  it('an outside sender (mail for a local domain): refused with 554 5.6.0, nothing queued', async () => {
    const result = await smtplibSend(port, newsletter('From outside', htmlLine(3000)), { source: '127.0.0.2', from: 'someone@sender.test', to: 'reader@example.org' });
    assert.equal(result.ok, false);
    assert.equal(result.code, 554);
    assert.match(result.text ?? '', /^5\.6\.0 Message has lines longer than 998 octets/);
    await serve.waitForLog((line) => line['msg'] === 'message rejected' && line['reason'] === 'line-too-long');
  });

  it('25 MB of long lines: accepted, delivered fixed and signed, rewritten a few chunks at a time', async (t) => {
    const pid = serve.child.pid;
    assert.ok(pid !== undefined);
    const row = `<tr><td>0123456789</td><td>Grüße aus Köln – ½ €</td></tr>`.repeat(60);
    const html = `${row}\r\n`.repeat(Math.ceil((25 * 1024 * 1024) / Buffer.byteLength(`${row}\r\n`)));
    const message = newsletter('Big one', html.slice(0, -2));
    const before = await resetPeakRss(pid);
    assert.deepEqual(await smtplibSend(port, message), { ok: true });
    const peak = before === undefined ? 0 : await peakRssBytes(pid);
    const queued = await serve.waitForLog((line) => line['msg'] === 'message queued' && typeof line['longLines'] === 'object' && Number(line['size']) > 25 * 1024 * 1024);
    // What the rewrite holds is counted exactly; resident memory also moves with garbage collection (a 25 MB
    // message without long lines raises it by about 25 MiB on a fresh process, this one by 34-37 MiB, holding
    // the message whole by more than 60 MiB), so it only gets a sanity bound.
    assert.ok((queued['longLines'] as { maxHeldBytes: number }).maxHeldBytes <= 256 * 1024, JSON.stringify(queued['longLines']));
    if (before === undefined) {
      t.diagnostic('peak RSS not measured: /proc/PID/clear_refs is not writable here');
    } else {
      const grewBytes = peak - before;
      t.diagnostic(`25 MB long-line message: peak RSS ${Math.round(peak / 1048576)} MiB, ${Math.round(grewBytes / 1048576)} MiB over the ${Math.round(before / 1048576)} MiB before; ${JSON.stringify(queued['longLines'])}`);
      assert.ok(grewBytes < 2 * message.length, `peak RSS grew by ${grewBytes} bytes for a ${message.length}-byte message`);
    }
    const delivered = (await next()).data;
    assert.ok(longestLine(delivered) <= 998);
    assert.deepEqual((await verifyWithDkimpy(delivered, records)).valid, [true, true]);
    const [sent, got] = await pythonLeaves([message, delivered]);
    sent?.forEach((leaf, index) => assert.ok(got?.[index]?.payload.equals(leaf.payload), `part ${index} decodes to what was sent`));
  });
});
