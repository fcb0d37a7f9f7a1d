// The listeners as a TLS scanner judges them: submission and smtps offer only
// AEAD suites with forward secrecy on TLS 1.2, port 25 keeps a broader list
// (any encryption beats plaintext), nothing below TLS 1.2, and no client-initiated
// renegotiation. Checked with OpenSSL's s_client, an independent client.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { connect } from 'node:net';
import { startHarness, type Harness } from '../helpers/relay-harness.js';
import { makeSelfSignedCertificate } from '../helpers/tls-cert.js';

const OPENSSL = '/usr/bin/openssl';
const inCi = process.env['CI'] === 'true';

/** s_client's handshake over STARTTLS (port 25/587) or implicit TLS (465): resolves with the cipher it got, or null. */
function handshake(port: number, starttls: boolean, args: readonly string[]): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn(OPENSSL, ['s_client', '-connect', `127.0.0.1:${port}`, ...(starttls ? ['-starttls', 'smtp'] : []), '-brief', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stdin.end('QUIT\r\n');
    child.on('close', () => resolve(/Ciphersuite: (\S+)/.exec(output)?.[1] ?? null));
  });
}

/** Node's TLS 1.2 client asking to renegotiate after STARTTLS: resolves with the error, if any. */
function renegotiate(port: number): Promise<Error | null> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let greeting = '';
    socket.on('data', function onData(chunk: Buffer) {
      greeting += chunk.toString();
      if (greeting.includes('220 ') && !greeting.includes('EHLO sent')) {
        greeting += 'EHLO sent';
        socket.write('EHLO client.example\r\n');
      } else if (/250 [^\r]*\r\n$/.test(greeting) && !greeting.includes('STARTTLS sent')) {
        greeting += 'STARTTLS sent';
        socket.write('STARTTLS\r\n');
      } else if (/220 2\.0\.0[^\r]*\r\n$/.test(greeting)) {
        socket.off('data', onData);
        let renegotiating = false;
        const secure: TLSSocket = tlsConnect({ socket, rejectUnauthorized: false, maxVersion: 'TLSv1.2' }, () => {
          renegotiating = true;
          secure.renegotiate({ rejectUnauthorized: false }, (error) => {
            secure.destroy();
            resolve(error ?? null);
          });
        });
        // The server answers the renegotiation with an alert and closes: the callback may never come.
        secure.on('error', (error) => resolve(renegotiating ? error : null));
        secure.on('close', () => resolve(renegotiating ? new Error('closed by the server') : null));
      }
    });
    socket.on('error', reject);
  });
}

describe('TLS policy of the listeners', { skip: !existsSync(OPENSSL) && !inCi ? 'openssl not installed' : false }, () => {
  let mta: Harness;
  let submission: Harness;
  let smtps: Harness;

  before(async () => {
    const certificate = await makeSelfSignedCertificate('mx.example.org');
    [mta, submission, smtps] = await Promise.all([
      startHarness({ tls: certificate }),
      startHarness({ tls: certificate, mode: 'submission', users: { 'app@example.org': 'long-enough' } }),
      startHarness({ tls: certificate, mode: 'smtps', users: { 'app@example.org': 'long-enough' } }),
    ]);
  });
  after(async () => {
    await Promise.all([mta.close(), submission.close(), smtps.close()]);
  });

  it('refuses a CBC suite on submission and smtps, and takes an AEAD one', async () => {
    assert.equal(await handshake(submission.port, true, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA']), null);
    assert.equal(await handshake(smtps.port, false, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA']), null);
    assert.equal(await handshake(submission.port, true, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256']), 'ECDHE-ECDSA-AES128-GCM-SHA256');
    assert.equal(await handshake(smtps.port, false, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-CHACHA20-POLY1305']), 'ECDHE-ECDSA-CHACHA20-POLY1305');
  });

  it('keeps a CBC suite on port 25, where it beats plaintext', async () => {
    assert.equal(await handshake(mta.port, true, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA']), 'ECDHE-ECDSA-AES128-SHA');
  });

  it('refuses TLS 1.1 everywhere', async () => {
    for (const [port, starttls] of [[mta.port, true], [submission.port, true], [smtps.port, false]] as const) {
      assert.equal(await handshake(port, starttls, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']), null);
    }
  });

  it('refuses client-initiated renegotiation', async () => {
    const error = await renegotiate(mta.port);
    assert.ok(error !== null, 'renegotiation must fail');
    assert.equal(mta.server.listening, true, 'the listener goes on');
  });
});
