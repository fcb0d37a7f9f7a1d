// One message being received: the body streams straight into body/<id>
// (unreferenced until its state file lands); commit fsyncs it, writes the
// state file via tmp/ and rename, and waits for the group folder fsync.

import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { SpoolError, errnoCode } from '../core/errors.js';
import type { GroupCommitter } from './group-commit.js';
import { closeFileStream, fsyncFd, openNewFile, toSpoolError, unlinkIfPresent, writeNewFileSynced } from './io.js';
import { bodyFile, stateFile, tempFile, type SpoolPaths } from './paths.js';
import { encodeRecord, newRecord } from './record.js';
import type { EnvelopeRecord, MessageWriter, NewEnvelope } from './types.js';

const BODY_HIGH_WATER_MARK_BYTES = 64 * 1024;

export interface WriterContext {
  readonly paths: SpoolPaths;
  readonly clock: Clock;
  readonly committer: GroupCommitter;
  readonly logger: Logger;
}

/** Creates body/<id> exclusively; EEXIST (an id collision) surfaces as the raw error so the caller can retry. */
export async function openMessageWriter(context: WriterContext, id: string): Promise<MessageWriter> {
  const path = bodyFile(context.paths, id);
  const fd = await openNewFile(path);
  const stream = createWriteStream(path, { fd, autoClose: false, highWaterMark: BODY_HIGH_WATER_MARK_BYTES });
  return new BodyFileWriter(context, id, fd, stream);
}

export function isIdCollision(error: unknown): boolean {
  return errnoCode(error) === 'EEXIST';
}

class BodyFileWriter implements MessageWriter {
  readonly id: string;
  readonly body: Writable;
  private readonly context: WriterContext;
  private readonly bodyStream: WriteStream;
  private readonly fd: number;
  private streamError: unknown = undefined;
  private settled = false;

  /** `bodyStream` writes to `fd`; destroying the stream closes it (after any in-flight write). */
  constructor(context: WriterContext, id: string, fd: number, bodyStream: WriteStream) {
    this.context = context;
    this.id = id;
    this.fd = fd;
    this.bodyStream = bodyStream;
    // An unhandled 'error' would crash the process; keep it for commit() instead.
    this.bodyStream.on('error', (error: unknown) => {
      this.streamError ??= error;
    });
    this.body = this.bodyStream;
  }

  async commit(envelope: NewEnvelope): Promise<EnvelopeRecord> {
    if (this.settled) throw new SpoolError(`message ${this.id} was already committed or aborted`);
    this.settled = true;
    const { paths, clock, committer } = this.context;
    const temp = tempFile(paths, this.id, randomBytes(4).toString('hex'));
    const target = stateFile(paths, this.id);
    let renamed = false;
    try {
      await this.finishBody();
      const record = newRecord(this.id, envelope, clock.now(), this.bodyStream.bytesWritten);
      // The two file fsyncs are independent, so they run together; the rename waits for both.
      await allOrFirstError([this.syncAndCloseBody(), writeNewFileSynced(temp, encodeRecord(record))]);
      await rename(temp, target);
      renamed = true;
      await committer.syncFolders([paths.stateFolder, paths.bodyFolder]);
      return record;
    } catch (error) {
      await this.discard(temp, renamed);
      throw toSpoolError(error, `cannot commit message ${this.id}`);
    }
  }

  async abort(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    await this.discard(undefined, false);
  }

  private async syncAndCloseBody(): Promise<void> {
    await fsyncFd(this.fd);
    await closeFileStream(this.bodyStream);
  }

  private async finishBody(): Promise<void> {
    if (this.streamError !== undefined) throw this.streamError;
    if (!this.bodyStream.writableEnded) this.bodyStream.end();
    await finished(this.bodyStream);
    if (this.streamError !== undefined) throw this.streamError;
  }

  /** Best effort: removes every file of this message; never throws. */
  private async discard(temp: string | undefined, renamed: boolean): Promise<void> {
    const { paths, committer, logger } = this.context;
    const attempt = async (step: string, action: () => Promise<unknown>): Promise<void> => {
      try {
        await action();
      } catch (error) {
        logger.warn({ qid: this.id, err: error, step }, 'spool cleanup failed');
      }
    };
    await attempt('close', () => closeFileStream(this.bodyStream));
    if (temp !== undefined) await attempt('unlink temp', () => unlinkIfPresent(temp));
    if (renamed) {
      await attempt('unlink state', () => unlinkIfPresent(stateFile(paths, this.id)));
      await attempt('sync state folder', () => committer.syncFolders([paths.stateFolder]));
    }
    await attempt('unlink body', () => unlinkIfPresent(bodyFile(paths, this.id)));
  }
}

/** Waits for every operation (so cleanup never races one still running), then rejects with the first failure. */
async function allOrFirstError(operations: ReadonlyArray<Promise<unknown>>): Promise<void> {
  const outcomes = await Promise.allSettled(operations);
  for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
}
