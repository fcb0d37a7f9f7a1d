// One message being received: the body is staged (memory, or a file of its
// own when large; see staged-body.ts), or restaged by a rewrite; commit hands
// the record and the staged body to the store, which makes both durable in
// the queue log (group commit) before it resolves.

import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { SpoolError } from '../core/errors.js';
import { toSpoolError } from './io.js';
import { newRecord } from './record.js';
import { StagedBody, type StagedContent } from './staged-body.js';
import type { BodyRewrite, EnvelopeRecord, MessageWriter, NewEnvelope } from './types.js';

const BODY_HIGH_WATER_MARK_BYTES = 64 * 1024;

export interface WriterContext {
  readonly bodyFolder: string;
  /** Bodies up to this size are appended to the log; larger ones keep a file in body/. */
  readonly inlineMaxBytes: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Makes the message durable; resolves once it is in the log (and in the index). */
  store(record: EnvelopeRecord, body: StagedContent): Promise<void>;
  /** The writer is committed or aborted: its id is free for the index alone. */
  settled(id: string): void;
}

export function openMessageWriter(context: WriterContext, id: string): MessageWriter {
  return new LogMessageWriter(context, id);
}

/** Ends the stream and waits until every write is done; rejects with its error. */
async function finishStaged(body: StagedBody): Promise<void> {
  if (body.failure !== undefined) throw body.failure;
  if (!body.writableEnded) body.end();
  await finished(body);
  if (body.failure !== undefined) throw body.failure;
}

class LogMessageWriter implements MessageWriter {
  readonly id: string;
  readonly body: Writable;
  private readonly context: WriterContext;
  private readonly original: StagedBody;
  private replacement: StagedBody | undefined;
  private settled = false;

  constructor(context: WriterContext, id: string) {
    this.context = context;
    this.id = id;
    this.original = new StagedBody(join(context.bodyFolder, id), context.inlineMaxBytes, BODY_HIGH_WATER_MARK_BYTES);
    this.body = this.original;
  }

  async rewriteBody(): Promise<BodyRewrite> {
    if (this.settled || this.replacement !== undefined) throw new SpoolError(`message ${this.id} was already rewritten, committed or aborted`);
    try {
      await finishStaged(this.original);
    } catch (error) {
      throw toSpoolError(error, `cannot rewrite the body of message ${this.id}`);
    }
    const replacement = new StagedBody(join(this.context.bodyFolder, `${this.id}.1`), this.context.inlineMaxBytes, BODY_HIGH_WATER_MARK_BYTES);
    this.replacement = replacement;
    return { openOriginal: () => this.original.openCopy(), body: replacement };
  }

  async commit(envelope: NewEnvelope): Promise<EnvelopeRecord> {
    if (this.settled) throw new SpoolError(`message ${this.id} was already committed or aborted`);
    this.settled = true;
    const body = this.replacement ?? this.original;
    try {
      await finishStaged(body);
      if (this.replacement !== undefined) await this.original.discard();
      const record = newRecord(this.id, envelope, this.context.clock.now(), body.bytes);
      await this.context.store(record, body.content());
      await body.closeFile();
      return record;
    } catch (error) {
      await this.discardAll();
      throw toSpoolError(error, `cannot commit message ${this.id}`);
    } finally {
      this.context.settled(this.id);
    }
  }

  async abort(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    await this.discardAll();
    this.context.settled(this.id);
  }

  private async discardAll(): Promise<void> {
    if (!this.original.destroyed) this.original.destroy();
    await this.original.discard();
    if (this.replacement !== undefined) {
      if (!this.replacement.destroyed) this.replacement.destroy();
      await this.replacement.discard();
    }
  }
}
