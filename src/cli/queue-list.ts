// `outpost queue list [--json]` (INTERFACE.md "Machine-readable output"):
// streamed as the spool yields records, so a queue of a million never sits in
// memory as one array or one JSON string. The table aligns its columns per
// page of TABLE_PAGE messages (one page for most queues).

import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { EnvelopeRecord, RecipientRecord } from '../spool/types.js';

/** Output is handed to the stream in pieces of about this many characters. */
const WRITE_CHUNK_CHARS = 64 * 1024;
export const TABLE_PAGE = 1000;

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

/** Writes the list; resolves with the number of messages. */
export async function writeQueueList(records: AsyncIterable<EnvelopeRecord>, json: boolean, stream: Writable): Promise<number> {
  const out = new ChunkedWriter(stream);
  let count = 0;
  if (json) {
    await out.write('[');
    for await (const record of records) {
      await out.write(`${count === 0 ? '' : ','}${JSON.stringify(listEntry(record))}`);
      count += 1;
    }
    await out.write(']\n');
    await out.flush();
    return count;
  }
  let page: EnvelopeRecord[] = [];
  for await (const record of records) {
    page.push(record);
    count += 1;
    if (page.length === TABLE_PAGE) {
      await out.write(`${tableLines(page, count === TABLE_PAGE)}\n`);
      page = [];
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

/** One element of `queue list --json` (INTERFACE.md shape; extra fields allowed). */
export function listEntry(record: EnvelopeRecord): Record<string, unknown> {
  return {
    id: record.id,
    from: record.from,
    arrival: record.arrival,
    size: record.size,
    attempts: record.attempts,
    nextAttempt: record.nextAttempt,
    recipients: record.recipients.map((recipient) => ({
      address: recipient.address,
      state: recipient.state,
      attempts: recipient.attempts,
      nextAttempt: recipient.state === 'pending' ? record.nextAttempt : null,
      lastReply: recipient.lastReply,
    })),
  };
}

function tableLines(records: readonly EnvelopeRecord[], withHeader: boolean): string {
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

export function recipientSummary(recipient: RecipientRecord): string {
  const last = recipient.lastReply === null ? '' : `: ${recipient.lastReply}`;
  return `${recipient.address} (${recipient.state}, ${recipient.attempts} attempts${last})`;
}

export function senderText(from: string): string {
  return from === '' ? '<>' : from;
}
