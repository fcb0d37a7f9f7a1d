// Resident memory of a set of processes read from Linux's procfs: one process
// ("pid:N") or a process and all its children ("tree:N", e.g. Postfix's master
// and the smtpd, cleanup, qmgr... it spawns). RSS from /proc/N/status (shared
// pages count in every process); PSS from /proc/N/smaps_rollup on request (each
// shared page split among its sharers, so the sum is the set's real share).

import { readdir, readFile } from 'node:fs/promises';

export interface ProcessSet {
  readonly kind: 'pid' | 'tree';
  readonly pid: number;
}

export interface MemorySample {
  /** Processes counted. */
  readonly processes: number;
  readonly rssKb: number;
  /** Processes of each command name (e.g. { smtpd: 5000, cleanup: 1 }). */
  readonly byCommand: Readonly<Record<string, { count: number; rssKb: number; pssKb?: number }>>;
  /** Set when asked for: the summed proportional set size. */
  readonly pssKb?: number;
}

export function parseProcessSet(text: string): ProcessSet {
  const match = /^(pid|tree):(\d+)$/.exec(text);
  if (match === null) throw new Error(`not pid:N or tree:N: ${text}`);
  return { kind: match[1] as 'pid' | 'tree', pid: Number(match[2]) };
}

interface ProcStatus {
  readonly name: string;
  readonly parent: number;
  readonly rssKb: number;
}

async function status(pid: number): Promise<ProcStatus | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/status`, 'latin1');
    const field = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text)?.[1] ?? '';
    return { name: field('Name'), parent: Number(field('PPid')), rssKb: Number.parseInt(field('VmRSS'), 10) || 0 };
  } catch {
    return undefined; // gone meanwhile
  }
}

async function pssKb(pid: number): Promise<number> {
  try {
    const text = await readFile(`/proc/${pid}/smaps_rollup`, 'latin1');
    return Number(/^Pss:\s*(\d+)/m.exec(text)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** The pids of the set: the process itself, and for a tree every process whose parent chain leads to it. */
async function members(set: ProcessSet): Promise<Map<number, ProcStatus>> {
  const found = new Map<number, ProcStatus>();
  const root = await status(set.pid);
  if (root === undefined) throw new Error(`no process ${set.pid}`);
  found.set(set.pid, root);
  if (set.kind === 'pid') return found;
  const all = new Map<number, ProcStatus>();
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const statuses = await Promise.all(pids.map(async (pid) => [pid, await status(pid)] as const));
  for (const [pid, s] of statuses) if (s !== undefined) all.set(pid, s);
  const inTree = (pid: number): boolean => {
    for (let at = all.get(pid), steps = 0; at !== undefined && steps < 64; at = all.get(at.parent), steps += 1) {
      if (at.parent === set.pid) return true;
    }
    return false;
  };
  for (const [pid, s] of all) if (pid !== set.pid && inTree(pid)) found.set(pid, s);
  return found;
}

export async function sampleMemory(set: ProcessSet, withPss = false): Promise<MemorySample> {
  const processes = await members(set);
  const byCommand: Record<string, { count: number; rssKb: number; pssKb?: number }> = {};
  let rss = 0;
  let pss = 0;
  const psses = withPss ? await Promise.all([...processes.keys()].map(pssKb)) : [];
  let index = 0;
  for (const s of processes.values()) {
    const entry = (byCommand[s.name] ??= withPss ? { count: 0, rssKb: 0, pssKb: 0 } : { count: 0, rssKb: 0 });
    entry.count += 1;
    entry.rssKb += s.rssKb;
    rss += s.rssKb;
    if (withPss) {
      const p = psses[index] ?? 0;
      entry.pssKb = (entry.pssKb ?? 0) + p;
      pss += p;
    }
    index += 1;
  }
  return { processes: processes.size, rssKb: rss, byCommand, ...(withPss ? { pssKb: pss } : {}) };
}

/** "123.4 MB" from kB. */
export function megabytes(kb: number): string {
  return `${(kb / 1024).toFixed(1)} MB`;
}
