// The public types of the fake MTA (test/helpers/fake-mta.ts): options,
// scripts, sessions and received messages.

export type Stage = 'greeting' | 'ehlo' | 'helo' | 'starttls' | 'mail' | 'rcpt' | 'data' | 'body' | 'dataDone' | 'rset' | 'noop' | 'quit';
export type Action = string | readonly string[] | 'disconnect' | 'silence' | undefined;

export interface StageContext {
  readonly session: FakeSession;
  /** The command's argument: the address for MAIL/RCPT (without <>), the name for EHLO/HELO. */
  readonly argument: string;
  /** The transaction so far: sender and accepted recipients. */
  readonly from: string | undefined;
  readonly recipients: readonly string[];
}

export type Script = Partial<Record<Stage, (context: StageContext) => Action | Promise<Action>>>;

export interface FakeMtaOptions {
  /** Any loopback address; default 127.0.0.1. */
  readonly host?: string;
  readonly port?: number;
  /** Name in the greeting and EHLO reply; default "fake-mta.test". */
  readonly name?: string;
  /**
   * What EHLO announces; default PIPELINING and 8BITMIME only. SIZE is announced when `size` is a number;
   * REQUIRETLS (RFC 8689) with `requireTls`, and only inside TLS, as a server must.
   */
  readonly extensions?: { readonly pipelining?: boolean; readonly size?: number; readonly eightBitMime?: boolean; readonly smtpUtf8?: boolean; readonly requireTls?: boolean };
  /** Offer STARTTLS with this key and certificate. */
  readonly tls?: {
    readonly key: string;
    readonly cert: string;
    /** Sent in the same write as the 220 to STARTTLS (response injection, CVE-2021-38371). */
    readonly injectAfterReady?: string;
    /** Answer 220 to STARTTLS, then send garbage instead of a handshake and close. */
    readonly breakHandshake?: boolean;
  };
  readonly script?: Script;
}

export interface FakeSession {
  readonly id: number;
  /** Command lines as received, in order. */
  readonly commands: string[];
  /** Every chunk of command-mode bytes as it arrived (to see what was pipelined together). */
  readonly chunks: string[];
  tls: boolean;
  /** The SNI name the client sent in its TLS handshake (undefined: no TLS or no SNI). */
  servername?: string;
  /** Messages completed (final dot answered 2xx) on this connection. */
  transactions: number;
  rsets: number;
}

export interface ReceivedMessage {
  readonly sessionId: number;
  readonly from: string;
  /** The MAIL FROM parameters, e.g. "SIZE=123 BODY=8BITMIME". */
  readonly mailParams: string;
  readonly recipients: readonly string[];
  /** The content after removing dot-stuffing (what the sender's spool held). */
  readonly data: Buffer;
  /** The content as it came over the wire, still dot-stuffed, without the final ".". */
  readonly wireData: Buffer;
  readonly tls: boolean;
}

