// Delivers the outbox to each webhook receiver: one POST at a time per receiver,
// oldest event first (so events of a message arrive in order), signed per Standard
// Webhooks; a failure retries the same event after an exponential backoff on the
// injected clock, so a receiver down for hours gets everything when it is back.

import type { Clock, Timer } from '../core/clock.js';
import type { Logger } from '../observability/logger.js';
import type { PostEvent } from './http-post.js';
import type { EventOutbox } from './outbox.js';
import { signingKey, signPayload } from './signature.js';

export interface SenderReceiver {
  readonly url: string;
  readonly secret: string;
}

export interface SenderObserver {
  posted(result: 'success' | 'failure'): void;
}

export interface SenderOptions {
  readonly outbox: EventOutbox;
  readonly receivers: readonly SenderReceiver[];
  readonly post: PostEvent;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly observer?: SenderObserver;
  /** First retry delay, doubled at each failure up to `maxRetryDelayMs`. */
  readonly initialRetryDelayMs?: number;
  readonly maxRetryDelayMs?: number;
}

export const DEFAULT_INITIAL_RETRY_DELAY_MS = 5_000;
export const DEFAULT_MAX_RETRY_DELAY_MS = 10 * 60_000;

interface ReceiverState {
  readonly url: string;
  readonly key: Buffer;
  running: boolean;
  failures: number;
  retry: Timer | undefined;
}

export class WebhookSender {
  private readonly options: SenderOptions;
  private readonly logger: Logger;
  private readonly states: ReceiverState[];
  private unsubscribe: (() => void) | undefined;
  private stopped = false;
  private readonly loops = new Set<Promise<void>>();

  constructor(options: SenderOptions) {
    this.options = options;
    this.logger = options.logger.child({ component: 'webhooks' });
    this.states = options.receivers.map((receiver) => ({ url: receiver.url, key: signingKey(receiver.secret), running: false, failures: 0, retry: undefined }));
  }

  start(): void {
    this.unsubscribe = this.options.outbox.onAppended(() => this.wakeAll());
    this.wakeAll();
  }

  /** Stops after the POSTs under way (their events stay owed unless acknowledged). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    for (const state of this.states) state.retry?.cancel();
    await Promise.all([...this.loops]);
  }

  private wakeAll(): void {
    for (const state of this.states) if (!state.running && state.retry === undefined) this.run(state);
  }

  private run(state: ReceiverState): void {
    state.running = true;
    const loop = this.deliverOwed(state)
      .catch((error: unknown) => this.logger.error({ url: state.url, err: error }, 'webhook sender failed'))
      .finally(() => this.loops.delete(loop));
    this.loops.add(loop);
  }

  /** Until nothing is owed or a POST fails (then a retry is armed); clears `running` itself before it ends. */
  private async deliverOwed(state: ReceiverState): Promise<void> {
    const { outbox, post, clock } = this.options;
    while (!this.stopped) {
      const [event] = outbox.pendingFor(state.url, 1);
      if (event === undefined) break;
      const body = JSON.stringify(event);
      const timestamp = Math.floor(clock.now() / 1000);
      const result = await post(
        state.url,
        {
          'content-type': 'application/json',
          'webhook-id': event.id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signPayload(state.key, event.id, timestamp, body),
        },
        body,
      );
      this.options.observer?.posted(result.ok ? 'success' : 'failure');
      if (result.ok) {
        state.failures = 0;
        outbox.acknowledge(event.id, state.url);
        continue;
      }
      state.failures += 1;
      const delayMs = this.retryDelayMs(state.failures);
      this.logger.warn({ url: state.url, eventId: event.id, status: result.status, problem: result.problem, failures: state.failures, retryInMs: delayMs }, 'webhook delivery failed');
      state.running = false;
      if (this.stopped) return;
      state.retry = clock.setTimer(delayMs, () => {
        state.retry = undefined;
        if (!this.stopped && !state.running) this.run(state);
      });
      return;
    }
    state.running = false;
  }

  private retryDelayMs(failures: number): number {
    const initial = this.options.initialRetryDelayMs ?? DEFAULT_INITIAL_RETRY_DELAY_MS;
    const max = this.options.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS;
    return Math.min(max, initial * 2 ** Math.min(failures - 1, 30));
  }
}
