// Sample DSN inputs shared by the DSN tests.

import type { DsnRecipient } from '../../src/dsn/types.js';

export const ATTEMPT_MS = Date.UTC(2026, 10, 26, 10, 5, 0);

/** A recipient still being retried after a local connection failure. */
export const delayedRecipient: DsnRecipient = {
  address: 'carol@example.com',
  action: 'delayed',
  status: '4.4.1',
  diagnostic: 'connection refused by mx.example.com[192.0.2.1]:25',
  diagnosticIsRemote: false,
  remoteMta: undefined,
  lastAttemptMs: ATTEMPT_MS,
};
