// The client side of AUTH (RFC 4954) against a scripted peer on a loopback
// socket: the exchanges of PLAIN, LOGIN and XOAUTH2 line by line, reply classes,
// a server that echoes the secret back (blanked), and AUTH in the EHLO reply.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Credentials } from '../../src/delivery/credentials.js';
import { parseExtensions } from '../../src/delivery/extensions.js';
import { DEFAULT_REPLY_LIMITS } from '../../src/delivery/reply-reader.js';
import { authenticate } from '../../src/delivery/smtp-auth.js';
import { SmtpConnection } from '../../src/delivery/smtp-connection.js';
import { ManualClock } from '../helpers/manual-clock.js';

const servers: Server[] = [];
after(async () => {
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

/** A peer that greets, then answers each line it receives with `answer(line)`; the lines are kept. */
async function scriptedPeer(answer: (line: string, index: number) => string): Promise<{ connection: SmtpConnection; lines: string[] }> {
  const lines: string[] = [];
  const server = createServer((socket: Socket) => {
    socket.write('220 peer.test ESMTP\r\n');
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let newline = buffered.indexOf('\r\n'); newline !== -1; newline = buffered.indexOf('\r\n')) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 2);
        lines.push(line);
        socket.write(`${answer(line, lines.length - 1)}\r\n`);
      }
    });
    socket.on('error', () => undefined);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const socket = connect({ host: '127.0.0.1', port: typeof address === 'object' && address !== null ? address.port : 0 });
  await new Promise((resolve) => socket.once('connect', resolve));
  const connection = new SmtpConnection(socket, { clock: new ManualClock(), replyLimits: DEFAULT_REPLY_LIMITS, signal: new AbortController().signal });
  await connection.readReply(1000, 'greeting');
  return { connection, lines };
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const password: Credentials = { kind: 'password', username: 'user@example.org', password: 'p4ss', mechanisms: ['PLAIN', 'LOGIN'] };

describe('AUTH exchanges', () => {
  it('sends PLAIN with an initial response: NUL user NUL password', async () => {
    const { connection, lines } = await scriptedPeer(() => '235 2.7.0 Authentication successful');
    assert.deepEqual(await authenticate(connection, ['LOGIN', 'PLAIN'], password, 1000), { kind: 'authenticated', mechanism: 'PLAIN' });
    assert.deepEqual(lines, [`AUTH PLAIN ${b64('\0user@example.org\0p4ss')}`]);
    connection.close();
  });

  it('walks LOGIN through its two challenges', async () => {
    const replies = ['334 VXNlcm5hbWU6', '334 UGFzc3dvcmQ6', '235 2.7.0 ok'];
    const { connection, lines } = await scriptedPeer((_line, index) => replies[index] ?? '500 no');
    assert.deepEqual(await authenticate(connection, ['LOGIN'], password, 1000), { kind: 'authenticated', mechanism: 'LOGIN' });
    assert.deepEqual(lines, ['AUTH LOGIN', b64('user@example.org'), b64('p4ss')]);
    connection.close();
  });

  it('answers an XOAUTH2 error challenge with an empty line and keeps the decoded error', async () => {
    const error = JSON.stringify({ status: '400', schemes: 'Bearer', scope: 'https://mail.example/' });
    const replies = [`334 ${b64(error)}`, '535 5.7.8 Username and Password not accepted'];
    const { connection, lines } = await scriptedPeer((_line, index) => replies[index] ?? '500 no');
    const token: Credentials = { kind: 'xoauth2', username: 'user@example.org', token: 'tok-123' };
    const result = await authenticate(connection, ['XOAUTH2'], token, 1000);
    assert.equal(result.kind, 'rejected');
    assert.equal(result.kind === 'rejected' ? result.detail : '', error);
    assert.deepEqual(lines, [`AUTH XOAUTH2 ${b64('user=user@example.org\x01auth=Bearer tok-123\x01\x01')}`, '']);
    connection.close();
  });

  it('blanks the secret when a server echoes it back', async () => {
    const { connection } = await scriptedPeer((line) => `535 5.7.8 rejected ${line.split(' ')[2] ?? ''} (p4ss)`);
    const result = await authenticate(connection, ['PLAIN'], password, 1000);
    assert.equal(result.kind, 'rejected');
    assert.deepEqual(result.kind === 'rejected' ? result.reply.lines : [], ['rejected *** (***)']);
    connection.close();
  });

  it('cancels an unexpected challenge to PLAIN with "*"', async () => {
    const replies = ['334 ', '501 5.7.0 Auth aborted'];
    const { connection, lines } = await scriptedPeer((_line, index) => replies[index] ?? '500 no');
    const result = await authenticate(connection, ['PLAIN'], password, 1000);
    assert.equal(result.kind, 'rejected');
    assert.deepEqual(lines.slice(1), ['*']);
    connection.close();
  });

  it('tells a 4xx (temporary) from a 5xx and says when no wanted mechanism is offered', async () => {
    const temporary = await scriptedPeer(() => '454 4.7.0 Temporary authentication failure');
    assert.equal((await authenticate(temporary.connection, ['PLAIN'], password, 1000)).kind, 'temporary');
    temporary.connection.close();
    const silent = await scriptedPeer(() => '500 never asked');
    assert.deepEqual(await authenticate(silent.connection, ['CRAM-MD5'], password, 1000), { kind: 'not-offered', wanted: ['PLAIN', 'LOGIN'], offered: ['CRAM-MD5'] });
    assert.deepEqual(silent.lines, []);
    silent.connection.close();
  });
});

describe('AUTH in the EHLO reply', () => {
  it('reads the mechanisms, also from the old AUTH= line, upper case and without duplicates', () => {
    const extensions = parseExtensions({ code: 250, status: undefined, lines: ['mx.test', 'AUTH login PLAIN XOAUTH2', 'AUTH=LOGIN PLAIN', 'STARTTLS'] });
    assert.deepEqual(extensions.authMechanisms, ['LOGIN', 'PLAIN', 'XOAUTH2']);
    assert.deepEqual(parseExtensions({ code: 250, status: undefined, lines: ['mx.test', 'PIPELINING'] }).authMechanisms, []);
  });
});
