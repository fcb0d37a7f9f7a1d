// Shared test fixtures for the spool tests: temp folders, a spool opened with
// test defaults, sample envelopes and a commit helper.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { Spool, type SpoolOptions } from '../../src/spool/spool.js';
import type { EnvelopeRecord, MessageWriter, NewEnvelope } from '../../src/spool/types.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { memoryLog } from '../helpers/memory-log.js';

export async function makeTempDir(prefix = 'outpost-spool-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/**
 * Opens a spool in `dir` with a manual clock, an in-memory log at info level
 * and recovery on; `options` replace any of those.
 */
export function openSpool(dir: string, options: Partial<Omit<SpoolOptions, 'dir'>> = {}): Promise<Spool> {
  return Spool.open({ dir, clock: new ManualClock(), logger: memoryLog().logger, recover: true, ...options });
}

export function sampleEnvelope(recipients: readonly string[] = ['b@example.net']): NewEnvelope {
  return {
    from: 'a@example.org',
    recipients,
    smtputf8: false,
    body: '8BITMIME',
    client: { address: '192.0.2.7', helo: 'client.example.net', listener: 'mta', tls: null, auth: null },
  };
}

/** Writes `body` through the writer with backpressure, in chunks. */
export async function writeBody(writer: MessageWriter, body: Buffer, chunkBytes = 16 * 1024): Promise<void> {
  for (let offset = 0; offset < body.length; offset += chunkBytes) {
    if (!writer.body.write(body.subarray(offset, offset + chunkBytes))) await once(writer.body, 'drain');
  }
}

export async function commitMessage(
  spool: Spool,
  body: Buffer | string,
  envelope: NewEnvelope = sampleEnvelope(),
): Promise<EnvelopeRecord> {
  const writer = await spool.begin();
  await writeBody(writer, typeof body === 'string' ? Buffer.from(body) : body);
  return writer.commit(envelope);
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/** Yields to the event loop (I/O callbacks included) once; used to wait for a condition without timers. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
