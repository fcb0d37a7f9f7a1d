// BDAT (RFC 3030) against the real `outpost serve` with independent
// implementations: Python's smtplib sends raw BDAT chunks (send / getreply /
// docmd), the queued message is read back with `outpost queue show` and from
// the spool, and a relayed one arrives at aiosmtpd (DATA outbound, dot-stuffed)
// byte for byte as the chunks carried it.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AiosmtpdCapture, aiosmtpdInstalled, DEBIAN_PYTHON, type CapturedMessage } from '../helpers/aiosmtpd-capture.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { makeInstallation, runOutpost, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';

const run = promisify(execFile);
const inCi = process.env['CI'] === 'true';
const skip = !aiosmtpdInstalled() && !inCi ? 'python3-aiosmtpd not installed' : false;

/** Chunk texts that a DATA-minded reader would misread: a lone dot line, commands, a leading-dot line. */
const FIRST = 'From: app@example.org\r\nSubject: bdat e2e\r\n\r\nfirst\r\n.\r\nRSET\r\nMAIL FROM:<evil@example.org>\r\n';
const SECOND = '..two dots\r\n.\r\nlast line\r\n';

/**
 * One session with smtplib: a message in two pipelined chunks (send + getreply), then a
 * second one as a chunk plus `docmd("BDAT", "0 LAST")`. Prints the replies as JSON.
 */
const CLIENT = `
import json, smtplib, sys
port, first_rcpt, second_rcpt = int(sys.argv[1]), sys.argv[2], sys.argv[3]
first, second = sys.argv[4].encode('latin-1'), sys.argv[5].encode('latin-1')
s = smtplib.SMTP('127.0.0.1', port, local_hostname='py.example.org')
s.ehlo()
out = {'chunking': s.has_extn('chunking'), 'binarymime': s.has_extn('binarymime'), 'replies': []}
def note(reply): out['replies'].append([reply[0], reply[1].decode()])
note(s.mail('app@example.org')); note(s.rcpt(first_rcpt))
s.send(b'BDAT %d\\r\\n' % len(first) + first + b'BDAT %d LAST\\r\\n' % len(second) + second)
note(s.getreply()); note(s.getreply())
note(s.mail('app@example.org')); note(s.rcpt(second_rcpt))
s.send(b'BDAT %d\\r\\n' % len(first + second) + first + second)
note(s.getreply())
note(s.docmd('BDAT', '0 LAST'))
s.quit()
print(json.dumps(out))
`;

interface ClientResult {
  readonly chunking: boolean;
  readonly binarymime: boolean;
  readonly replies: readonly [number, string][];
}

/** The client's content of a stored or received message: what follows our Received header. */
function afterReceived(message: Buffer): string {
  const text = message.toString('latin1');
  assert.match(text, /^Received: from py\.example\.org /);
  return text.slice(text.search(/\r\n(?![\t ])/) + 2);
}

describe('BDAT with Python smtplib against outpost serve', { skip }, () => {
  let capture: AiosmtpdCapture;
  let dns: TestDnsServer;
  let installation: TestInstallation;
  let serve: ServeProcess;

  before(async () => {
    capture = await AiosmtpdCapture.start('127.0.0.1');
    dns = await startDnsServer({
      zones: { 'sink.test': { MX: [{ preference: 10, exchange: 'capture.mx.test' }] }, 'capture.mx.test': { A: ['127.0.0.1'] } },
      // example.net stays queued (SERVFAIL), so its message can be read back from the queue.
      faults: { 'example.net': { kind: 'servfail' } },
    });
    installation = await makeInstallation({ dns, extraYaml: ['trustedNetworks: [127.0.0.1/32]', `delivery: { port: ${capture.port}, retry: [1s] }`].join('\n') });
    serve = await ServeProcess.start(installation.configFile);
  });

  after(async () => {
    serve?.signal('SIGTERM');
    await serve?.exit();
    await installation?.remove();
    await dns?.close();
    await capture?.stop();
  });

  it('queues chunked messages sent with smtplib send / getreply / docmd, stored and relayed exactly as sent', async () => {
    const { stdout } = await run(DEBIAN_PYTHON, ['-c', CLIENT, String(serve.port()), 'held@example.net', 'user@sink.test', FIRST, SECOND], { timeout: 30_000 });
    const result = JSON.parse(stdout) as ClientResult;
    assert.deepEqual([result.chunking, result.binarymime], [true, false], 'CHUNKING offered, BINARYMIME not');
    const codes = result.replies.map(([code]) => code);
    assert.deepEqual(codes, [250, 250, 250, 250, 250, 250, 250, 250], JSON.stringify(result.replies));
    assert.equal(result.replies[2]?.[1], `2.0.0 Ok: ${FIRST.length} octets received`);
    const heldId = /queued as (\w+)/.exec(result.replies[3]?.[1] ?? '')?.[1];
    assert.ok(heldId, JSON.stringify(result.replies));
    assert.match(result.replies[7]?.[1] ?? '', /^2\.0\.0 Ok: queued as \w+$/);

    const shown = await runOutpost(['queue', 'show', heldId, '--json', '--config', installation.configFile]);
    assert.equal(shown.code, 0, shown.stderr);
    const entry = JSON.parse(shown.stdout) as { recipients: { address: string }[]; headers: string; size: number };
    assert.deepEqual(entry.recipients.map((recipient) => recipient.address), ['held@example.net']);
    assert.match(entry.headers, /^Subject: bdat e2e$/m);
    const body = await readFile(join(installation.spoolDir, 'body', heldId));
    assert.equal(afterReceived(body), FIRST + SECOND, 'stored as the chunks carried it: dots and commands are content');

    const received: CapturedMessage[] = await capture.waitForMessages(1, 30_000);
    assert.deepEqual(received[0]?.recipients, ['user@sink.test']);
    assert.equal(afterReceived(received[0]?.data ?? Buffer.alloc(0)), FIRST + SECOND, 'DATA outbound dot-stuffed it and aiosmtpd restored it');
  });
});
