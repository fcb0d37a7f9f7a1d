// `outpost queue why` against the real `outpost serve`: a fake MTA greylists
// (451 4.7.1) and the command explains it with the next attempt time; another
// provider throttles (450 4.7.28) and the running server reports it paused.

import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { FakeMta } from '../helpers/fake-mta.js';
import { submit } from '../helpers/e2e-clients.js';
import { makeInstallation, runOutpost, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';

let dns: TestDnsServer;
let mta: FakeMta;
let installation: TestInstallation;
let serve: ServeProcess;

before(async () => {
  mta = await FakeMta.start({ host: '127.0.0.2', name: 'mx.dest.test' });
  mta.script.rcpt = ({ argument }) => (argument === 'slow@slow.test' ? '450 4.7.28 rate limited, try again later' : '451 4.7.1 Greylisted, please try again later');
  dns = await startDnsServer({
    zones: {
      'dest.test': { MX: [{ preference: 10, exchange: 'mx.dest.test' }] },
      'slow.test': { MX: [{ preference: 10, exchange: 'mx.slow.test' }] },
      'example.org': { MX: [{ preference: 10, exchange: 'mx.dest.test' }] },
      'mx.dest.test': { A: ['127.0.0.2'] },
      'mx.slow.test': { A: ['127.0.0.2'] },
    },
  });
  installation = await makeInstallation({ dns, extraYaml: `delivery: { port: ${mta.port}, connectTimeout: 2s, retry: [1h] }` });
  serve = await ServeProcess.start(installation.configFile);
});

after(async () => {
  serve.signal('SIGTERM');
  await serve.exit();
  await Promise.all([mta.close(), dns.close()]);
  await installation.remove();
});

interface Report {
  id: string;
  nextAttempt: string;
  next: string;
  server: string;
  providers: Array<{ provider: string; known: boolean; pausedUntilMs: number | null; lastThrottle: { reason: string; reply: string } | null }>;
  recipients: Array<{ address: string; lastExchange: string[] | null; reason: string; explanation: string; provider: string; history: Array<{ at: string; mx: string; address: string; status: string; reason: string }> }>;
}

it('explains a greylisted message with its next attempt, and reports provider state from the running server', async () => {
  const grey = await submit(serve.port(), 'app@example.org', ['grey@dest.test']);
  await serve.waitForLog((line) => line['msg'] === 'recipient deferred' && line['qid'] === grey);
  const slow = await submit(serve.port(), 'app@example.org', ['slow@slow.test']);
  await serve.waitForLog((line) => line['msg'] === 'provider throttled, paused' && line['provider'] === 'slow.test');
  await serve.waitForLog((line) => line['msg'] === 'recipient deferred' && line['qid'] === slow);

  const json = await runOutpost(['queue', 'why', grey, '--json', '--config', installation.configFile]);
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout) as Report;
  assert.equal(report.server, 'running');
  const [recipient] = report.recipients;
  assert.equal(recipient?.reason, 'greylisting');
  assert.deepEqual(recipient?.history.map((attempt) => [attempt.mx, attempt.address, attempt.status, attempt.reason]), [['mx.dest.test', '127.0.0.2', '4.7.1', 'greylisting']]);
  assert.equal(recipient?.provider, 'dest.test');
  // The dialog of the attempt, bounded, without the message body.
  const exchange = recipient?.lastExchange ?? [];
  assert.ok(exchange.length > 0 && exchange.length <= 10, JSON.stringify(exchange));
  assert.ok(exchange.includes('C: RCPT TO:<grey@dest.test>'), JSON.stringify(exchange));
  assert.ok(exchange.includes('S: 451 4.7.1 Greylisted, please try again later'), JSON.stringify(exchange));
  assert.ok(exchange.every((line) => line.length <= 200 && /^[CS]: /.test(line)), JSON.stringify(exchange));
  assert.deepEqual(report.providers.map((state) => [state.provider, state.known, state.pausedUntilMs]), [['dest.test', true, null]]);
  assert.match(report.next, new RegExp(`^attempt 2 at ${report.nextAttempt.replace(/\./g, '\\.')} \\(in (59m \\d+s|1h(?: \\d+m)?)\\)`));

  const text = await runOutpost(['queue', 'why', grey, '--config', installation.configFile]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /why: mx\.dest\.test greylists new senders \(4\.7\.1\): it accepts the same message when it comes back/);
  assert.match(text.stdout, /^ {4}last SMTP exchange:\n(?: {6}[CS]: .*\n)*? {6}S: 451 4\.7\.1 Greylisted/m);
  assert.match(text.stdout, /^ {2}dest\.test: not paused; sessions \d+ running/m);

  const paused = JSON.parse((await runOutpost(['queue', 'why', slow, '--json', '--config', installation.configFile])).stdout) as Report;
  assert.equal(paused.recipients[0]?.reason, 'provider-paused');
  assert.match(paused.recipients[0]?.explanation ?? '', /^provider slow\.test is paused until \S+ \(in \d+s\) after it throttled outpost \(rate-limited: 450 4\.7\.28/);
  const [state] = paused.providers;
  assert.equal(state?.provider, 'slow.test');
  const throttledAt = Date.parse(paused.recipients[0]?.history[0]?.at ?? '');
  assert.ok(typeof state?.pausedUntilMs === 'number' && state.pausedUntilMs > throttledAt, `paused until ${String(state?.pausedUntilMs)}, throttled at ${throttledAt}`);
  assert.equal(state?.lastThrottle?.reason, 'rate-limited');

  const all = JSON.parse((await runOutpost(['queue', 'why', '--all', '--json', '--config', installation.configFile])).stdout) as Report[];
  assert.deepEqual(all.map((entry) => entry.id).sort(), [grey, slow].sort());
});
