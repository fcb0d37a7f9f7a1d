// Starts the real SMTP listener on 127.0.0.1:0 with a real spool in a temp
// folder, a manual clock and an in-memory log, for dialog tests.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { Clock } from '../../src/core/clock.js';
import { NetworkSet, parseCidr, type Cidr } from '../../src/core/network.js';
import type { LimitsConfig, ListenerMode } from '../../src/config/types.js';
import type { Logger } from '../../src/observability/logger.js';
import { SmtpServer } from '../../src/server/smtp-server.js';
import { AEAD_TLS12_CIPHERS, NO_RENEGOTIATION } from '../../src/config/tls-files.js';
import type { MessageSigner } from '../../src/dkim/message-signer.js';
import { FailureLimiter } from '../../src/auth/failure-limiter.js';
import { hashPassword } from '../../src/auth/password-hash.js';
import { UserDirectory } from '../../src/auth/users-file.js';
import { Spool } from '../../src/spool/spool.js';
import type { MessageSink } from '../../src/spool/types.js';
import type { RecipientVerifier } from '../../src/verify/types.js';
import type { SendingGuards } from '../../src/server/sending-guards.js';
import { ManualClock } from './manual-clock.js';
import { memoryLog, type MemoryLog } from './memory-log.js';

export const TEST_LIMITS: LimitsConfig = {
  maxMessageBytes: 10 * 1024 * 1024,
  maxRecipients: 100,
  maxConnections: 50,
  maxConnectionsPerClient: 20,
  idleTimeoutMs: 300_000,
  minDataRateBytesPerSecond: 500,
  minFreeBytes: 100 * 1024 * 1024,
};

export interface HarnessOptions {
  readonly limits?: Partial<LimitsConfig>;
  readonly mode?: ListenerMode;
  readonly domains?: readonly string[];
  readonly trustedNetworks?: readonly string[];
  /** Replace the real spool (e.g. with a failing sink). */
  readonly sink?: (spool: Spool) => MessageSink;
  readonly clock?: Clock;
  /** PEM key and certificate: STARTTLS offered (and smtps possible). */
  readonly tls?: { readonly key: string; readonly cert: string };
  /** AUTH users (address -> password); the failed-AUTH limiter runs on the harness clock. */
  readonly users?: Readonly<Record<string, string>>;
  readonly authLimits?: { readonly maxFailures?: number; readonly baseDelayMs?: number };
  /** DKIM: signs messages of authorized clients. */
  readonly dkimSigner?: MessageSigner;
  /** Free bytes on the spool's disk, given the spool folder (absent: no disk reserve check). */
  readonly freeSpaceBytes?: (spoolDir: string) => Promise<number>;
  /** Folder the temp spool folder is made in (default: the system temp folder). */
  readonly spoolParent?: string;
  /** Verifies local recipients of unauthorized mta clients at RCPT (absent: none). */
  readonly recipientVerifier?: RecipientVerifier;
  /** Sender quotas and the suppression list (absent: none); built with the harness's spool folder and clock. */
  readonly guards?: (context: { readonly spoolDir: string; readonly clock: ManualClock; readonly logger: Logger }) => SendingGuards;
  /** The listener requires the PROXY protocol from these networks (`proxyProtocol: true, proxyFrom`). */
  readonly proxyFrom?: readonly string[];
}

export interface Harness {
  readonly port: number;
  readonly spool: Spool;
  readonly spoolDir: string;
  readonly server: SmtpServer;
  readonly clock: ManualClock;
  readonly log: MemoryLog;
  readonly logger: Logger;
  close(): Promise<void>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const spoolDir = await mkdtemp(join(options.spoolParent ?? tmpdir(), 'outpost-test-'));
  const clock = new ManualClock();
  const log = memoryLog('trace');
  const logger = log.logger;
  const spool = await Spool.open({ dir: spoolDir, clock, logger, recover: true });
  const domains = new Set(options.domains ?? ['example.org']);
  const trusted = new NetworkSet(
    (options.trustedNetworks ?? ['127.0.0.0/8']).map((text) => parseCidr(text)).filter((cidr): cidr is Cidr => cidr !== undefined),
  );
  const context = options.tls === undefined ? undefined : createSecureContext({ key: options.tls.key, cert: options.tls.cert, minVersion: 'TLSv1.2', secureOptions: NO_RENEGOTIATION });
  // As main.ts does: submission and smtps offer only AEAD suites.
  const strictContext =
    options.tls === undefined ? undefined : createSecureContext({ key: options.tls.key, cert: options.tls.cert, minVersion: 'TLSv1.2', ciphers: AEAD_TLS12_CIPHERS, secureOptions: NO_RENEGOTIATION });
  const users =
    options.users === undefined
      ? undefined
      : new UserDirectory(
          'test-users',
          await Promise.all(Object.entries(options.users).map(async ([address, password]) => ({ address, hash: await hashPassword(password) }))),
        );
  const limiter = new FailureLimiter({ clock, ...options.authLimits });
  const readFreeSpace = options.freeSpaceBytes;
  const server = new SmtpServer({
    hostname: 'mx.example.org',
    listeners: [{ address: '127.0.0.1', port: 0, mode: options.mode ?? 'mta', ...(options.proxyFrom === undefined ? {} : { proxyFrom: options.proxyFrom }) }],
    limits: { ...TEST_LIMITS, ...options.limits },
    tlsContext: (mode) => (mode === 'mta' ? context : strictContext),
    auth: { users: () => users, limiter, clock },
    ...(options.dkimSigner === undefined ? {} : { dkimSigner: options.dkimSigner }),
    ...(options.recipientVerifier === undefined ? {} : { recipientVerifier: options.recipientVerifier }),
    ...(options.guards === undefined ? {} : { guards: options.guards({ spoolDir, clock, logger }) }),
    spool: options.sink === undefined ? spool : options.sink(spool),
    ...(readFreeSpace === undefined ? {} : { freeSpaceBytes: () => readFreeSpace(spoolDir) }),
    clock: options.clock ?? clock,
    logger,
    isLocalDomain: (domain) => domains.has(domain),
    isTrusted: (address) => trusted.contains(address),
  });
  const [listener] = await server.start();
  if (listener === undefined) throw new Error('no listener');
  return {
    port: listener.port,
    spool,
    spoolDir,
    server,
    clock,
    log,
    logger,
    async close() {
      await server.stop(1000);
      await spool.close();
      await rm(spoolDir, { recursive: true, force: true });
    },
  };
}

/**
 * Writes `text` on a client connection and resolves once the harness's sessions have read and
 * handled that many more bytes (their `input consumed` trace lines): what a test waits for before
 * moving the manual clock or stopping the server, instead of sleeping. One writing client at a time.
 */
export async function writeAndWaitConsumed(harness: Pick<Harness, 'log'>, client: { write(data: string): void }, text: string): Promise<void> {
  let remainingBytes = Buffer.byteLength(text);
  const consumed = harness.log.next((entry) => entry['msg'] === 'input consumed' && (remainingBytes -= Number(entry['bytes'])) <= 0);
  client.write(text);
  await consumed;
}
