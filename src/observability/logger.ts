// The pino root logger: JSON lines on stdout (or any destination stream, so
// tests can read the log from memory). Components take `child({ component })`.

import { pino, type Logger, type DestinationStream } from 'pino';
import type { LogLevel } from '../config/types.js';

export type { Logger } from 'pino';

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'outpost' },
    timestamp: isoTimeField(),
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return destination === undefined ? pino(options, pino.destination({ dest: 1, sync: false })) : pino(options, destination);
}

/** pino's isoTime field, made once per millisecond (several lines often share one under load). */
function isoTimeField(): () => string {
  let lastMs = -1;
  let field = '';
  return () => {
    const nowMs = Date.now();
    if (nowMs !== lastMs) {
      lastMs = nowMs;
      field = `,"time":"${new Date(nowMs).toISOString()}"`;
    }
    return field;
  };
}

/** A logger that drops everything, for tests and CLI code that has none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
