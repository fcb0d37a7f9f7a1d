// Linux procfs readings of this process for the process metrics: memory from
// /proc/self/status, open descriptors from /proc/self/fd, the descriptor limit
// from /proc/self/limits (proc(5)). Parsers are pure; readers do one small read each.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ProcMemory {
  /** VmRSS: resident set size. */
  readonly residentBytes: number;
  /** VmSize: virtual memory size. */
  readonly virtualBytes: number;
  /** VmData: data segment (the process heap as prom-client reports it). */
  readonly heapBytes: number;
}

/** The Vm* lines of /proc/self/status (values in kB); undefined when one is missing. */
export function parseProcStatus(text: string): ProcMemory | undefined {
  const kilobytes = (field: string): number | undefined => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
    return match === null ? undefined : Number(match[1]) * 1024;
  };
  const residentBytes = kilobytes('VmRSS');
  const virtualBytes = kilobytes('VmSize');
  const heapBytes = kilobytes('VmData');
  if (residentBytes === undefined || virtualBytes === undefined || heapBytes === undefined) return undefined;
  return { residentBytes, virtualBytes, heapBytes };
}

/** The soft "Max open files" limit of /proc/self/limits; Infinity for unlimited, undefined when absent. */
export function parseMaxOpenFiles(text: string): number | undefined {
  const match = /^Max open files\s+(\S+)\s+\S+\s+files\s*$/m.exec(text);
  if (match === null) return undefined;
  if (match[1] === 'unlimited') return Infinity;
  const value = Number(match[1]);
  return Number.isInteger(value) ? value : undefined;
}

/** Reads the procfs files of one process folder (`/proc/self` in production). */
export class ProcSelf {
  constructor(private readonly dir: string) {}

  /** Rejects when the file cannot be read; undefined when it lacks a Vm* line. */
  async memory(): Promise<ProcMemory | undefined> {
    return parseProcStatus(await readFile(join(this.dir, 'status'), 'utf8'));
  }

  /** Entries of the fd folder: one per open descriptor (the listing's own included, as prom-client counts). */
  async openFds(): Promise<number> {
    return (await readdir(join(this.dir, 'fd'))).length;
  }

  async maxFds(): Promise<number | undefined> {
    return parseMaxOpenFiles(await readFile(join(this.dir, 'limits'), 'utf8'));
  }
}
