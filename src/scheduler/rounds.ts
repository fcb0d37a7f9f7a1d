// One delivery round of a message: from reading its record, through its
// transactions, to settling it (retry, expiry, DSNs, removal); operator
// requests (delete, bounce, flush) arriving meanwhile are flags on it.

import type { EnvelopeRecord } from '../spool/types.js';

export type RoundMode = 'deliver' | 'delete' | 'bounce';

export type RoundPhase = 'reading' | 'waiting' | 'settling';

export class Round {
  readonly id: string;
  phase: RoundPhase = 'reading';
  /** Transactions handed out and not yet over. */
  outstanding = 0;
  /** The record existed when the round read it. */
  found = false;
  /** Some outcome was recorded in this round. */
  attempted = false;
  /** Shutdown cut the round short: the attempt is not counted against the retry schedule. */
  aborted = false;
  /** Next attempt chosen at the first transient outcome (logged with it), used when the round settles. */
  plannedNextAttemptMs: number | undefined = undefined;
  deleteRequested: boolean;
  bounceRequested: boolean;
  /** The last transaction delivered everything and the message was removed then (nothing left to settle). */
  completed: EnvelopeRecord | undefined = undefined;
  /** The record as the round read it, while it is known to be current (one transaction, nothing recorded yet). */
  record: EnvelopeRecord | undefined = undefined;
  /** An operator's flush: the message's destinations are not waited for. */
  flushRequested = false;
  readonly finished: Promise<void>;
  private resolveFinished: () => void = () => undefined;

  constructor(id: string, mode: RoundMode) {
    this.id = id;
    this.deleteRequested = mode === 'delete';
    this.bounceRequested = mode === 'bounce';
    this.finished = new Promise((resolve) => {
      this.resolveFinished = resolve;
    });
  }

  /** True when the round is only there for an operator request, not to deliver. */
  get cancelled(): boolean {
    return this.deleteRequested || this.bounceRequested;
  }

  finish(): void {
    this.resolveFinished();
  }
}
