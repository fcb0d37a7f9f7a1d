// Client-side helpers shared by the end-to-end tests: Debian's swaks and one
// SMTP submission with our test client. (To wait for the server, wait for an
// event: ServeProcess.waitForLog, FakeMta.until / waitForMessages.)

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import { SmtpTestClient } from './smtp-client.js';

const run = promisify(execFile);

/** swaks exits 0 when the whole transaction succeeded; its transcript goes to stdout. */
export async function swaks(args: readonly string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout } = await run('swaks', [...args], { timeout: 20_000 });
    return { ok: true, output: stdout };
  } catch (error: unknown) {
    const failed = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

/** Sends one message over SMTP on 127.0.0.1:port; resolves with its queue id. */
export async function submit(port: number, from: string, to: readonly string[], body = 'Subject: test\r\n\r\nhello\r\n'): Promise<string> {
  const client = await SmtpTestClient.connect(port);
  await client.reply();
  await client.command('EHLO app.example.org');
  assert.equal((await client.command(`MAIL FROM:<${from}>`)).code, 250);
  for (const rcpt of to) assert.equal((await client.command(`RCPT TO:<${rcpt}>`)).code, 250, rcpt);
  assert.equal((await client.command('DATA')).code, 354);
  client.write(`${body}.\r\n`);
  const reply = await client.reply();
  client.close();
  const id = /queued as (\w+)/.exec(reply.text)?.[1];
  assert.ok(id, reply.text);
  return id;
}
