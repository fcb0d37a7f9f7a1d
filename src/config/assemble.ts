// Builds the frozen Config (src/config/types.ts) from validated values: names
// with units, default ports filled in (DNS 53, routes `delivery.port` or 465 for implicit TLS).

import type { Endpoint } from './leaf-types.js';
import { deepFreeze, FrozenMap } from './frozen.js';
import { routeConfigOf } from './route-type.js';
import type { ValidatedConfig } from './schema.js';
import type { Config, HostPort } from './types.js';

export const DNS_PORT = 53;

function withPort(endpoint: Endpoint, defaultPort: number): HostPort {
  return { host: endpoint.host, port: endpoint.port ?? defaultPort };
}

export function assembleConfig(values: ValidatedConfig, configFile: string, domains: ReadonlySet<string>): Config {
  const { delivery, dns, limits, verifyRecipients: verify } = values;
  const config: Config = {
    configFile,
    hostname: values.hostname,
    domainsFile: values.domains,
    domains,
    listen: values.listen.map((listener) => ({ ...listener })),
    trustedNetworks: [...values.trustedNetworks],
    trustGateway: values.trustGateway,
    usersFile: values.users,
    tls: values.tls === undefined ? undefined : { certFile: values.tls.cert, keyFile: values.tls.key },
    spoolDir: values.spoolDir,
    dns: {
      servers: dns.servers.map((server) => withPort(server, DNS_PORT)),
      timeoutMs: dns.timeout,
      ipv6: dns.ipv6,
      dnssec: dns.dnssec,
    },
    delivery: {
      port: delivery.port,
      retryDelaysMs: [...delivery.retry],
      maxQueueLifetimeMs: delivery.maxQueueLifetime,
      routes: new FrozenMap([...delivery.routes].map(([domain, route]) => [domain, routeConfigOf(route, delivery.port)] as const)),
      tlsPolicy: new FrozenMap(delivery.tlsPolicy),
      mtaSts: delivery.mtaSts,
      caFile: delivery.caFile === '' ? undefined : delivery.caFile,
      delayWarningMs: delivery.delayWarning,
      maxConcurrency: delivery.maxConcurrency,
      concurrencyPerDomain: delivery.concurrencyPerDomain,
      concurrencyPerProvider: delivery.concurrencyPerProvider,
      providers: new FrozenMap(delivery.providers),
      publicSuffixes: [...delivery.publicSuffixes],
      recipientsPerTransaction: delivery.recipientsPerTransaction,
      connectTimeoutMs: delivery.connectTimeout,
      commandTimeoutMs: delivery.commandTimeout,
      dataDoneTimeoutMs: delivery.dataDoneTimeout,
      connectionReuseTimeMs: delivery.connectionReuseTime,
      bind: { ipv4: delivery.bind.ipv4, ipv6: delivery.bind.ipv6 },
    },
    limits: {
      maxMessageBytes: limits.maxMessageSize,
      maxRecipients: limits.maxRecipients,
      maxConnections: limits.maxConnections,
      maxConnectionsPerClient: limits.maxConnectionsPerClient,
      idleTimeoutMs: limits.idleTimeout,
      minDataRateBytesPerSecond: limits.minDataRate,
      minFreeBytes: limits.minFreeSpace,
    },
    publicAddresses: [...values.publicAddresses],
    dkim: { keysFolder: values.dkim.keys },
    verifyRecipients: {
      probe: verify.probe,
      file: verify.file,
      positiveTtlMs: verify.positiveTtl,
      negativeTtlMs: verify.negativeTtl,
      whenUnavailable: verify.whenUnavailable,
      probeTimeoutMs: verify.probeTimeout,
      maxProbes: verify.maxProbes,
      cacheSize: verify.cacheSize,
    },
    tlsrpt: { enabled: values.tlsrpt.enabled, organization: values.tlsrpt.organization, contact: values.tlsrpt.contact },
    events: { webhooks: values.events.webhooks.map((hook) => ({ ...hook, events: [...hook.events] })) },
    suppression: { enabled: values.suppression.enabled, after: values.suppression.after, ttlMs: values.suppression.ttl },
    quotas: { perHour: values.quotas.perHour, perDay: values.quotas.perDay },
    http: values.http === undefined ? undefined : { address: values.http.address, port: values.http.port },
    log: { level: values.log.level },
  };
  return deepFreeze(config);
}
