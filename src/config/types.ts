// The validated, frozen configuration object (INTERFACE.md "Configuration").
// Every duration is in milliseconds and every size in bytes; paths are absolute.

export type ListenerMode = 'mta' | 'submission' | 'smtps';

export interface ListenerConfig {
  readonly address: string;
  readonly port: number;
  readonly mode: ListenerMode;
  /**
   * `proxyProtocol: true`: every connection must come from these networks (CIDR strings, the load
   * balancers) and start with a PROXY protocol v1/v2 header. Absent: no PROXY protocol.
   */
  readonly proxyFrom?: readonly string[];
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** How a route uses TLS: required with STARTTLS (RFC 3207) or from the first byte (RFC 8314 §3.3), when offered, or never. */
export type RouteTlsMode = 'starttls' | 'implicit' | 'opportunistic' | 'none';

export type PasswordMechanism = 'PLAIN' | 'LOGIN';

/** AUTH on a route (RFC 4954). Secrets stay in their files and are read when used. */
export type RouteAuthConfig =
  /** AUTH PLAIN (RFC 4616) or LOGIN, in the order of `mechanisms`, among those the server offers. */
  | { readonly kind: 'password'; readonly username: string; readonly passwordFile: string; readonly mechanisms: readonly PasswordMechanism[] }
  /** AUTH XOAUTH2 with a bearer token kept fresh in a file by something else. */
  | { readonly kind: 'token-file'; readonly username: string; readonly tokenFile: string }
  /** AUTH XOAUTH2 with a token from the OAuth2 client-credentials grant (RFC 6749 §4.4). */
  | {
      readonly kind: 'client-credentials';
      readonly username: string;
      readonly tokenUrl: string;
      readonly clientId: string;
      readonly clientSecretFile: string;
      readonly scope: string | undefined;
    };

/** What a route written as an object adds to its host and port. */
export interface RoutePolicyConfig {
  readonly tls: RouteTlsMode;
  /** starttls/implicit: the certificate must verify against the route's host name. */
  readonly verify: boolean;
  /** PEM CA certificates trusted instead of the default ones; absolute path. */
  readonly caFile: string | undefined;
  readonly auth: RouteAuthConfig | undefined;
  /** Sessions at once through the route; undefined = `concurrencyPerDomain`. */
  readonly maxConnections: number | undefined;
  /** Messages per minute through the route, evenly spaced; undefined = no cap. */
  readonly ratePerMinute: number | undefined;
}

/** A fixed next hop; `policy` only when the route was written as an object. */
export interface RouteConfig extends HostPort {
  readonly policy?: RoutePolicyConfig;
}

/**
 * How a destination's MX hosts use TLS (delivery.tlsPolicy): required and authenticated by DNSSEC-secure
 * TLSA records (DANE, RFC 7672), required and verified for the MX name, required, opportunistic, never.
 */
export type TlsPolicyLevel = 'dane' | 'verify' | 'encrypt' | 'may' | 'none';

export interface DnsConfig {
  /** Recursive servers; empty means "read /etc/resolv.conf". */
  readonly servers: readonly HostPort[];
  readonly timeoutMs: number;
  readonly ipv6: boolean;
  /** The servers validate DNSSEC and their AD bit is trusted (needs explicit `servers`): enables DANE. */
  readonly dnssec: boolean;
}

/** A mail provider's limits (delivery.providers) and the MX hosts that are its own. */
export interface ProviderConfig {
  /** Sessions at once to the provider's MX hosts; undefined = `concurrencyPerProvider`. */
  readonly maxConnections: number | undefined;
  /** Messages started per minute / per hour; undefined = no cap. */
  readonly ratePerMinute: number | undefined;
  readonly ratePerHour: number | undefined;
  /** MX host patterns: "example.net" (it and names under it) or "*.example.net" (names under it). */
  readonly mx: readonly string[];
}

export interface DeliveryConfig {
  readonly port: number;
  /** Delays after each failed attempt; the last one repeats. */
  readonly retryDelaysMs: readonly number[];
  readonly maxQueueLifetimeMs: number;
  /** Lowercase ASCII domain, or "*" for every other domain -> fixed next hop (port defaults to `port`, 465 for implicit TLS). */
  readonly routes: ReadonlyMap<string, RouteConfig>;
  /** Canonical domain -> TLS level for its MX hosts; overrides MTA-STS for that domain. */
  readonly tlsPolicy: ReadonlyMap<string, TlsPolicyLevel>;
  /** Honour MTA-STS (RFC 8461) policies of destinations without a route or tlsPolicy entry. */
  readonly mtaSts: boolean;
  /** Absolute path of PEM CA certificates trusted for outbound verification besides Node's; undefined = none. */
  readonly caFile: string | undefined;
  /** 0 = never. */
  readonly delayWarningMs: number;
  readonly maxConcurrency: number;
  readonly concurrencyPerDomain: number;
  /** Sessions at once to one provider (the MX hosts' registrable domain) without a maxConnections of its own. */
  readonly concurrencyPerProvider: number;
  /** Provider name -> limits and MX patterns. */
  readonly providers: ReadonlyMap<string, ProviderConfig>;
  /** Multi-label public suffixes (co.xx) besides the built-in ones, for registrable domains. */
  readonly publicSuffixes: readonly string[];
  readonly recipientsPerTransaction: number;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly dataDoneTimeoutMs: number;
  /** How long an idle outbound session waits for another message to its destination before QUIT (0 = QUIT at once). */
  readonly connectionReuseTimeMs: number;
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
  /** Spool disk reserve: MAIL and DATA answer 452 4.3.1 when a message would leave less free. */
  readonly minFreeBytes: number;
}

export interface TlsFilesConfig {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface HttpConfig {
  readonly address: string;
  readonly port: number;
}

/** What RCPT gets when the next hop cannot be asked: 450 4.1.1 (defer) or 250 (accept, fail open). */
export type UnavailableAction = 'defer' | 'accept';

/** Recipient verification at RCPT (local-domain recipients from unauthorized clients on `mta`). */
export interface VerifyRecipientsConfig {
  /** Ask the next hop with a cached RCPT probe. */
  readonly probe: boolean;
  /** Allow-list file (absolute path): its domains accept only the addresses it lists. */
  readonly file: string | undefined;
  /** How long a "valid" answer is cached; 0 = not cached. */
  readonly positiveTtlMs: number;
  /** How long an "unknown user" answer is cached; 0 = not cached. */
  readonly negativeTtlMs: number;
  readonly whenUnavailable: UnavailableAction;
  /** A probe (slot wait, DNS, connect, dialog) gives up after this: the next hop counts as unavailable. */
  readonly probeTimeoutMs: number;
  /** Probes at once; more wait for a slot. */
  readonly maxProbes: number;
  /** Cached answers kept at most (least recently used dropped first). */
  readonly cacheSize: number;
}

/** SMTP TLS Reporting (RFC 8460): daily aggregate reports about outbound TLS sessions. */
export interface TlsRptConfig {
  /** Record outbound TLS sessions and send the reports. */
  readonly enabled: boolean;
  /** "organization-name" of the reports; "" = the hostname. */
  readonly organization: string;
  /** "contact-info" of the reports; "" = postmaster@hostname. */
  readonly contact: string;
}

export type WebhookEventType = 'queued' | 'delivered' | 'deferred' | 'failed' | 'bounced' | 'delayed' | 'expired' | 'suppressed' | 'quota';

/** One receiver of delivery events (README "Delivery events (webhooks)"). */
export interface WebhookConfig {
  /** http or https URL the events are POSTed to. */
  readonly url: string;
  /** The signing secret (from `secretFile`, or inline `secret`); `whsec_` + base64 means those decoded bytes. */
  readonly secret: string;
  readonly events: readonly WebhookEventType[];
}

export interface EventsConfig {
  readonly webhooks: readonly WebhookConfig[];
}

/** The suppression list (README "Suppression list"). */
export interface SuppressionConfig {
  readonly enabled: boolean;
  /** Permanent mailbox failures (5.1.1, 5.1.6, 5.1.10) within `ttlMs` that suppress an address. */
  readonly after: number;
  /** How long a failure counts and a suppression lasts. */
  readonly ttlMs: number;
}

/** Sender quotas per AUTH user and trusted client address (README "Sender quotas"); 0 = unlimited. */
export interface QuotasConfig {
  readonly perHour: number;
  readonly perDay: number;
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
  /** A trustedNetworks entry may contain the machine's default gateway (refused otherwise: Docker open relay). */
  readonly trustGateway: boolean;
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
  readonly verifyRecipients: VerifyRecipientsConfig;
  readonly tlsrpt: TlsRptConfig;
  readonly events: EventsConfig;
  readonly suppression: SuppressionConfig;
  readonly quotas: QuotasConfig;
  readonly http: HttpConfig | undefined;
  readonly log: { readonly level: LogLevel };
}
