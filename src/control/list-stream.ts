// The server side of the queue-list request (list-protocol.ts): writes one line
// per queued message as the spool yields records, in pieces of about 64 KiB,
// waiting whenever the socket asks to (a slow reader never makes the server
// hold more than one piece and the spool's current chunk), and letting the
// event loop run between pieces (sessions go on while a list streams).

import type { Socket } from 'node:net';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import type { EnvelopeRecord } from '../spool/types.js';
import { LIST_BEGIN_LINE, listEndLine, listEntry, listErrorLine } from './list-protocol.js';
import { drained } from '../core/drained.js';

/** Every queued message, oldest arrival first, streamed (main.ts wires Spool.records). */
export type QueueRecordSource = () => AsyncIterable<EnvelopeRecord>;

const WRITE_CHUNK_CHARS = 64 * 1024;

export interface ListStreamOutcome {
  readonly count: number;
  /** False when the client went away before the end. */
  readonly complete: boolean;
}

/** Streams the list and ends the socket; an error reading the spool is sent as an error line and thrown. */
export async function streamQueueList(socket: Socket, records: QueueRecordSource): Promise<ListStreamOutcome> {
  let count = 0;
  let pending = LIST_BEGIN_LINE;
  try {
    for await (const record of records()) {
      if (socket.destroyed) return { count, complete: false };
      pending += `${JSON.stringify(listEntry(record))}\n`;
      count += 1;
      if (pending.length >= WRITE_CHUNK_CHARS) {
        const text = pending;
        pending = '';
        if (!socket.write(text)) await drained(socket);
        // A write the kernel took at once drains without an event-loop turn: take one, so SMTP sessions wait ~one piece at most.
        await setImmediatePromise();
      }
    }
  } catch (error: unknown) {
    if (!socket.destroyed) socket.end(`${pending}${listErrorLine(error instanceof Error ? error.message : String(error))}`);
    throw error;
  }
  if (socket.destroyed) return { count, complete: false };
  socket.end(`${pending}${listEndLine(count)}`);
  return { count, complete: true };
}
