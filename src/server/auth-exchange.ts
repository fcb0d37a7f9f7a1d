// One SMTP AUTH exchange (RFC 4954) with PLAIN (RFC 4616) and LOGIN: turns
// SASL steps into replies, checks the credentials against the users file and
// applies the failed-AUTH limiter (growing delay, then 421 lockout).

import { canonicalUserAddress } from '../auth/user-address.js';
import type { FailureLimiter } from '../auth/failure-limiter.js';
import { continueSasl, startSasl, type SaslState, type SaslStep } from '../auth/sasl.js';
import type { UserDirectory } from '../auth/users-file.js';
import type { Clock } from '../core/clock.js';
import { reply, type Reply } from '../smtp/reply.js';
import { Replies } from '../smtp/replies.js';

export interface AuthServices {
  readonly users: () => UserDirectory | undefined;
  readonly limiter: FailureLimiter;
  readonly clock: Clock;
}

export type AuthStep =
  /** Send the 334 challenge; the client's next line continues the exchange. */
  | { readonly kind: 'challenge'; readonly reply: Reply; readonly state: SaslState }
  | { readonly kind: 'authenticated'; readonly reply: Reply; readonly user: string }
  | { readonly kind: 'failed'; readonly reply: Reply; readonly user: string | undefined; readonly close: boolean }
  | { readonly kind: 'refused'; readonly reply: Reply };

export class AuthExchange {
  constructor(
    private readonly services: AuthServices,
    private readonly clientAddress: string,
  ) {}

  /** A client already locked out gets 421 before any exchange. */
  lockedOut(): boolean {
    return this.services.limiter.isLockedOut(this.clientAddress);
  }

  start(argument: string): Promise<AuthStep> {
    return this.interpret(startSasl(argument));
  }

  continue(state: SaslState, line: string): Promise<AuthStep> {
    return this.interpret(continueSasl(state, line));
  }

  private async interpret(step: SaslStep): Promise<AuthStep> {
    switch (step.kind) {
      case 'challenge':
        return { kind: 'challenge', reply: reply(334, undefined, step.challenge), state: step.state };
      case 'cancelled':
        return { kind: 'refused', reply: Replies.authCancelled };
      case 'malformed':
        return { kind: 'refused', reply: Replies.authMalformed };
      case 'unsupported-mechanism':
        return { kind: 'refused', reply: Replies.authUnsupportedMechanism };
      case 'line-too-long':
        return { kind: 'refused', reply: Replies.authLineTooLong };
      case 'authzid-mismatch':
        return this.failure(step.authcid);
      case 'credentials':
        return this.verify(step.authcid, step.password);
    }
  }

  private async verify(authcid: string, password: string): Promise<AuthStep> {
    const users = this.services.users();
    const canonical = canonicalUserAddress(authcid);
    const user = canonical.ok ? canonical.address : authcid;
    // Unknown and malformed users go through verify too (a dummy hash), so they cost the same time.
    const valid = users !== undefined && (await users.verify(user, password)) && canonical.ok;
    return valid ? { kind: 'authenticated', reply: Replies.authSucceeded, user } : this.failure(user);
  }

  /** Records the failure; the reply waits for the growing delay, or the client is locked out. */
  private async failure(user: string | undefined): Promise<AuthStep> {
    const verdict = this.services.limiter.recordFailure(this.clientAddress);
    if (verdict.lockedOut) return { kind: 'failed', reply: Replies.authLockedOut, user, close: true };
    if (verdict.delayMs > 0) await new Promise<void>((resolve) => this.services.clock.setTimer(verdict.delayMs, resolve));
    return { kind: 'failed', reply: Replies.authFailed, user, close: false };
  }
}
