// The pino root logger: JSON lines on stdout (or any destination stream, so
// tests can read the log from memory). Components take `child({ component })`.

import { pino, type Logger, type DestinationStream } from 'pino';
import type { LogLevel } from '../config/types.js';

export type { Logger } from 'pino';

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'outpost' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return destination === undefined ? pino(options, pino.destination({ dest: 1, sync: false })) : pino(options, destination);
}

/** A logger that drops everything, for tests and CLI code that has none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
