// Recognises a mail provider's "slow down" among remote replies (RFC 3463
// X.7.x security/policy; the providers' own codes): Gmail 421 4.7.0 and
// 421/450 4.7.28, Microsoft 451 4.7.650/4.7.651, Yahoo 421 4.7.0 [TS0x],
// and any 421 closing the channel with a 4.7.x status or a "try again later" text.

import type { RecipientOutcome } from './types.js';

export interface ThrottleMatch {
  /** A fixed short name for logs and `outpost queue why`. */
  readonly reason: 'rate-limited' | 'ip-reputation' | 'closing-channel' | 'try-again-later';
}

/** Statuses that mean "too much mail from you", whatever the reply code. */
const RATE_STATUSES: ReadonlyMap<string, ThrottleMatch['reason']> = new Map([
  // Gmail: "unusual rate of unsolicited mail" / "rate limited".
  ['4.7.28', 'rate-limited'],
  // Microsoft: "temporarily rate limited due to IP reputation".
  ['4.7.650', 'ip-reputation'],
  ['4.7.651', 'ip-reputation'],
]);

const SERVICE_CLOSING = 421;
/** Words providers put in their deferrals (Yahoo's [TS01]..[TS04], "try again later", "too many"...). */
const SLOW_DOWN_TEXT = /\[TS0\d\]|try again later|too many (?:connections|messages|concurrent)|rate limit|throttl|temporarily deferred/i;

/** The reply code of a remote outcome (its first three digits). */
function replyCode(outcome: RecipientOutcome): number | undefined {
  const match = /^([2-5]\d\d)[ -]/.exec(outcome.reply);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** The throttling the remote signalled with this outcome, or undefined (only remote 4xx replies count). */
export function throttleOf(outcome: RecipientOutcome): ThrottleMatch | undefined {
  if (!outcome.remote || outcome.kind !== 'transient') return undefined;
  const code = replyCode(outcome);
  if (code === undefined || code < 400 || code >= 500) return undefined;
  const rate = RATE_STATUSES.get(outcome.status);
  if (rate !== undefined) return { reason: rate };
  const text = outcome.reply.slice(4);
  if (code === SERVICE_CLOSING && outcome.status.startsWith('4.7.')) return { reason: 'closing-channel' };
  if (code === SERVICE_CLOSING && SLOW_DOWN_TEXT.test(text)) return { reason: 'try-again-later' };
  // 450/451 4.7.x is also greylisting or a policy refusal of this sender: only the provider's words make it throttling.
  if (outcome.status.startsWith('4.7.') && SLOW_DOWN_TEXT.test(text) && !/greylist|graylist/i.test(text)) return { reason: 'try-again-later' };
  return undefined;
}

/** The first throttling among a message's outcomes. */
export function throttleAmong(outcomes: Iterable<RecipientOutcome>): { readonly match: ThrottleMatch; readonly outcome: RecipientOutcome } | undefined {
  for (const outcome of outcomes) {
    const match = throttleOf(outcome);
    if (match !== undefined) return { match, outcome };
  }
  return undefined;
}
