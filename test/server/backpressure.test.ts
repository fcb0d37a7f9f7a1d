// A client that pipelines without reading replies must not make the server
// buffer without bound: the session stops reading once its output backs up,
// so TCP pushes back on the client.

import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { SmtpTestClient } from '../helpers/smtp-client.js';
import { startHarness, type Harness } from '../helpers/relay-harness.js';

let harness: Harness;
before(async () => {
  harness = await startHarness();
});
after(async () => {
  await harness.close();
});

it('stops reading from a client that sends commands but never reads the replies', async () => {
  const client = await SmtpTestClient.connect(harness.port);
  client.socket.pause();
  // The session says when its replies back up and it stops reading (a debug line).
  const backedUp = harness.log.next((entry) => entry['msg'] === 'output backed up');
  const chunk = Buffer.from('NOOP\r\n'.repeat(10_000));
  const totalBytes = 12 * 1024 * 1024;
  let written = 0;
  while (written < totalBytes) {
    client.socket.write(chunk);
    written += chunk.length;
  }
  // Without backpressure the server would read on and queue megabytes of
  // replies; with it, it stops reading once what waits for this client passes
  // the high-water mark, and the client's own writes back up.
  await backedUp;
  const pendingBytes = harness.server.pendingOutputBytes;
  assert.ok(pendingBytes > 0, 'the replies did back up');
  assert.ok(pendingBytes < 1024 * 1024, `the server queued ${pendingBytes} bytes of replies for a client that does not read`);
  assert.ok(client.socket.writableLength > 0, 'the client is held back by TCP');
  assert.equal(harness.server.activeSessions, 1);
  // The session reads again only once the client takes its replies.
  const readAgain = harness.log.next((entry) => entry['msg'] === 'input consumed');
  client.socket.resume();
  await readAgain;
  client.close();
});
