// Submission against the real `outpost serve`: users made with `outpost user
// add`, swaks with STARTTLS + AUTH PLAIN / LOGIN on 587 and implicit TLS on
// 465, Python smtplib with starttls() + login(), and SIGHUP reloading users.

import { swaks } from '../helpers/e2e-clients.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { addUser, makeInstallation, ServeProcess, type TestInstallation } from '../helpers/outpost-process.js';
import { makeSelfSignedCertificate } from '../helpers/tls-cert.js';

const run = promisify(execFile);
const PASSWORD = 's3cret-Pass phrase';

describe('submission with TLS and AUTH (real server, real clients)', () => {
  let installation: TestInstallation;
  let serve: ServeProcess;

  before(async () => {
    const certificate = await makeSelfSignedCertificate('mx.example.org');
    installation = await makeInstallation({
      listeners: ['mta', 'submission', 'smtps'],
      extraYaml: [
        'tls: { cert: cert.pem, key: key.pem }',
        'users: users',
      ].join('\n'),
    });
    await writeFile(join(installation.dir, 'cert.pem'), certificate.cert);
    await writeFile(join(installation.dir, 'key.pem'), certificate.key);
    assert.equal(await addUser(installation.configFile, 'app@example.org', PASSWORD), 0);
    serve = await ServeProcess.start(installation.configFile);
  });

  after(async () => {
    serve.signal('SIGTERM');
    await serve.exit();
    await installation.remove();
  });

  const common = (port: number): string[] => ['--server', `127.0.0.1:${port}`, '--from', 'app@example.org', '--to', 'x@example.net', '--auth-user', 'app@example.org', '--auth-password', PASSWORD];

  it('accepts swaks --tls --auth PLAIN on the submission port', async () => {
    const result = await swaks([...common(serve.port('submission')), '--tls', '--auth', 'PLAIN']);
    assert.ok(result.ok, result.output);
    assert.match(result.output, /<[-~] {1,2}235 2\.7\.0/);
    assert.match(result.output, /<[-~] {1,2}250 2\.0\.0 Ok: queued as/);
  });

  it('accepts swaks --tls --auth LOGIN', async () => {
    const result = await swaks([...common(serve.port('submission')), '--tls', '--auth', 'LOGIN']);
    assert.ok(result.ok, result.output);
    assert.match(result.output, /<[-~] {1,2}235 2\.7\.0/);
  });

  it('refuses AUTH without TLS before any password is sent', async () => {
    const result = await swaks([...common(serve.port('submission')), '--auth', 'PLAIN']);
    assert.equal(result.ok, false);
    assert.doesNotMatch(result.output, / -> AUTH PLAIN \S+/, 'no credentials went out in clear');
    assert.doesNotMatch(result.output, /<- {1,2}235/);
  });

  it('accepts swaks --tlsc (implicit TLS) on the smtps port', async () => {
    const result = await swaks([...common(serve.port('smtps')), '--tlsc', '--auth', 'PLAIN']);
    assert.ok(result.ok, result.output);
    assert.match(result.output, /<[-~] {1,2}250 2\.0\.0 Ok: queued as/);
  });

  it('refuses a wrong password with 535 5.7.8', async () => {
    const result = await swaks([...common(serve.port('submission')).slice(0, -1), 'wrong-password', '--tls', '--auth', 'PLAIN']);
    assert.equal(result.ok, false);
    assert.match(result.output, /<[*~]\*{1,2} {1,2}535 5\.7\.8/);
  });

  it('works with Python smtplib starttls() + login()', async () => {
    const script = [
      'import smtplib, ssl, sys',
      'ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE',
      `with smtplib.SMTP("127.0.0.1", ${serve.port('submission')}, local_hostname="py.example.org") as s:`,
      '    s.starttls(context=ctx)',
      `    s.login("app@example.org", ${JSON.stringify(PASSWORD)})`,
      '    s.sendmail("app@example.org", ["py@example.net"], "Subject: smtplib\\r\\n\\r\\nhi\\r\\n")',
      'print("sent")',
    ].join('\n');
    const { stdout } = await run('python3', ['-c', script], { timeout: 20_000 });
    assert.equal(stdout.trim(), 'sent');
  });

  it('works with Python smtplib as the mail-client table says for SSL/TLS: SMTP_SSL + login()', async () => {
    const script = [
      'import smtplib, ssl, sys',
      'ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE',
      `with smtplib.SMTP_SSL("127.0.0.1", ${serve.port('smtps')}, local_hostname="py.example.org", context=ctx) as s:`,
      `    s.login("app@example.org", ${JSON.stringify(PASSWORD)})`,
      '    s.sendmail("app@example.org", ["py@example.net"], "Subject: smtplib over TLS\\r\\n\\r\\nhi\\r\\n")',
      'print("sent")',
    ].join('\n');
    const { stdout } = await run('python3', ['-c', script], { timeout: 20_000 });
    assert.equal(stdout.trim(), 'sent');
  });

  it('picks up a new user on SIGHUP', async () => {
    const attempt = (): Promise<{ ok: boolean; output: string }> =>
      swaks(['--server', `127.0.0.1:${serve.port('submission')}`, '--from', 'new@example.org', '--to', 'x@example.net', '--tls', '--auth', 'PLAIN', '--auth-user', 'new@example.org', '--auth-password', 'another-pass']);
    assert.equal((await attempt()).ok, false);
    assert.equal(await addUser(installation.configFile, 'new@example.org', 'another-pass'), 0);
    serve.signal('SIGHUP');
    await serve.waitForLog((line) => line['msg'] === 'reloaded' && Array.isArray(line['reloaded']) && (line['reloaded'] as string[]).includes('users'));
    const result = await attempt();
    assert.ok(result.ok, result.output);
  });
});
