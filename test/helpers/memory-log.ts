// A pino logger whose JSON lines land in memory, so tests can check what was
// logged (and what was not) without touching stdout, and wait for a line to be
// logged instead of sleeping.

import { pino, type Level, type Logger } from 'pino';

export type LogEntry = Record<string, unknown>;

export interface MemoryLog {
  readonly logger: Logger;
  /** Every line logged so far, parsed, oldest first. */
  readonly entries: LogEntry[];
  /** The entries whose `msg` is `msg`. */
  messages(msg: string): LogEntry[];
  /** Resolves with the first entry, already logged or logged later, that `match` accepts. */
  waitFor(match: (entry: LogEntry) => boolean): Promise<LogEntry>;
  /** Resolves with the first entry logged from now on that `match` accepts (earlier entries are not looked at). */
  next(match: (entry: LogEntry) => boolean): Promise<LogEntry>;
}

interface Waiter {
  readonly match: (entry: LogEntry) => boolean;
  readonly resolve: (entry: LogEntry) => void;
}

export function memoryLog(level: Level = 'info'): MemoryLog {
  const entries: LogEntry[] = [];
  let waiters: Waiter[] = [];
  const destination = {
    write(text: string): void {
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        const entry = JSON.parse(line) as LogEntry;
        entries.push(entry);
        if (waiters.length === 0) continue;
        const matched = waiters.filter((waiter) => waiter.match(entry));
        waiters = waiters.filter((waiter) => !matched.includes(waiter));
        for (const waiter of matched) waiter.resolve(entry);
      }
    },
  };
  const next = (match: (entry: LogEntry) => boolean): Promise<LogEntry> => new Promise((resolve) => waiters.push({ match, resolve }));
  return {
    logger: pino({ level }, destination),
    entries,
    messages: (msg) => entries.filter((entry) => entry['msg'] === msg),
    waitFor: (match) => {
      const found = entries.find(match);
      return found === undefined ? next(match) : Promise.resolve(found);
    },
    next,
  };
}
