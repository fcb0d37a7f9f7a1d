// Decides whether and with which keys a message from an authorized client is
// signed (RFC 6376 §3.5 d=, RFC 7489 §3.1 alignment with the From: domain) and
// makes the DKIM-Signature fields stored in front of it.

import type { Clock } from '../core/clock.js';
import { authorDomain } from './author.js';
import type { HeaderField } from './message-splitter.js';
import { dkimSignatureFieldsAsync } from './sign.js';
import type { SigningKeyring } from './signing-keyring.js';
import type { DkimKey } from './keys.js';

export type SignOutcome =
  | { readonly kind: 'signed'; readonly domain: string; readonly selectors: readonly string[]; readonly fields: string }
  | UnsignedOutcome;

/** `notable`: worth an info line (no usable From:), not an everyday case (a domain without keys). */
export type UnsignedOutcome = { readonly kind: 'unsigned'; readonly reason: string; readonly notable: boolean };

export interface MessageSigner {
  /** `headers` undefined: the header section was too large to hold. */
  sign(headers: readonly HeaderField[] | undefined, bodyHash: Buffer): Promise<SignOutcome>;
  /**
   * What `sign` would answer without looking at the body: the unsigned outcome when these header
   * fields cannot be signed (no usable From:, no key for its domain), else undefined. Asked once the
   * header section is in, so that a message that will not be signed skips the body hash. Absent: the
   * body is always hashed.
   */
  unsignedOutcome?(headers: readonly HeaderField[] | undefined): UnsignedOutcome | undefined;
}

export interface KeyringSignerOptions {
  /** The current keyring (SIGHUP may replace the keys). */
  readonly keyring: () => SigningKeyring;
  isLocalDomain(domain: string): boolean;
  readonly clock: Clock;
}

export function keyringSigner(options: KeyringSignerOptions): MessageSigner {
  /** The signing domain and its keys, or why the message goes unsigned. */
  type Decision = UnsignedOutcome | { readonly kind: 'sign'; readonly headers: readonly HeaderField[]; readonly domain: string; readonly keys: readonly DkimKey[] };
  const decide = (headers: readonly HeaderField[] | undefined): Decision => {
    if (headers === undefined) return { kind: 'unsigned', reason: 'header section too large', notable: true };
    const author = authorDomain(headers);
    if (!author.ok) return { kind: 'unsigned', reason: `no usable From: ${author.reason}`, notable: true };
    const keyring = options.keyring();
    const domain = keyring.signingDomain(author.domain);
    if (domain === undefined || !options.isLocalDomain(domain)) return { kind: 'unsigned', reason: `no DKIM key for ${author.domain}`, notable: false };
    return { kind: 'sign', headers, domain, keys: keyring.keysFor(domain) };
  };
  return {
    async sign(headers, bodyHash) {
      const decision = decide(headers);
      if (decision.kind === 'unsigned') return decision;
      const { domain, keys } = decision;
      const timestampSeconds = Math.floor(options.clock.now() / 1000);
      const fields = (await dkimSignatureFieldsAsync({ headers: decision.headers, bodyHash, domain, keys, timestampSeconds })).join('');
      return { kind: 'signed', domain, selectors: keys.map((key) => key.selector), fields };
    },
    unsignedOutcome(headers) {
      const decision = decide(headers);
      return decision.kind === 'unsigned' ? decision : undefined;
    },
  };
}
