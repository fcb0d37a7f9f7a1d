// The last lines of an outbound SMTP dialog, kept for `outpost queue why`:
// commands ("C: ") and replies ("S: "), at most EXCHANGE_LINES of at most
// EXCHANGE_LINE_CHARS each. The body never passes here (it is not a command);
// AUTH data (RFC 4954 §4: initial responses, continuations, challenges) is redacted.

import { replyText, type Reply } from '../smtp/reply.js';
import { cleanRemoteText } from './reply-reader.js';

export const EXCHANGE_LINES = 10;
export const EXCHANGE_LINE_CHARS = 200;

/** The stage name smtp-auth.ts sends its commands under. */
const AUTH_STAGE = 'AUTH';

function bounded(line: string): string {
  const clean = cleanRemoteText(line);
  return clean.length <= EXCHANGE_LINE_CHARS ? clean : `${clean.slice(0, EXCHANGE_LINE_CHARS - 3)}...`;
}

export class ExchangeLog {
  readonly #lines: string[] = [];

  command(line: string, stage: string): void {
    if (stage !== AUTH_STAGE) {
      this.#push(`C: ${line}`);
      return;
    }
    const mechanism = /^AUTH\s+([A-Za-z0-9_-]{1,40})/i.exec(line)?.[1];
    this.#push(mechanism === undefined ? 'C: [AUTH data redacted]' : `C: AUTH ${mechanism} [redacted]`);
  }

  reply(reply: Reply, stage: string): void {
    if (stage !== AUTH_STAGE) {
      this.#push(`S: ${replyText(reply)}`);
      return;
    }
    this.#push(`S: ${reply.code}${reply.status === undefined ? '' : ` ${reply.status}`} [AUTH reply redacted]`);
  }

  /** The kept lines, oldest first. */
  lines(): readonly string[] {
    return [...this.#lines];
  }

  #push(line: string): void {
    this.#lines.push(bounded(line));
    if (this.#lines.length > EXCHANGE_LINES) this.#lines.splice(0, this.#lines.length - EXCHANGE_LINES);
  }
}
