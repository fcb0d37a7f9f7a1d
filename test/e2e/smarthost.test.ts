// outpost's own submission and smtps listeners (the real `outpost serve`, with
// a CA-signed certificate and a users file) as the smarthost of the SMTP client:
// STARTTLS + AUTH PLAIN delivers, a wrong password or an untrusted CA defers, implicit TLS on 465.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { outboundMessage, outcomeOf, runJob } from '../delivery/fixtures.js';
import { everythingSaid, passwordAuth, routeConfig, routedTransport, SecretFolder, SMARTHOST } from '../delivery/route-fixtures.js';
import { addUser, makeInstallation, runOutpost, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';
import { makeTestCa, type TestCa } from '../helpers/test-ca.js';

const USER = 'app@example.org';
const PASSWORD = 'e2e smarthost pass phrase';

interface QueuedMessage {
  readonly from: string;
  readonly recipients: readonly { readonly address: string }[];
}

describe('outpost serve as the smarthost of a route', () => {
  let ca: TestCa;
  let installation: TestInstallation;
  let serve: ServeProcess;
  let secrets: SecretFolder;
  let caFile: string;
  let passwordFile: string;

  before(async () => {
    ca = await makeTestCa();
    const issued = await ca.issue(SMARTHOST);
    installation = await makeInstallation({ listeners: ['submission', 'smtps'], extraYaml: ['tls: { cert: cert.pem, key: key.pem }', 'users: users'].join('\n') });
    await writeFile(join(installation.dir, 'cert.pem'), issued.cert);
    await writeFile(join(installation.dir, 'key.pem'), issued.key);
    assert.equal(await addUser(installation.configFile, USER, PASSWORD), 0);
    serve = await ServeProcess.start(installation.configFile);
    secrets = await SecretFolder.create();
    caFile = await secrets.write('ca.pem', ca.cert);
    passwordFile = await secrets.write('password', `${PASSWORD}\n`);
  });

  after(async () => {
    serve.signal('SIGTERM');
    await serve.exit();
    await installation.remove();
    await secrets.remove();
  });

  async function queued(): Promise<QueuedMessage[]> {
    const listed = await runOutpost(['queue', 'list', '--json', '--config', installation.configFile]);
    assert.equal(listed.code, 0, listed.stderr);
    return JSON.parse(listed.stdout) as QueuedMessage[];
  }

  const message = (id: string, to: string): ReturnType<typeof outboundMessage> => outboundMessage(id, [to], `From: ${USER}\r\nTo: ${to}\r\nSubject: via the smarthost\r\n\r\nhello\r\n`, { from: USER });

  it('delivers through STARTTLS and AUTH PLAIN on the submission port; the message arrives', async () => {
    const { transport, log } = routedTransport(routeConfig(serve.port('submission'), { caFile, auth: passwordAuth(passwordFile, USER) }));
    const reports = await runJob(transport, 'example.net', [message('m1', 'first@example.net')]);
    const outcome = outcomeOf(reports, 'm1', 'first@example.net');
    assert.equal(outcome.kind, 'delivered', outcome.reply);
    assert.match(reports.get('m1')?.info.tls ?? '', /^TLSv1\.[23] \S+ \(verified\)$/);
    assert.equal(log.messages('smarthost authenticated')[0]?.['mechanism'], 'PLAIN');
    const arrived = (await queued()).filter((record) => record.recipients.some((recipient) => recipient.address === 'first@example.net'));
    assert.equal(arrived.length, 1);
    assert.equal(arrived[0]?.from, USER);
    assert.ok(!everythingSaid(log, reports).includes(PASSWORD));
  });

  it('defers a wrong password (4.7.8, the smarthost reply kept), logs and counts it; nothing bounces', async () => {
    const wrong = await secrets.write('wrong', 'a wrong password\n');
    const { transport, log, authFailures } = routedTransport(routeConfig(serve.port('submission'), { caFile, auth: passwordAuth(wrong, USER) }));
    const reports = await runJob(transport, 'example.net', [message('m2', 'second@example.net')]);
    const outcome = outcomeOf(reports, 'm2', 'second@example.net');
    assert.deepEqual([outcome.kind, outcome.status], ['transient', '4.7.8']);
    assert.match(outcome.reply, /rejected the credentials of app@example\.org \(AUTH PLAIN\): 535 5\.7\.8 Authentication credentials invalid$/);
    assert.deepEqual(authFailures, ['*']);
    assert.equal(log.messages('smarthost rejected the credentials').length, 1);
    assert.ok(!everythingSaid(log, reports).includes('a wrong password'));
    assert.ok(!(await queued()).some((record) => record.recipients.some((recipient) => recipient.address === 'second@example.net')));
  });

  it('defers with 4.7.5 when the certificate is not from the route CA, before any AUTH', async () => {
    const otherCa = await makeTestCa('another CA');
    const otherCaFile = await secrets.write('other-ca.pem', otherCa.cert);
    const { transport } = routedTransport(routeConfig(serve.port('submission'), { caFile: otherCaFile, auth: passwordAuth(passwordFile, USER) }));
    const reports = await runJob(transport, 'example.net', [message('m3', 'third@example.net')]);
    const outcome = outcomeOf(reports, 'm3', 'third@example.net');
    assert.deepEqual([outcome.kind, outcome.status], ['transient', '4.7.5']);
    assert.match(outcome.reply, /certificate does not verify for smarthost\.test/);
  });

  it('delivers with implicit TLS on the smtps port', async () => {
    const { transport } = routedTransport(routeConfig(serve.port('smtps'), { tls: 'implicit', caFile, auth: passwordAuth(passwordFile, USER) }));
    const reports = await runJob(transport, 'example.net', [message('m4', 'fourth@example.net')]);
    assert.equal(outcomeOf(reports, 'm4', 'fourth@example.net').kind, 'delivered');
    assert.match(reports.get('m4')?.info.tls ?? '', /\(verified\)$/);
    assert.ok((await queued()).some((record) => record.recipients.some((recipient) => recipient.address === 'fourth@example.net')));
  });

  it('never lets the password reach the smarthost log', () => {
    assert.ok(!JSON.stringify(serve.logLines).includes(PASSWORD));
    assert.ok(!JSON.stringify(serve.logLines).includes(Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64')));
  });
});
