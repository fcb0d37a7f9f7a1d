// A message body while it is being received: kept in memory up to a limit
// (it is appended to the queue log at commit), spilled into a file of its own
// in body/ beyond it. Never holds more than the limit in memory.

import { close, createReadStream, open, write } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { SPOOL_FILE_MODE, unlinkIfPresent } from './io.js';

/** At commit, inline bodies made of more pieces than this are joined first (fewer iovecs per write). */
const MAX_INLINE_PIECES = 16;

export type StagedContent =
  | { readonly kind: 'inline'; readonly chunks: readonly Buffer[]; readonly size: number }
  | { readonly kind: 'file'; readonly path: string; readonly fd: number; readonly size: number };

export class StagedBody extends Writable {
  private readonly spillPath: string;
  private readonly inlineMaxBytes: number;
  private chunks: Buffer[] = [];
  private size = 0;
  private fd: number | undefined;
  /** The first error of the stream (a write failure, or one passed to destroy()). */
  failure: unknown;

  constructor(spillPath: string, inlineMaxBytes: number, highWaterMark: number) {
    super({ highWaterMark });
    this.spillPath = spillPath;
    this.inlineMaxBytes = inlineMaxBytes;
    // An unhandled 'error' would crash the process; commit() reports it instead.
    this.on('error', (error: unknown) => {
      this.failure ??= error;
    });
  }

  get bytes(): number {
    return this.size;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.fd === undefined && this.size + chunk.length <= this.inlineMaxBytes) {
      this.chunks.push(chunk);
      this.size += chunk.length;
      callback();
      return;
    }
    this.writeToFile(chunk).then(
      () => callback(),
      (error: Error) => callback(error),
    );
  }

  /** What was written; call after 'finish'. */
  content(): StagedContent {
    if (this.fd !== undefined) return { kind: 'file', path: this.spillPath, fd: this.fd, size: this.size };
    if (this.chunks.length > MAX_INLINE_PIECES) this.chunks = [Buffer.concat(this.chunks, this.size)];
    return { kind: 'inline', chunks: this.chunks, size: this.size };
  }

  /** A new read of what was written (complete). */
  openCopy(): Readable {
    return this.fd === undefined ? Readable.from([...this.chunks]) : createReadStream(this.spillPath);
  }

  /** Closes and unlinks a spill file, drops the memory; never throws. */
  async discard(): Promise<void> {
    this.chunks = [];
    await this.closeFile();
    await unlinkIfPresent(this.spillPath).catch(() => false);
  }

  /** Closes the spill file, if any. */
  async closeFile(): Promise<void> {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) await new Promise<void>((resolve) => close(fd, () => resolve()));
  }

  private async writeToFile(chunk: Buffer): Promise<void> {
    if (this.fd === undefined) {
      const fd = await new Promise<number>((resolve, reject) =>
        open(this.spillPath, 'wx', SPOOL_FILE_MODE, (error, opened) => (error === null ? resolve(opened) : reject(error))),
      );
      this.fd = fd;
      const held = this.chunks;
      this.chunks = [];
      let at = 0;
      for (const piece of held) {
        await writeFully(fd, piece, at);
        at += piece.length;
      }
    }
    await writeFully(this.fd, chunk, this.size);
    this.size += chunk.length;
  }
}

async function writeFully(fd: number, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    done += await new Promise<number>((resolve, reject) =>
      write(fd, data, done, data.length - done, position + done, (error, written) => (error === null ? resolve(written) : reject(error))),
    );
  }
}
