// The delivery event as sent to webhook receivers (README "Delivery events (webhooks)").

import type { WebhookEventType } from '../config/types.js';

export type { WebhookEventType };

export interface RemoteDetails {
  /** Host name of the MX (or route host) that answered, when one did. */
  readonly mx: string | null;
  /** Its IP address, when connected. */
  readonly address: string | null;
  /** The reply, "250 2.0.0 Ok" style (local conditions too: "451 4.4.1 connection refused ..."). */
  readonly reply: string | null;
  /** Enhanced status code (RFC 3463). */
  readonly status: string | null;
}

export interface DeliveryEvent {
  /** Unique and stable across retries: the `webhook-id` header too. */
  readonly id: string;
  readonly type: WebhookEventType;
  /** ISO 8601 time of the state change. */
  readonly timestamp: string;
  /** Queue id of the message, null for refusals at RCPT/MAIL (suppressed, quota). */
  readonly queueId: string | null;
  readonly recipient: string | null;
  /** Envelope sender ("" for <>), null when unknown. */
  readonly sender: string | null;
  /** Message-ID header field of the message, null when unknown. */
  readonly messageId: string | null;
  readonly remote: RemoteDetails | null;
  /** TLS of the session, e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384", null for plaintext or no session. */
  readonly tls: string | null;
  /** Type-specific details (the DSN queue id of `bounced` and `delayed`, the quota kind...). */
  readonly details?: Readonly<Record<string, string | number | boolean | null>>;
}
