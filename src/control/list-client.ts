// The CLI side of the queue-list request (list-protocol.ts): yields the entry
// lines in batches as the socket delivers them (read only as fast as they are
// consumed), and throws when the stream ends without the server's end line or
// with a count that differs, so a cut list is never taken for a shorter one.

import { connect, type Socket } from 'node:net';
import { errnoCode, OutpostError } from '../core/errors.js';
import { ENTRY_PREFIX, parseListStatus, type QueueListRequest } from './list-protocol.js';

export type QueueListAnswer =
  | { readonly kind: 'no-server' }
  /** The server answered but will not list (an older server: "malformed request"). */
  | { readonly kind: 'refused'; readonly error: string }
  /** Batches of entry lines (`JSON.stringify(listEntry(record))` each), oldest arrival first. */
  | { readonly kind: 'stream'; readonly entries: AsyncGenerator<readonly string[]> };

/** Asks a running server for the queue list; `idleTimeoutMs` bounds each wait for the server's next data. */
export async function requestQueueList(socketPath: string, idleTimeoutMs = 30_000): Promise<QueueListAnswer> {
  const socket = connect(socketPath);
  socket.setEncoding('utf8');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
  } catch (error) {
    const code = errnoCode(error);
    // EACCES: a user who may read the spool but not reach the server reads the log, as before.
    if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES') return { kind: 'no-server' };
    throw error;
  }
  socket.on('error', () => undefined);
  socket.write(`${JSON.stringify({ action: 'queue-list' } satisfies QueueListRequest)}\n`);
  const lines = socketLines(socket, socketPath, idleTimeoutMs);
  const first = await lines.next();
  const status = first.done === true ? undefined : parseListStatus(first.value[0] ?? '');
  if (status?.ok === false) {
    await lines.return(undefined);
    return { kind: 'refused', error: status.error };
  }
  if (first.done === true || status === undefined || status.list !== 'begin') {
    await lines.return(undefined);
    throw new OutpostError('ECONTROL', `malformed answer from the server on ${socketPath}`);
  }
  return { kind: 'stream', entries: entryBatches(first.value.slice(1), lines) };
}

async function* entryBatches(firstLines: readonly string[], lines: AsyncGenerator<string[]>): AsyncGenerator<readonly string[]> {
  let count = 0;
  let batch: readonly string[] | undefined = firstLines;
  try {
    for (;;) {
      if (batch === undefined) {
        const next = await lines.next().catch((error: unknown) => {
          if (error instanceof OutpostError) throw error;
          throw new OutpostError('ECONTROL', `the queue list from the server was cut off after ${count} messages: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        });
        if (next.done === true) break;
        batch = next.value;
      }
      const entries: string[] = [];
      for (const line of batch) {
        if (line.startsWith(ENTRY_PREFIX)) {
          entries.push(line);
          continue;
        }
        count += entries.length;
        if (entries.length > 0) yield entries;
        const status = parseListStatus(line);
        if (status?.ok === false) throw new OutpostError('ECONTROL', `the server stopped the queue list after ${count} messages: ${status.error}`);
        if (status?.list !== 'end') throw new OutpostError('ECONTROL', `malformed line from the server after ${count} messages`);
        if (status.count !== count) throw new OutpostError('ECONTROL', `the server listed ${status.count} messages but ${count} arrived`);
        return;
      }
      count += entries.length;
      if (entries.length > 0) yield entries;
      batch = undefined;
    }
  } finally {
    await lines.return(undefined);
  }
  throw new OutpostError('ECONTROL', `the queue list from the server was cut off after ${count} messages (the connection closed before its end)`);
}

/** The socket's complete lines, in batches as they arrive; a partial last line is dropped (the stream was cut). */
async function* socketLines(socket: Socket, socketPath: string, idleTimeoutMs: number): AsyncGenerator<string[]> {
  const chunks = socket[Symbol.asyncIterator]() as AsyncIterator<string>;
  let buffer = '';
  try {
    for (;;) {
      const timer = setTimeout(() => socket.destroy(new OutpostError('ECONTROL', `no data from the server on ${socketPath} for ${idleTimeoutMs} ms`)), idleTimeoutMs);
      let next: IteratorResult<string>;
      try {
        next = await chunks.next();
      } finally {
        clearTimeout(timer);
      }
      if (next.done === true) return;
      buffer += next.value;
      const end = buffer.lastIndexOf('\n');
      if (end === -1) continue;
      const lines = buffer.slice(0, end).split('\n');
      buffer = buffer.slice(end + 1);
      yield lines;
    }
  } finally {
    socket.destroy();
  }
}
