// The validated, frozen configuration object (INTERFACE.md "Configuration").
// Every duration is in milliseconds and every size in bytes; paths are absolute.

export type ListenerMode = 'mta' | 'submission' | 'smtps';

export interface ListenerConfig {
  readonly address: string;
  readonly port: number;
  readonly mode: ListenerMode;
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface DnsConfig {
  /** Recursive servers; empty means "read /etc/resolv.conf". */
  readonly servers: readonly HostPort[];
  readonly timeoutMs: number;
  readonly ipv6: boolean;
}

export interface DeliveryConfig {
  readonly port: number;
  /** Delays after each failed attempt; the last one repeats. */
  readonly retryDelaysMs: readonly number[];
  readonly maxQueueLifetimeMs: number;
  /** Lowercase ASCII domain -> fixed next hop (port defaults to `port`). */
  readonly routes: ReadonlyMap<string, HostPort>;
  /** 0 = never. */
  readonly delayWarningMs: number;
  readonly maxConcurrency: number;
  readonly concurrencyPerDomain: number;
  readonly recipientsPerTransaction: number;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly dataDoneTimeoutMs: number;
  /** Source address per family for outbound connections; "" = the system's choice. */
  readonly bind: { readonly ipv4: string; readonly ipv6: string };
}

export interface LimitsConfig {
  readonly maxMessageBytes: number;
  readonly maxRecipients: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerClient: number;
  readonly idleTimeoutMs: number;
  readonly minDataRateBytesPerSecond: number;
}

export interface TlsFilesConfig {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface HttpConfig {
  readonly address: string;
  readonly port: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  /** Absolute path of the YAML file this came from. */
  readonly configFile: string;
  readonly hostname: string;
  /** Absolute path of the domains file. */
  readonly domainsFile: string;
  /** Local domains, canonical (lowercase A-label) form. */
  readonly domains: ReadonlySet<string>;
  readonly listen: readonly ListenerConfig[];
  /** CIDR strings as validated ("127.0.0.0/8", "::1/128"). */
  readonly trustedNetworks: readonly string[];
  readonly usersFile: string | undefined;
  readonly tls: TlsFilesConfig | undefined;
  readonly spoolDir: string;
  readonly dns: DnsConfig;
  readonly delivery: DeliveryConfig;
  readonly limits: LimitsConfig;
  /** The addresses outpost sends from (for `doctor`'s SPF and PTR checks). */
  readonly publicAddresses: readonly string[];
  /** DKIM (RFC 6376): absolute path of the folder of <domain>/<selector>.pem private keys. */
  readonly dkim: { readonly keysFolder: string };
  readonly http: HttpConfig | undefined;
  readonly log: { readonly level: LogLevel };
}
