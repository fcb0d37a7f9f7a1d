// Decides whether and with which keys a message from an authorized client is
// signed (RFC 6376 §3.5 d=, RFC 7489 §3.1 alignment with the From: domain) and
// makes the DKIM-Signature fields stored in front of it.

import type { Clock } from '../core/clock.js';
import { authorDomain } from './author.js';
import type { HeaderField } from './message-splitter.js';
import { dkimSignatureFieldsAsync } from './sign.js';
import type { SigningKeyring } from './signing-keyring.js';

export type SignOutcome =
  | { readonly kind: 'signed'; readonly domain: string; readonly selectors: readonly string[]; readonly fields: string }
  /** `notable`: worth an info line (no usable From:), not an everyday case (a domain without keys). */
  | { readonly kind: 'unsigned'; readonly reason: string; readonly notable: boolean };

export interface MessageSigner {
  /** `headers` undefined: the header section was too large to hold. */
  sign(headers: readonly HeaderField[] | undefined, bodyHash: Buffer): Promise<SignOutcome>;
}

export interface KeyringSignerOptions {
  /** The current keyring (SIGHUP may replace the keys). */
  readonly keyring: () => SigningKeyring;
  isLocalDomain(domain: string): boolean;
  readonly clock: Clock;
}

export function keyringSigner(options: KeyringSignerOptions): MessageSigner {
  return {
    async sign(headers, bodyHash) {
      if (headers === undefined) return { kind: 'unsigned', reason: 'header section too large', notable: true };
      const author = authorDomain(headers);
      if (!author.ok) return { kind: 'unsigned', reason: `no usable From: ${author.reason}`, notable: true };
      const keyring = options.keyring();
      const domain = keyring.signingDomain(author.domain);
      if (domain === undefined || !options.isLocalDomain(domain)) return { kind: 'unsigned', reason: `no DKIM key for ${author.domain}`, notable: false };
      const keys = keyring.keysFor(domain);
      const timestampSeconds = Math.floor(options.clock.now() / 1000);
      const fields = (await dkimSignatureFieldsAsync({ headers, bodyHash, domain, keys, timestampSeconds })).join('');
      return { kind: 'signed', domain, selectors: keys.map((key) => key.selector), fields };
    },
  };
}
