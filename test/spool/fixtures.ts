// Shared test fixtures for the spool tests: temp folders, an in-memory pino
// log, a manual clock, sample envelopes and a commit helper.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { pino, type Logger } from 'pino';
import type { Clock, Timer } from '../../src/core/clock.js';
import type { EnvelopeRecord, MessageWriter, NewEnvelope } from '../../src/spool/types.js';
import type { Spool } from '../../src/spool/spool.js';

export async function makeTempDir(prefix = 'outpost-spool-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

export interface MemoryLog {
  readonly logger: Logger;
  readonly entries: Array<Record<string, unknown>>;
  messages(): string[];
}

export function memoryLogger(): MemoryLog {
  const entries: Array<Record<string, unknown>> = [];
  const destination = {
    write(line: string): void {
      entries.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
  return { logger: pino({ level: 'info' }, destination), entries, messages: () => entries.map((entry) => String(entry['msg'])) };
}

export class ManualClock implements Clock {
  nowMs: number;

  constructor(startMs = Date.parse('2026-11-26T10:00:00Z')) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimer(): Timer {
    return { cancel: () => undefined };
  }
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
