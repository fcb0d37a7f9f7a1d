// A pino logger whose JSON lines land in memory, so tests can check what was
// logged (and what was not) without touching stdout.

import { pino, type Level, type Logger } from 'pino';

export type LogEntry = Record<string, unknown>;

export interface MemoryLog {
  readonly logger: Logger;
  /** Every line logged so far, parsed, oldest first. */
  readonly entries: LogEntry[];
  /** The entries whose `msg` is `msg`. */
  messages(msg: string): LogEntry[];
}

export function memoryLog(level: Level = 'info'): MemoryLog {
  const entries: LogEntry[] = [];
  const destination = {
    write(text: string): void {
      for (const line of text.split('\n')) if (line.trim() !== '') entries.push(JSON.parse(line) as LogEntry);
    },
  };
  return {
    logger: pino({ level }, destination),
    entries,
    messages: (msg) => entries.filter((entry) => entry['msg'] === msg),
  };
}
