// Group commit: writers whose files are already fsync'd and renamed wait here
// for their folders to be fsync'd; one fsync per folder serves a whole batch,
// and writers arriving while a batch is in flight join the next one.

import { open } from 'node:fs/promises';

export type FolderSync = (folder: string) => Promise<void>;

/** fsync(2) on a folder, which makes the names created, renamed or removed in it durable. */
export async function fsyncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface GroupCommitStats {
  /** Batches run, each one fsync per folder named in it. */
  readonly batches: number;
  readonly folderSyncs: number;
  /** Callers served (counted when their batch starts). */
  readonly waiters: number;
  /** Callers queued for the next batch. */
  readonly waiting: number;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class GroupCommitter {
  private readonly syncFolder: FolderSync;
  private pendingFolders = new Set<string>();
  private pendingWaiters: Waiter[] = [];
  private running: Promise<void> | undefined;
  private batchCount = 0;
  private folderSyncCount = 0;
  private waiterCount = 0;

  constructor(syncFolder: FolderSync = fsyncFolder) {
    this.syncFolder = syncFolder;
  }

  /** Resolves once each folder has been fsync'd by a sync that began after this call; rejects with that sync's error. */
  syncFolders(folders: readonly string[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      for (const folder of folders) this.pendingFolders.add(folder);
      this.pendingWaiters.push({ resolve, reject });
      this.running ??= this.drain();
    });
  }

  /** Resolves when no batch is pending or in flight. */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  get stats(): GroupCommitStats {
    return {
      batches: this.batchCount,
      folderSyncs: this.folderSyncCount,
      waiters: this.waiterCount,
      waiting: this.pendingWaiters.length,
    };
  }

  private async drain(): Promise<void> {
    while (this.pendingWaiters.length > 0) {
      const folders = [...this.pendingFolders];
      const waiters = this.pendingWaiters;
      this.pendingFolders = new Set();
      this.pendingWaiters = [];
      this.batchCount += 1;
      this.folderSyncCount += folders.length;
      this.waiterCount += waiters.length;
      try {
        await Promise.all(folders.map((folder) => this.syncFolder(folder)));
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        for (const waiter of waiters) waiter.reject(error);
      }
    }
    this.running = undefined;
  }
}
