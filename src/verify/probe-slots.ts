// A cap on probes at once: a probe takes a slot before it connects and gives
// it back when done; when all are taken it waits in line until one frees or
// its signal aborts.

export class ProbeSlots {
  readonly #max: number;
  #taken = 0;
  readonly #waiting: { readonly grant: () => void }[] = [];

  constructor(max: number) {
    this.#max = max;
  }

  get taken(): number {
    return this.#taken;
  }

  /** Resolves true with a slot, or false when `signal` aborts first (no slot held). */
  acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.#taken < this.#max) {
      this.#taken += 1;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const waiter = {
        grant: (): void => {
          signal.removeEventListener('abort', onAbort);
          resolve(true);
        },
      };
      const onAbort = (): void => {
        const index = this.#waiting.indexOf(waiter);
        if (index !== -1) this.#waiting.splice(index, 1);
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  /** Gives a slot back: the next in line takes it over. */
  release(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next.grant();
    else this.#taken = Math.max(0, this.#taken - 1);
  }
}
