// Composition root: builds the real parts from a validated Config (spool,
// SMTP listeners, live domain list) and wires them together. Only this file
// and cli/ construct concrete parts (STYLE.md).

import type { Clock } from './core/clock.js';
import { NetworkSet, parseCidr, type Cidr } from './core/network.js';
import type { Config } from './config/types.js';
import type { Logger } from './observability/logger.js';
import { SmtpServer, type BoundListener } from './server/smtp-server.js';
import { Spool } from './spool/spool.js';

/** How long sessions may take to finish on SIGTERM before they are dropped (Docker waits 10 s). */
export const SHUTDOWN_GRACE_MS = 8_000;

export interface RelayDependencies {
  readonly logger: Logger;
  readonly clock: Clock;
}

export interface RunningRelay {
  readonly listeners: readonly BoundListener[];
  /** Swaps in a new set of local domains (SIGHUP reload). */
  setDomains(domains: ReadonlySet<string>): void;
  stop(): Promise<void>;
}

export async function startRelay(config: Config, deps: RelayDependencies): Promise<RunningRelay> {
  const { logger, clock } = deps;
  const spool = await Spool.open({ dir: config.spoolDir, clock, logger: logger.child({ component: 'spool' }), recover: true });
  let domains = config.domains;
  const trusted = new NetworkSet(config.trustedNetworks.map((text) => parseCidr(text)).filter((cidr): cidr is Cidr => cidr !== undefined));
  const smtp = new SmtpServer({
    hostname: config.hostname,
    listeners: config.listen,
    limits: config.limits,
    spool,
    clock,
    logger,
    isLocalDomain: (domain) => domains.has(domain),
    isTrusted: (address) => trusted.contains(address),
  });
  let listeners: BoundListener[];
  try {
    listeners = await smtp.start();
  } catch (error: unknown) {
    await spool.close();
    throw error;
  }
  return {
    listeners,
    setDomains(next) {
      domains = next;
    },
    async stop() {
      await smtp.stop(SHUTDOWN_GRACE_MS);
      await spool.close();
    },
  };
}
