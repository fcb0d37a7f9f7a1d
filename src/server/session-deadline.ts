// The inbound time limits of one session (RFC 5321 §4.5.3.2 server side):
// a command must complete within idleTimeout however slowly its bytes
// trickle in, and DATA gets idleTimeout plus one second per minDataRate
// bytes received, so a client below the minimum average rate is cut off.

import type { Clock, Timer } from '../core/clock.js';
import type { LimitsConfig } from '../config/types.js';

export type DeadlineKind = 'command' | 'data';

export class SessionDeadline {
  private timer: Timer | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly limits: Pick<LimitsConfig, 'idleTimeoutMs' | 'minDataRateBytesPerSecond'>,
    private readonly expired: (kind: DeadlineKind) => void,
  ) {}

  /** (Re)starts the per-command deadline. */
  command(): void {
    this.cancel();
    this.timer = this.clock.setTimer(this.limits.idleTimeoutMs, () => this.expired('command'));
  }

  /** (Re)starts the DATA deadline for a DATA phase that began at `startedAtMs`; checks again when it falls due. */
  data(startedAtMs: number, bytesReceived: () => number): void {
    this.cancel();
    const { idleTimeoutMs, minDataRateBytesPerSecond } = this.limits;
    const allowanceMs = minDataRateBytesPerSecond > 0 ? (bytesReceived() / minDataRateBytesPerSecond) * 1000 : Infinity;
    const remainingMs = startedAtMs + idleTimeoutMs + allowanceMs - this.clock.now();
    if (remainingMs <= 0) {
      this.expired('data');
      return;
    }
    if (Number.isFinite(remainingMs)) this.timer = this.clock.setTimer(remainingMs, () => this.data(startedAtMs, bytesReceived));
  }

  cancel(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
