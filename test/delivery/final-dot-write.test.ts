// The end of the body and the final "." leave in one write (one segment on an
// idle connection), never the "." alone: a lone small segment after the body
// waits for the receiver's delayed ACK (~40 ms a message with Nagle's algorithm).

import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import type { ConnectRequest, Connector } from '../../src/delivery/connector.js';
import { SmtpTransport } from '../../src/delivery/transport.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog } from '../helpers/memory-log.js';
import { fakeMtaPool, fixedPlan, outboundMessage, outcomeOf, runJob, TEST_TIMEOUTS } from './fixtures.js';

const startMta = fakeMtaPool(after);

/** A real TCP socket that records what each write to the kernel carried (writev batches whole). */
class RecordingSocket extends Socket {
  readonly batches: string[] = [];
  override _writev(chunks: Array<{ chunk: Buffer | string }>, callback: (error?: Error | null) => void): void {
    this.batches.push(chunks.map(({ chunk }) => chunk.toString()).join(''));
    super._writev?.(chunks as never, callback);
  }
  override _write(chunk: Buffer | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.batches.push(chunk.toString());
    super._write(chunk, encoding, callback);
  }
}

class RecordingConnector implements Connector {
  readonly sockets: RecordingSocket[] = [];
  connect(request: ConnectRequest): Promise<Socket> {
    const socket = new RecordingSocket();
    this.sockets.push(socket);
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.connect({ host: request.host, port: request.port }, () => resolve(socket));
    });
  }
}

it('writes the last body block and the final dot together, for one block and for many', async () => {
  const mta = await startMta();
  const connector = new RecordingConnector();
  const planner = fixedPlan({ host: 'mx.dest.test', addresses: ['127.0.0.1'], port: mta.port });
  const transport = new SmtpTransport({ hostname: 'outpost.test', timeouts: TEST_TIMEOUTS, planner, clock: new ManualClock(), connector, logger: memoryLog().logger });
  const blocks = [Buffer.from('Subject: many blocks\r\n\r\n'), Buffer.from('first block\r\n'), Buffer.from('.last block\r\n')];
  const reports = await runJob(transport, 'dest.test', [outboundMessage('one', ['a@dest.test'], 'Subject: one block\r\n\r\nbody\r\n'), outboundMessage('many', ['a@dest.test'], blocks)]);
  assert.equal(outcomeOf(reports, 'one', 'a@dest.test').kind, 'delivered');
  assert.equal(outcomeOf(reports, 'many', 'a@dest.test').kind, 'delivered');
  const batches = connector.sockets.flatMap((socket) => socket.batches);
  const ends = batches.filter((batch) => batch.endsWith('\r\n.\r\n'));
  assert.deepEqual(ends.length, 2, JSON.stringify(batches));
  assert.ok(ends[0]?.includes('body\r\n.\r\n'), ends[0]);
  assert.ok(ends[1]?.includes('..last block\r\n.\r\n'), ends[1]);
  assert.ok(!batches.includes('.\r\n'), 'never a lone final dot');
});
