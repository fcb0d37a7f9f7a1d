// The scheduler's seams: the slice of the spool it uses, the DSN builder it is
// given, its settings (from DeliveryConfig) and the status it reports.

import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { DeliveryConfig } from '../config/types.js';
import type { AttemptInfo, RecipientOutcome, Transport } from '../delivery/types.js';
import type { DsnRequest } from '../dsn/types.js';
import type { EnvelopeRecord, MessageWriter, RecipientRecord } from '../spool/types.js';
import type { ScheduleEntry } from '../spool/spool.js';
import type { ProviderLimits } from './provider-limits.js';

/** What the scheduler needs of the spool; the real Spool (src/spool/spool.ts) satisfies it. */
export interface SchedulerSpool {
  /** Id, next attempt and pending state of every queued message, from memory (a live view: read it once, at start). */
  scheduleEntries(): Iterable<ScheduleEntry>;
  read(id: string): Promise<EnvelopeRecord | undefined>;
  update(id: string, change: (record: EnvelopeRecord) => EnvelopeRecord): Promise<EnvelopeRecord>;
  /** `durable: false` resolves before the removal is fsync'd (a power loss may bring the message back). */
  remove(id: string, options?: { readonly durable?: boolean }): Promise<void>;
  openBody(id: string): Readable;
  readHeaders(id: string, maxBytes?: number): Promise<string>;
  begin(): Promise<MessageWriter>;
}

/** A built DSN, ready to be queued as a new message from <> to the original sender. */
export interface DsnMessage {
  readonly from: '';
  readonly to: string;
  readonly content: Buffer;
  readonly smtputf8: boolean;
}

export type BuildDsn = (request: DsnRequest) => DsnMessage | Promise<DsnMessage>;

export type SchedulerSettings = Pick<
  DeliveryConfig,
  | 'retryDelaysMs'
  | 'maxQueueLifetimeMs'
  | 'delayWarningMs'
  | 'maxConcurrency'
  | 'concurrencyPerDomain'
  | 'recipientsPerTransaction'
>;

/** Counts for metrics: told of every recipient outcome and every DSN queued. */
export interface DeliveryObserver {
  recipientOutcome(kind: 'delivered' | 'deferred' | 'failed', overTls: boolean): void;
  dsnQueued(action: 'failed' | 'delayed'): void;
  /** A recipient failed permanently at delivery, with the outcome's enhanced status and reply (the suppression list counts these). */
  permanentFailure?(recipient: string, status: string, reply: string): void;
  /**
   * Outcomes of an attempt, awaited before they are recorded in the spool (the
   * webhook outbox writes its events here, so a state change never precedes its event).
   */
  outcomesDecided?(messageId: string, outcomes: ReadonlyMap<string, RecipientOutcome>, info: AttemptInfo): Promise<void>;
  /** A DSN was committed for `recipients` of `original`; awaited before the record notes it. */
  noticeQueued?(action: 'failed' | 'delayed', original: EnvelopeRecord, dsnId: string, recipients: readonly RecipientRecord[]): Promise<void>;
}

export interface SchedulerOptions {
  readonly spool: SchedulerSpool;
  readonly transport: Transport;
  readonly buildDsn: BuildDsn;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Uniform in [0, 1): retry jitter and DSN tokens. */
  readonly random: () => number;
  /** This server's name: DSN Reporting-MTA, MAILER-DAEMON@, destination of domain-less recipients. */
  readonly hostname: string;
  readonly delivery: SchedulerSettings;
  readonly observer?: DeliveryObserver;
  /** Transactions handed to the transport in one job (one connection where it can); default 20. */
  readonly maxMessagesPerJob?: number;
  /** delivery.connectionReuseTime: an idle session waits this long for the next message of its lane; default 0 (QUIT at once). */
  readonly sessionReuseMs?: number;
  /** Messages taken from the due queue into rounds at once (default DEFAULT_MAX_ACTIVE_ROUNDS); fresh messages start theirs regardless. */
  readonly maxActiveRounds?: number;
  /** Session, rate and throttling limits per provider (destinations looked up through `transport.provider`); none without. */
  readonly providers?: ProviderLimits;
}

export interface PausedDestination {
  readonly destination: string;
  readonly untilMs: number;
  readonly consecutiveFailures: number;
}

export interface SchedulerStatus {
  /** Messages waiting for their next attempt. */
  readonly queued: number;
  /** Messages in an attempt (waiting for a session or being delivered). */
  readonly active: number;
  /** Sessions (jobs) running, in all and per destination. */
  readonly running: number;
  readonly runningByDestination: Readonly<Record<string, number>>;
  /** Of the running sessions, those waiting for another message (delivery.connectionReuseTime). */
  readonly idleSessions: number;
  readonly paused: readonly PausedDestination[];
  readonly stopping: boolean;
}
