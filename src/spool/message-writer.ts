// One message being received: the body streams straight into body/<id>
// (unreferenced until its state file lands), or is rewritten into tmp/ and
// renamed over it; commit fsyncs the body, writes the state file via tmp/ and
// rename, and waits for the group folder fsync.

import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { SpoolError, errnoCode } from '../core/errors.js';
import type { GroupCommitter } from './group-commit.js';
import { closeFileStream, fsyncFd, openNewFile, toSpoolError, unlinkIfPresent, writeNewFileSynced } from './io.js';
import { bodyFile, stateFile, tempBodyFile, tempFile, type SpoolPaths } from './paths.js';
import { encodeRecord, newRecord } from './record.js';
import type { BodyRewrite, EnvelopeRecord, MessageWriter, NewEnvelope } from './types.js';

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
  return new BodyFileWriter(context, id, openTarget(path, await openNewFile(path)));
}

export function isIdCollision(error: unknown): boolean {
  return errnoCode(error) === 'EEXIST';
}

/** One body file being written: `stream` writes to `fd`; destroying the stream closes it (after any in-flight write). */
interface BodyTarget {
  readonly path: string;
  readonly fd: number;
  readonly stream: WriteStream;
  error: unknown;
}

function openTarget(path: string, fd: number): BodyTarget {
  const stream = createWriteStream(path, { fd, autoClose: false, highWaterMark: BODY_HIGH_WATER_MARK_BYTES });
  const target: BodyTarget = { path, fd, stream, error: undefined };
  // An unhandled 'error' would crash the process; keep it for commit() instead.
  stream.on('error', (error: unknown) => {
    target.error ??= error;
  });
  return target;
}

/** Ends the stream and waits until its bytes are handed to the file; rejects with its write error. */
async function finishTarget(target: BodyTarget): Promise<void> {
  if (target.error !== undefined) throw target.error;
  if (!target.stream.writableEnded) target.stream.end();
  await finished(target.stream);
  if (target.error !== undefined) throw target.error;
}

class BodyFileWriter implements MessageWriter {
  readonly id: string;
  readonly body: Writable;
  private readonly context: WriterContext;
  private readonly original: BodyTarget;
  /** The body written by a rewrite (tmp/), stored in the original's place at commit. */
  private replacement: BodyTarget | undefined;
  private settled = false;

  constructor(context: WriterContext, id: string, original: BodyTarget) {
    this.context = context;
    this.id = id;
    this.original = original;
    this.body = original.stream;
  }

  async rewriteBody(): Promise<BodyRewrite> {
    if (this.settled || this.replacement !== undefined) throw new SpoolError(`message ${this.id} was already rewritten, committed or aborted`);
    try {
      await finishTarget(this.original);
      const path = tempBodyFile(this.context.paths, this.id, randomBytes(4).toString('hex'));
      this.replacement = openTarget(path, await openNewFile(path));
    } catch (error) {
      throw toSpoolError(error, `cannot rewrite the body of message ${this.id}`);
    }
    const originalPath = this.original.path;
    return { openOriginal: () => createReadStream(originalPath), body: this.replacement.stream };
  }

  async commit(envelope: NewEnvelope): Promise<EnvelopeRecord> {
    if (this.settled) throw new SpoolError(`message ${this.id} was already committed or aborted`);
    this.settled = true;
    const { paths, clock, committer } = this.context;
    const temp = tempFile(paths, this.id, randomBytes(4).toString('hex'));
    const target = stateFile(paths, this.id);
    const body = this.replacement ?? this.original;
    let renamed = false;
    try {
      await finishTarget(body);
      const record = newRecord(this.id, envelope, clock.now(), body.stream.bytesWritten);
      // The two file fsyncs are independent, so they run together; the rename waits for both.
      await allOrFirstError([this.syncAndPlaceBody(), writeNewFileSynced(temp, encodeRecord(record))]);
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

  /** Fsyncs the body to be stored; a replacement then takes the original's name (its folder is synced with the state folder). */
  private async syncAndPlaceBody(): Promise<void> {
    const body = this.replacement ?? this.original;
    await fsyncFd(body.fd);
    await closeFileStream(body.stream);
    if (body === this.original) return;
    await closeFileStream(this.original.stream);
    await rename(body.path, this.original.path);
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
    await attempt('close', () => closeFileStream(this.original.stream));
    const replacement = this.replacement;
    if (replacement !== undefined) {
      await attempt('close replacement', () => closeFileStream(replacement.stream));
      await attempt('unlink replacement', () => unlinkIfPresent(replacement.path));
    }
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
