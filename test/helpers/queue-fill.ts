// A large queue for tests, written straight into the queue log by its own
// writer (the files serve writes): deferred messages (one failed attempt, next
// attempt far away) with small inline bodies, many records per group commit.

import { mkdir } from 'node:fs/promises';
import { fsyncFolder } from '../../src/spool/group-commit.js';
import { encodeLogRecord } from '../../src/spool/log-format.js';
import { spoolPaths } from '../../src/spool/paths.js';
import { newRecord } from '../../src/spool/record.js';
import { SegmentLog } from '../../src/spool/segment-log.js';
import type { EnvelopeRecord } from '../../src/spool/types.js';

export interface QueueFill {
  readonly count: number;
  /** Arrival of the first message; the others follow a second apart. */
  readonly arrivalMs: number;
  /** When every message is next due. */
  readonly nextAttemptMs: number;
  /** The segment number the log starts at (default 1). */
  readonly firstSegment?: number;
  readonly maxSegmentBytes?: number;
}

const APPENDS_PER_BATCH = 5000;

/** Writes the messages; resolves with their ids, oldest first. */
export async function fillQueueLog(spoolDir: string, fill: QueueFill): Promise<string[]> {
  const paths = spoolPaths(spoolDir);
  await mkdir(paths.logFolder, { recursive: true });
  await mkdir(paths.bodyFolder, { recursive: true });
  const log = new SegmentLog({ folder: paths.logFolder, nextSegment: fill.firstSegment ?? 1, maxSegmentBytes: fill.maxSegmentBytes ?? 4 * 1024 * 1024, folderSync: fsyncFolder });
  const body = Buffer.from('Subject: queued\r\n\r\nwaiting\r\n');
  const ids: string[] = [];
  for (let start = 0; start < fill.count; start += APPENDS_PER_BATCH) {
    const appends: Promise<unknown>[] = [];
    for (let index = start; index < Math.min(fill.count, start + APPENDS_PER_BATCH); index += 1) {
      const id = `q${index.toString().padStart(9, '0')}`;
      ids.push(id);
      const record = deferredRecord(id, index, fill.arrivalMs + index * 1000, fill.nextAttemptMs, body.length);
      appends.push(log.append(encodeLogRecord({ type: 'new', id, recordJson: JSON.stringify(record), body: [body] })));
    }
    await Promise.all(appends);
  }
  await log.close();
  return ids;
}

function deferredRecord(id: string, index: number, arrivalMs: number, nextAttemptMs: number, size: number): EnvelopeRecord {
  const client = { address: '192.0.2.1', helo: 'fill.example.org', listener: 'mta', tls: null, auth: null };
  const base = newRecord(id, { from: 'app@example.org', recipients: [`r${index}@d${index % 7}.example.net`], smtputf8: false, body: '7BIT', client }, arrivalMs, size);
  const reply = '451 4.4.3 cannot resolve the MX: servfail';
  return {
    ...base,
    attempts: 1,
    nextAttempt: new Date(nextAttemptMs).toISOString(),
    recipients: base.recipients.map((recipient) => ({ ...recipient, attempts: 1, lastReply: reply, history: [{ at: new Date(arrivalMs).toISOString(), reply }] })),
  };
}
