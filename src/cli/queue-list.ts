// `outpost queue list [--json]` (INTERFACE.md "Machine-readable output"):
// streamed as a running server sends entries (list-client.ts) or the spool
// yields records, so a queue of a million never sits in memory as one array
// or one JSON string. The table aligns its columns per page of TABLE_PAGE
// messages (one page for most queues).

import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { listEntry, type QueueListEntry } from '../control/list-protocol.js';
import type { EnvelopeRecord, RecipientRecord } from '../spool/types.js';

/** Output is handed to the stream in pieces of about this many characters. */
const WRITE_CHUNK_CHARS = 64 * 1024;
export const TABLE_PAGE = 1000;
/** Entries handed on at a time by the offline read. */
const OFFLINE_BATCH = 256;

/** Collects text and writes it in large pieces, waiting for the stream to drain when it asks to. */
class ChunkedWriter {
  private pending = '';
  constructor(private readonly stream: Writable) {}

  async write(text: string): Promise<void> {
    this.pending += text;
    if (this.pending.length >= WRITE_CHUNK_CHARS) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    if (!this.stream.write(text)) await once(this.stream, 'drain');
  }
}

/**
 * A listed message: its entry, or the entry's JSON text as a running server sent it
 * (`JSON.stringify(listEntry(record))`, written through as is, so both give the same bytes).
 */
export type ListedMessage = QueueListEntry | string;

/** The offline read's batches: entries of the records the spool yields. */
export async function* entriesOf(records: AsyncIterable<EnvelopeRecord>): AsyncGenerator<readonly ListedMessage[]> {
  let batch: QueueListEntry[] = [];
  for await (const record of records) {
    batch.push(listEntry(record));
    if (batch.length === OFFLINE_BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** Writes the list from batches of messages, oldest arrival first; resolves with the number of messages. */
export async function writeQueueList(batches: AsyncIterable<readonly ListedMessage[]>, json: boolean, stream: Writable): Promise<number> {
  const out = new ChunkedWriter(stream);
  let count = 0;
  if (json) {
    await out.write('[');
    for await (const batch of batches) {
      for (const message of batch) {
        await out.write(`${count === 0 ? '' : ','}${typeof message === 'string' ? message : JSON.stringify(message)}`);
        count += 1;
      }
    }
    await out.write(']\n');
    await out.flush();
    return count;
  }
  let page: QueueListEntry[] = [];
  for await (const batch of batches) {
    for (const message of batch) {
      page.push(typeof message === 'string' ? (JSON.parse(message) as QueueListEntry) : message);
      count += 1;
      if (page.length === TABLE_PAGE) {
        await out.write(`${tableLines(page, count === TABLE_PAGE)}\n`);
        page = [];
      }
    }
  }
  if (count === 0) await out.write('queue is empty\n');
  else {
    if (page.length > 0) await out.write(`${tableLines(page, count <= TABLE_PAGE)}\n`);
    await out.write(`\n${count === 1 ? '1 message' : `${count} messages`}\n`);
  }
  await out.flush();
  return count;
}

function tableLines(records: readonly QueueListEntry[], withHeader: boolean): string {
  const rows: string[][] = withHeader ? [['ID', 'ARRIVAL', 'SIZE', 'SENDER', 'RECIPIENTS']] : [];
  for (const record of records) {
    record.recipients.forEach((recipient, index) => {
      const envelope = index === 0 ? [record.id, record.arrival, String(record.size), senderText(record.from)] : ['', '', '', ''];
      rows.push([...envelope, recipientSummary(recipient)]);
    });
  }
  // reduce, not Math.max(...spread): a page of many recipients would overflow the argument list.
  const widths = [0, 1, 2, 3].map((column) => rows.reduce((width, row) => Math.max(width, (row[column] ?? '').length), 0));
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function recipientSummary(recipient: Pick<RecipientRecord, 'address' | 'state' | 'attempts' | 'lastReply'>): string {
  const last = recipient.lastReply === null ? '' : `: ${recipient.lastReply}`;
  return `${recipient.address} (${recipient.state}, ${recipient.attempts} attempts${last})`;
}

export function senderText(from: string): string {
  return from === '' ? '<>' : from;
}
