// The log line of each recipient outcome: qid, rcpt, mx host and address, TLS,
// the reply, the recipient's attempt number, duration and the next attempt.

import type { Logger } from 'pino';
import type { AttemptInfo, RecipientOutcome } from '../delivery/types.js';
import type { EnvelopeRecord } from '../spool/types.js';

const MESSAGES = {
  delivered: 'recipient delivered',
  transient: 'recipient deferred',
  permanent: 'recipient failed',
} as const;

/** One line per recipient of `outcomes`, read against the record as updated with them. */
export function logOutcomes(
  logger: Logger,
  record: EnvelopeRecord,
  outcomes: ReadonlyMap<string, RecipientOutcome>,
  info: AttemptInfo,
  nextAttemptMs: number | undefined,
): void {
  if (!logger.isLevelEnabled('info')) {
    if (record.from === '') for (const [rcpt, outcome] of outcomes) if (outcome.kind === 'permanent') logger.warn({ qid: record.id, rcpt }, 'failed message from <> is not bounced');
    return;
  }
  for (const [rcpt, outcome] of outcomes) {
    const recipient = record.recipients.find((candidate) => candidate.address === rcpt);
    const retry = outcome.kind === 'transient' && nextAttemptMs !== undefined;
    logger.info(
      {
        qid: record.id,
        rcpt,
        mx: info.mx,
        address: info.address,
        tls: info.tls,
        reply: outcome.reply,
        status: outcome.status,
        attempt: recipient?.attempts,
        durationMs: info.durationMs,
        ...(retry ? { nextAttempt: new Date(nextAttemptMs).toISOString() } : {}),
      },
      MESSAGES[outcome.kind],
    );
    if (outcome.kind === 'permanent' && record.from === '') logger.warn({ qid: record.id, rcpt }, 'failed message from <> is not bounced');
  }
}
