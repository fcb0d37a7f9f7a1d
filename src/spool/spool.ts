// The durable message store: opens the folder layout (with crash recovery),
// hands out MessageWriters, reads records and bodies, and applies durable,
// per-id serialized updates and removals for the delivery side.

import { createReadStream } from 'node:fs';
import { mkdir, readFile, readdir, rename } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { SpoolError, errnoCode } from '../core/errors.js';
import { GroupCommitter, type FolderSync, type GroupCommitStats } from './group-commit.js';
import { readHeaderSection } from './headers.js';
import { toSpoolError, unlinkIfPresent, writeNewFileSynced } from './io.js';
import { mapLimited } from './map-limited.js';
import { isIdCollision, openMessageWriter, type WriterContext } from './message-writer.js';
import { bodyFile, spoolPaths, stateFile, tempFile, type SpoolPaths } from './paths.js';
import { QueueIdGenerator, validateId, type RandomSource } from './queue-id.js';
import { decodeRecord, encodeRecord, recordProblem } from './record.js';
import { recoverSpool, stateIdsIn } from './recovery.js';
import type { EnvelopeRecord, MessageSink, MessageWriter } from './types.js';

export interface RemoveOptions {
  /**
   * false: resolve once the state file is unlinked, without waiting for the
   * folder fsync (it still happens, with the next group commit). For a message
   * delivered in full: a power loss may then bring it back and deliver it once
   * more (at least once, as Postfix does), but never loses it. Default true.
   */
  readonly durable?: boolean;
}

export { validateId } from './queue-id.js';

const MAX_CONCURRENT_READS = 32;
const MAX_ID_COLLISION_RETRIES = 5;

export interface SpoolOptions {
  readonly dir: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** true for `serve`: delete partial files at open; false for read-only CLI use while a server runs. */
  readonly recover: boolean;
  /** Folder fsync; tests inject one to count or fail syncs. */
  readonly folderSync?: FolderSync;
  /** Random bytes for queue ids. */
  readonly random?: RandomSource;
}

export class Spool implements MessageSink {
  private readonly paths: SpoolPaths;
  private readonly logger: Logger;
  private readonly ids: QueueIdGenerator;
  private readonly committer: GroupCommitter;
  private readonly writerContext: WriterContext;
  /** Per-id tail of the update/remove chain; settles, never rejects. */
  private readonly chains = new Map<string, Promise<void>>();
  private closed = false;

  private constructor(options: SpoolOptions) {
    this.paths = spoolPaths(options.dir);
    this.logger = options.logger.child({ component: 'spool' });
    this.ids = new QueueIdGenerator(options.clock, options.random);
    this.committer = new GroupCommitter(options.folderSync);
    this.writerContext = { paths: this.paths, clock: options.clock, committer: this.committer, logger: this.logger };
  }

  static async open(options: SpoolOptions): Promise<Spool> {
    const spool = new Spool(options);
    const { paths } = spool;
    try {
      for (const folder of [paths.bodyFolder, paths.stateFolder, paths.tempFolder]) {
        await mkdir(folder, { recursive: true });
      }
      if (options.recover) await recoverSpool(paths, spool.logger);
    } catch (error) {
      throw toSpoolError(error, `cannot open spool ${options.dir}`);
    }
    return spool;
  }

  async begin(): Promise<MessageWriter> {
    this.assertOpen();
    for (let attempt = 0; ; attempt += 1) {
      const id = this.ids.next();
      try {
        return await openMessageWriter(this.writerContext, id);
      } catch (error) {
        if (isIdCollision(error) && attempt < MAX_ID_COLLISION_RETRIES) continue;
        throw toSpoolError(error, 'cannot create message body');
      }
    }
  }

  /** Every committed message, oldest arrival first; unreadable records are logged and skipped. */
  async list(): Promise<EnvelopeRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.paths.stateFolder);
    } catch (error) {
      throw toSpoolError(error, 'cannot list spool');
    }
    const records = await mapLimited(stateIdsIn(names), MAX_CONCURRENT_READS, (id) => this.readLogged(id));
    return records
      .filter((record): record is EnvelopeRecord => record !== undefined)
      .sort((a, b) => compare(a.arrival, b.arrival) || compare(a.id, b.id));
  }

  /** The record, or undefined when there is none (or it is unreadable, which is logged). */
  async read(id: string): Promise<EnvelopeRecord | undefined> {
    assertValidId(id);
    return this.readLogged(id);
  }

  /** The stored body (CRLF line ends); a missing body surfaces as the stream's 'error'. */
  openBody(id: string): Readable {
    assertValidId(id);
    return createReadStream(bodyFile(this.paths, id));
  }

  async readHeaders(id: string, maxBytes?: number): Promise<string> {
    assertValidId(id);
    try {
      return await readHeaderSection(bodyFile(this.paths, id), maxBytes);
    } catch (error) {
      throw toSpoolError(error, `cannot read headers of message ${id}`);
    }
  }

  /** Durably replaces the record with `change(current)`; calls for one id run one after another. */
  async update(id: string, change: (record: EnvelopeRecord) => EnvelopeRecord): Promise<EnvelopeRecord> {
    assertValidId(id);
    return this.serialize(id, async () => {
      const current = await this.readRequired(id);
      const next = change(current);
      const problem = recordProblem(next, id);
      if (problem !== undefined) throw new SpoolError(`update of message ${id} made an invalid record: ${problem}`);
      await this.replaceState(id, next);
      return next;
    });
  }

  /** Removes the state file (durably), then the body; a message already gone is not an error. */
  async remove(id: string, options: RemoveOptions = {}): Promise<void> {
    assertValidId(id);
    let stateRemoved = (): void => undefined;
    const stateGone = new Promise<void>((resolve) => (stateRemoved = resolve));
    // The state file goes first and its removal is made durable before the body goes: a crash
    // never leaves a state file without its body (a lost message); at worst a message comes back.
    const whole = this.serialize(id, async () => {
      try {
        await unlinkIfPresent(stateFile(this.paths, id));
        stateRemoved();
        await this.committer.syncFolders([this.paths.stateFolder]);
        await unlinkIfPresent(bodyFile(this.paths, id));
      } catch (error) {
        throw toSpoolError(error, `cannot remove message ${id}`);
      }
    });
    if (options.durable !== false) return whole;
    whole.catch((error: unknown) => this.logger.warn({ qid: id, err: error }, 'removal of a delivered message failed'));
    await Promise.race([stateGone, whole]);
  }

  /** Stops new messages and waits for pending updates, removals and folder syncs. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.chains.values());
    await this.committer.idle();
  }

  get commitStats(): GroupCommitStats {
    return this.committer.stats;
  }

  private assertOpen(): void {
    if (this.closed) throw new SpoolError('spool is closed');
  }

  private serialize<T>(id: string, operation: () => Promise<T>): Promise<T> {
    this.assertOpen();
    const previous = this.chains.get(id) ?? Promise.resolve();
    const result = previous.then(operation);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(id, tail);
    void tail.then(() => {
      if (this.chains.get(id) === tail) this.chains.delete(id);
    });
    return result;
  }

  private async replaceState(id: string, record: EnvelopeRecord): Promise<void> {
    const temp = tempFile(this.paths, id, randomBytes(4).toString('hex'));
    try {
      await writeNewFileSynced(temp, encodeRecord(record));
      await rename(temp, stateFile(this.paths, id));
      await this.committer.syncFolders([this.paths.stateFolder]);
    } catch (error) {
      await unlinkIfPresent(temp).catch(() => false);
      throw toSpoolError(error, `cannot update message ${id}`);
    }
  }

  private async readRequired(id: string): Promise<EnvelopeRecord> {
    const text = await this.readStateText(id);
    if (text === undefined) throw new SpoolError(`no such message ${id}`);
    const decoded = decodeRecord(text, id);
    if (!decoded.ok) throw new SpoolError(`message ${id} has an invalid record: ${decoded.problem}`);
    return decoded.record;
  }

  private async readLogged(id: string): Promise<EnvelopeRecord | undefined> {
    let text: string | undefined;
    try {
      text = await this.readStateText(id);
    } catch (error) {
      this.logger.error({ qid: id, err: error }, 'cannot read state file');
      return undefined;
    }
    if (text === undefined) return undefined;
    const decoded = decodeRecord(text, id);
    if (decoded.ok) return decoded.record;
    this.logger.error({ qid: id, problem: decoded.problem }, 'invalid state file skipped');
    return undefined;
  }

  /** The state file's text, undefined when it does not exist. */
  private async readStateText(id: string): Promise<string | undefined> {
    try {
      return await readFile(stateFile(this.paths, id), 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw toSpoolError(error, `cannot read message ${id}`);
    }
  }
}

function assertValidId(id: string): void {
  if (!validateId(id)) throw new SpoolError(`invalid queue id ${JSON.stringify(id)}`);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
