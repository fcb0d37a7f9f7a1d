// The delivery seam between the scheduler and the outbound SMTP client: a
// job is a list of messages for one destination; the transport reports each
// message's per-recipient outcome as soon as it is known (STYLE.md §4).

import type { Readable } from 'node:stream';
import type { TlsRequirement } from '../spool/types.js';

export type OutcomeKind = 'delivered' | 'transient' | 'permanent';

export interface RecipientOutcome {
  readonly kind: OutcomeKind;
  /** One line, e.g. "250 2.1.5 Ok" or "451 4.4.1 connection refused by mx1.example.net[192.0.2.1]"; control characters stripped. */
  readonly reply: string;
  /** Enhanced status code (RFC 3463) for DSNs: from the reply when it has one, else derived ("2.0.0", "4.4.1", "5.1.10"...). */
  readonly status: string;
  /** True when `reply` is the remote server's own reply (DSN Diagnostic-Code: smtp; ...), false for local conditions (DNS, connect, timeout). */
  readonly remote: boolean;
  /** Host name of the remote MTA that answered (DSN Remote-MTA), if one did. */
  readonly remoteMta: string | undefined;
}

export interface OutboundMessage {
  readonly id: string;
  /** Envelope sender; "" for the null reverse-path <>. */
  readonly from: string;
  /** The recipients of this transaction (at most recipientsPerTransaction), all in the job's destination. */
  readonly recipients: readonly string[];
  readonly sizeBytes: number;
  /** The stored body has octets >= 0x80 (declare BODY=8BITMIME). */
  readonly eightBit: boolean;
  /** An address is UTF-8 (needs SMTPUTF8). */
  readonly smtputf8: boolean;
  /** Header fields sent in front of the body (the stored DKIM-Signature fields), CRLF-terminated; counted in sizeBytes. */
  readonly headerPrefix?: Buffer;
  /** RFC 8689: REQUIRETLS (verified TLS to REQUIRETLS servers only, else a 5.7.x bounce) or TLS-Required: No (TLS policies ignored). */
  readonly tlsRequirement?: TlsRequirement;
  /** The stored body: canonical CRLF lines, not dot-stuffed. */
  openBody(): Readable;
}

export interface DeliveryJob {
  /** Canonical (lowercase A-label) recipient domain; routes and MX lookup are the transport's business. */
  readonly destination: string;
  readonly messages: readonly OutboundMessage[];
  /**
   * Asked when a session has carried the job's messages and could carry one
   * more: another message for this destination (or one of its lane) queued
   * meanwhile, if any and if the lane grants it (its outcome is reported like the others).
   */
  readonly more?: () => OutboundMessage | undefined;
  /** True when a message `more` could hand over is queued, though its lane may make it wait. */
  readonly queued?: () => boolean;
  /**
   * Asked when `more` has nothing and the session is healthy: waits a short while
   * (delivery.connectionReuseTime) for a message queued later, like Postfix's connection
   * cache; undefined when none came, the wait is cut short (stop, sessions needed
   * elsewhere) or `signal` aborts.
   */
  readonly awaitMore?: (signal: AbortSignal) => Promise<OutboundMessage | undefined>;
}

/** What one attempt used, for logs and the spool history. */
export interface AttemptInfo {
  readonly mx: string | undefined;
  readonly address: string | undefined;
  /** e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384 (unverified)", or null for plaintext. */
  readonly tls: string | null;
  readonly durationMs: number;
  /** The session's last commands and replies when a transaction ran (bounded, AUTH redacted; exchange-log.ts). */
  readonly exchange?: readonly string[];
}

/** Records a message's outcomes durably; the transport awaits it before going on. */
export type ReportOutcomes = (
  messageId: string,
  outcomes: ReadonlyMap<string, RecipientOutcome>,
  info: AttemptInfo,
) => Promise<void>;

/**
 * Destinations that share a route share its limits (a "*" route carries many
 * domains to one smarthost): the scheduler counts sessions per lane and asks
 * the lane before it hands messages over.
 */
export interface DeliveryLane {
  /** Destinations with the same key share sessions, pauses and pacing, e.g. "route:*". */
  readonly key: string;
  /** Sessions at once through the lane; undefined = the scheduler's per-destination limit. */
  readonly maxSessions: number | undefined;
  /** Takes up to `wanted` message starts now (rate cap, throttling pause); returns how many it grants. */
  take(wanted: number, nowMs: number): number;
  /** When the lane grants a message again; undefined when it does now. */
  readyAtMs(nowMs: number): number | undefined;
}

export interface Transport {
  /**
   * Delivers the job's messages in order, reusing one SMTP session where it
   * can, and calls `report` exactly once per message (for every recipient of
   * it), including messages it could not attempt (transient outcomes). Never
   * rejects for remote or network failures; `signal` aborts (remaining
   * messages are reported transient).
   */
  run(job: DeliveryJob, report: ReportOutcomes, signal: AbortSignal): Promise<void>;
  /** The lane a destination's sessions go through (its route), if it shares one; stable per destination. */
  lane?(destination: string): DeliveryLane | undefined;
  /**
   * The provider a destination's MX hosts belong to (their registrable domain, or a
   * configured name), from its delivery plan; undefined for routes, literals and failed plans.
   */
  provider?(destination: string, signal: AbortSignal): Promise<string | undefined>;
}
