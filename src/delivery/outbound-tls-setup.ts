// Builds the outbound TLS parts from the delivery settings: the trusted CAs
// (Node's roots plus delivery.caFile), the MTA-STS policy cache in the spool
// (RFC 8461 §5.1) with its HTTPS fetcher, DANE TLSA lookups when the resolver
// validates DNSSEC (RFC 7672), and the per-destination decision.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { DeliveryConfig } from '../config/types.js';
import type { Clock } from '../core/clock.js';
import { errorMessage, OutpostError } from '../core/errors.js';
import { DaneLookup } from '../dane/host-status.js';
import type { Resolver } from '../dns/resolver.js';
import { HttpsPolicyFetcher, type PolicyFetcher } from '../mtasts/fetcher.js';
import { MtaStsPolicies, type MtaStsObserver } from '../mtasts/policies.js';
import { POLICY_CACHE_FOLDER, PolicyFolder } from '../mtasts/store.js';
import { OutboundTls } from './tls-policy.js';

const SMTP_PORT = 25;

export interface OutboundTrust {
  /** PEM CA certificates: Node's roots and the file's; undefined = Node's default store. */
  readonly ca: readonly string[] | undefined;
  readonly secureContext: SecureContext | undefined;
}

/** The CAs trusted for outbound verification: Node's bundled roots plus `caFile`'s certificates. */
export async function outboundTrust(caFile: string | undefined): Promise<OutboundTrust> {
  if (caFile === undefined) return { ca: undefined, secureContext: undefined };
  try {
    const ca = [...rootCertificates, await readFile(caFile, 'utf8')];
    return { ca, secureContext: createSecureContext({ ca, minVersion: 'TLSv1.2' }) };
  } catch (error: unknown) {
    throw new OutpostError('ETLS', `delivery.caFile: ${caFile}: ${errorMessage(error)}`, { cause: error });
  }
}

export interface OutboundTlsDependencies {
  readonly spoolDir: string;
  readonly resolver: Resolver;
  /** dns.ipv6: policy hosts reached over IPv6 too. */
  readonly ipv6: boolean;
  /** dns.dnssec: the resolver validates, so DANE TLSA records are looked up; default off. */
  readonly dnssec?: boolean;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly observer?: MtaStsObserver;
  /** The CLI: read the spool's cache, never write it, no background refreshes. */
  readonly readOnly?: boolean;
  /** Replaces the HTTPS fetcher (tests: a server on another port). */
  readonly fetcher?: (trust: OutboundTrust) => PolicyFetcher;
}

export interface OutboundTlsParts {
  readonly outboundTls: OutboundTls;
  /** undefined when delivery.mtaSts is off. */
  readonly policies: MtaStsPolicies | undefined;
  readonly trust: OutboundTrust;
}

export async function createOutboundTls(delivery: Pick<DeliveryConfig, 'tlsPolicy' | 'mtaSts' | 'caFile'> & Partial<Pick<DeliveryConfig, 'port'>>, deps: OutboundTlsDependencies): Promise<OutboundTlsParts> {
  const trust = await outboundTrust(delivery.caFile);
  const fetcher = deps.fetcher?.(trust) ?? new HttpsPolicyFetcher({ resolver: deps.resolver, ipv6: deps.ipv6, clock: deps.clock, ...(trust.ca === undefined ? {} : { ca: trust.ca }) });
  const policies = delivery.mtaSts
    ? new MtaStsPolicies({
        resolver: deps.resolver,
        fetcher,
        cache: new PolicyFolder(join(deps.spoolDir, POLICY_CACHE_FOLDER), { readOnly: deps.readOnly ?? false }),
        clock: deps.clock,
        logger: deps.logger,
        refreshInBackground: deps.readOnly !== true,
        ...(deps.observer === undefined ? {} : { observer: deps.observer }),
      })
    : undefined;
  const dane = deps.dnssec === true ? new DaneLookup({ resolver: deps.resolver, port: delivery.port ?? SMTP_PORT }) : undefined;
  const outboundTls = new OutboundTls({ levels: delivery.tlsPolicy, mtaSts: policies, secureContext: trust.secureContext, dane });
  return { outboundTls, policies, trust };
}
