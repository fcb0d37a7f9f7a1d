// Standard Webhooks signing (https://www.standardwebhooks.com/, "Signature
// scheme"): HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>", sent as
// "v1,<base64>". A secret "whsec_<base64>" is those decoded bytes; any other secret its UTF-8 bytes.

import { createHmac } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';

/** The HMAC key of a configured secret. */
export function signingKey(secret: string): Buffer {
  return secret.startsWith(SECRET_PREFIX) ? Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64') : Buffer.from(secret, 'utf8');
}

/** The `webhook-signature` header value for one delivery. */
export function signPayload(key: Buffer, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`, 'utf8').digest('base64');
  return `v1,${mac}`;
}
