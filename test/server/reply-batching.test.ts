// Pipelined replies (RFC 2920 §3.2): the replies to a group of pipelined commands leave in one
// write, in order, whether the group arrived in one read or in several while the first part was
// being handled; replies never wait once the client's input has run dry. The session's
// 'replies written' trace line (one per socket write) shows the writes.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { startHarness, type Harness } from '../helpers/relay-harness.js';
import type { LogEntry } from '../helpers/memory-log.js';

/** A raw client that records each 'data' event (one per read of the socket). */
class RawClient {
  readonly reads: string[] = [];
  private text = '';
  private waiters: { count: number; resolve: () => void }[] = [];

  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (data: string) => {
      this.reads.push(data);
      this.text += data;
      this.waiters = this.waiters.filter((waiter) => (this.replies().length >= waiter.count ? (waiter.resolve(), false) : true));
    });
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
      opened.push(socket);
    });
  }

  /** The last line of every complete reply received so far ("250 2.0.0 Ok"; multiline replies count once). */
  replies(): string[] {
    return this.text.split('\r\n').filter((line) => /^\d{3} /.test(line));
  }

  /** Resolves once `count` replies have arrived in all. */
  untilReplies(count: number): Promise<string[]> {
    if (this.replies().length >= count) return Promise.resolve(this.replies());
    return new Promise((resolve) => this.waiters.push({ count, resolve: () => resolve(this.replies()) }));
  }

  /** Writes and resolves once the bytes are handed to the kernel (on loopback: in the server's receive queue). */
  write(text: string): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(text, (error) => (error ? reject(error) : resolve())));
  }
}

/** Every client socket, destroyed before the server stops (a failed test may leave a session mid-DATA). */
const opened: Socket[] = [];

/** Two turns of the event loop: any I/O that was ready (the server reading a loopback write) has been handled. */
async function ioTurns(): Promise<void> {
  for (let turn = 0; turn < 2; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('replies to pipelined commands', () => {
  /** The free-space reading that MAIL and DATA wait for: held while `hold` is set. */
  let hold: { asked: () => void; release: Promise<void> } | undefined;
  let harness: Harness;
  before(async () => {
    harness = await startHarness({
      freeSpaceBytes: async () => {
        const held = hold;
        hold = undefined;
        if (held !== undefined) {
          held.asked();
          await held.release;
        }
        return 1024 ** 4;
      },
    });
  });
  after(async () => {
    for (const socket of opened) socket.destroy();
    await harness.close();
  });

  /** The session's id, from the trace line of its EHLO. */
  const sessionOf = (helo: string): unknown => harness.log.entries.find((entry) => entry['msg'] === 'command' && entry['line'] === `EHLO ${helo}`)?.['sid'];
  const writesOf = (sid: unknown): LogEntry[] => harness.log.entries.filter((entry) => entry['msg'] === 'replies written' && entry['sid'] === sid);

  it('answers a group written at once with all its replies, in order, in one write the client reads at once', async () => {
    const client = await RawClient.open(harness.port);
    await client.untilReplies(1);
    await client.write('EHLO one.example\r\n');
    await client.untilReplies(2);
    const readsBefore = client.reads.length;
    await client.write('MAIL FROM:<app@example.org>\r\nRCPT TO:<a@example.net>\r\nRCPT TO:<b@example.net>\r\nNOOP\r\nRSET\r\n');
    const lines = (await client.untilReplies(7)).slice(-5);
    assert.deepEqual(
      lines.map((line) => line.slice(0, 9)),
      ['250 2.1.0', '250 2.1.5', '250 2.1.5', '250 2.0.0', '250 2.0.0'],
    );
    assert.equal(client.reads.length - readsBefore, 1, `the five replies came in ${client.reads.length - readsBefore} reads`);
    const sid = sessionOf('one.example');
    assert.deepEqual(writesOf(sid).map((entry) => entry['replies']), [1, 1, 5]);
  });

  it('holds the replies of a group that arrives in two reads until the second part is handled, then writes them at once', async () => {
    const client = await RawClient.open(harness.port);
    await client.untilReplies(1);
    await client.write('EHLO two.example\r\n');
    await client.untilReplies(2);
    let release: () => void = () => undefined;
    const asked = new Promise<void>((resolve) => {
      hold = { asked: resolve, release: new Promise<void>((done) => (release = done)) };
    });
    // The first part: MAIL waits for the free-space reading, which the test holds.
    await client.write('MAIL FROM:<app@example.org>\r\n');
    await asked;
    // The rest of the group arrives (and is read by the server) while MAIL is still in hand.
    await client.write('RCPT TO:<a@example.net>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n');
    await ioTurns();
    release();
    const lines = (await client.untilReplies(6)).slice(-4);
    assert.deepEqual(
      lines.map((line) => line.slice(0, 3)),
      ['250', '250', '250', '354'],
    );
    const sid = sessionOf('two.example');
    // Greeting, EHLO, then MAIL's reply held back and written together with the rest of the group.
    assert.deepEqual(writesOf(sid).map((entry) => entry['replies']), [1, 1, 4]);
  });

  it('answers each command at once when the client waits for every reply (no input waiting)', async () => {
    const client = await RawClient.open(harness.port);
    await client.untilReplies(1);
    await client.write('EHLO three.example\r\n');
    await client.untilReplies(2);
    await client.write('MAIL FROM:<app@example.org>\r\n');
    await client.untilReplies(3);
    await client.write('RCPT TO:<a@example.net>\r\n');
    await client.untilReplies(4);
    await client.write('QUIT\r\n');
    const lines = await client.untilReplies(5);
    assert.match(lines.at(-1) ?? '', /^221 2\.0\.0 /);
    assert.deepEqual(writesOf(sessionOf('three.example')).map((entry) => entry['replies']), [1, 1, 1, 1, 1]);
  });
});
