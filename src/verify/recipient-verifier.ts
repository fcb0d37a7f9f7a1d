// Recipient verification at RCPT (Postfix reject_unverified_recipient, Exim
// callouts): the allow-list first, then the answer cache, then one shared probe
// of the next hop per address, capped in number and bounded in time; the
// result becomes accept, reject (unknown user) or defer/accept (unavailable).

import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { RecipientList } from '../config/recipients-file.js';
import type { UnavailableAction } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import { AnswerCache } from './answer-cache.js';
import { ProbeSlots } from './probe-slots.js';
import type { ProbeAnswer, Prober, RecipientToVerify, RecipientVerifier, Verification, VerificationDecision, VerificationResult, VerificationSource } from './types.js';

/** Counts for metrics. */
export interface VerificationObserver {
  verified(result: VerificationResult, source: VerificationSource): void;
}

export interface VerifierSettings {
  readonly positiveTtlMs: number;
  readonly negativeTtlMs: number;
  readonly whenUnavailable: UnavailableAction;
  readonly probeTimeoutMs: number;
  readonly maxProbes: number;
  readonly cacheSize: number;
}

export interface RecipientVerifierOptions {
  readonly settings: VerifierSettings;
  /** The current allow-list (SIGHUP may swap it), or undefined when none is configured. */
  readonly list: () => RecipientList | undefined;
  /** Asks the next hop; undefined: probing is off (only the list decides). */
  readonly probe: Prober | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly observer?: VerificationObserver;
}

export class CachingRecipientVerifier implements RecipientVerifier {
  readonly #options: RecipientVerifierOptions;
  readonly #cache: AnswerCache;
  readonly #slots: ProbeSlots;
  readonly #inFlight = new Map<string, Promise<ProbeAnswer>>();
  readonly #controllers = new Set<AbortController>();
  readonly #log: Logger;
  #closed = false;

  constructor(options: RecipientVerifierOptions) {
    this.#options = options;
    const { settings, clock } = options;
    this.#cache = new AnswerCache({ clock, maxEntries: settings.cacheSize, positiveTtlMs: settings.positiveTtlMs, negativeTtlMs: settings.negativeTtlMs });
    this.#slots = new ProbeSlots(settings.maxProbes);
    this.#log = options.logger.child({ component: 'verify' });
  }

  /** Answers cached now. */
  get cachedAnswers(): number {
    return this.#cache.size;
  }

  async verify(recipient: RecipientToVerify): Promise<Verification> {
    const { result, source, detail } = await this.#find(recipient);
    this.#options.observer?.verified(result, source);
    return { decision: this.#decide(result), result, source, detail };
  }

  /** Aborts the probes in flight (shutdown); later verifications answer unavailable. */
  close(): void {
    this.#closed = true;
    for (const controller of this.#controllers) controller.abort();
  }

  async #find(recipient: RecipientToVerify): Promise<{ result: VerificationResult; source: VerificationSource; detail: string | undefined }> {
    const list = this.#options.list();
    if (list?.covers(recipient.domain) === true) {
      const listed = list.accepts(recipient.localPart, recipient.domain);
      return { result: listed ? 'valid' : 'invalid', source: 'list', detail: listed ? 'listed' : 'not in the recipients file' };
    }
    if (this.#options.probe === undefined) return { result: 'unverifiable', source: 'none', detail: 'probing is off' };
    const key = `${recipient.localPart}@${recipient.domain}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined) return { result: cached.result, source: 'cache', detail: cached.detail };
    const answer = await this.#sharedProbe(key, recipient, this.#options.probe);
    return { result: answer.result, source: 'probe', detail: answer.detail };
  }

  #decide(result: VerificationResult): VerificationDecision {
    switch (result) {
      case 'valid':
      case 'unverifiable':
        return 'accept';
      case 'invalid':
        return 'reject';
      case 'unavailable':
        return this.#options.settings.whenUnavailable === 'accept' ? 'accept' : 'defer';
    }
  }

  /** Concurrent RCPTs for one address wait for the same probe. */
  #sharedProbe(key: string, recipient: RecipientToVerify, probe: Prober): Promise<ProbeAnswer> {
    const running = this.#inFlight.get(key);
    if (running !== undefined) return running;
    const started = this.#probeOnce(key, recipient, probe).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, started);
    return started;
  }

  /** One probe within probeTimeout (waiting for a slot included); valid and invalid answers are cached. */
  async #probeOnce(key: string, recipient: RecipientToVerify, probe: Prober): Promise<ProbeAnswer> {
    if (this.#closed) return { result: 'unavailable', detail: 'shutting down' };
    const { clock, settings } = this.#options;
    const controller = new AbortController();
    this.#controllers.add(controller);
    const timer = clock.setTimer(settings.probeTimeoutMs, () => controller.abort());
    const startMs = clock.now();
    let answer: ProbeAnswer;
    try {
      answer = await this.#probeInSlot(recipient, probe, controller.signal);
    } finally {
      timer.cancel();
      this.#controllers.delete(controller);
    }
    if (answer.result === 'valid' || answer.result === 'invalid') this.#cache.set(key, answer.result, answer.detail);
    this.#log.debug({ rcpt: recipient.address, result: answer.result, detail: answer.detail, durationMs: clock.now() - startMs }, 'recipient probed');
    return answer;
  }

  async #probeInSlot(recipient: RecipientToVerify, probe: Prober, signal: AbortSignal): Promise<ProbeAnswer> {
    const timedOut = (): ProbeAnswer => ({ result: 'unavailable', detail: this.#closed ? 'shutting down' : `no answer within ${this.#options.settings.probeTimeoutMs} ms` });
    if (!(await this.#slots.acquire(signal))) return timedOut();
    try {
      const answer = await probe(recipient, signal);
      return signal.aborted && answer.result === 'unavailable' ? timedOut() : answer;
    } catch (error: unknown) {
      this.#log.error({ rcpt: recipient.address, err: error }, 'recipient probe failed');
      return { result: 'unavailable', detail: `probe failed: ${errorMessage(error)}` };
    } finally {
      this.#slots.release();
    }
  }
}
