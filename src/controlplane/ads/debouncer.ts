// Push debouncing as istiod does it (pilot/pkg/xds/discovery.go `debounce`, PILOT_DEBOUNCE_AFTER /
// PILOT_DEBOUNCE_MAX): changes are merged until a quiet period passes, but never held past a max delay.

/** Debounce timing, ms. */
export interface DebounceOptions {
  /** Quiet period after the last change before a push (istiod: 100 ms). */
  readonly quietMs: number;
  /** Longest a change waits, counted from the first change of the batch (istiod: 10 s). */
  readonly maxDelayMs: number;
}

export const DEFAULT_DEBOUNCE: DebounceOptions = { quietMs: 100, maxDelayMs: 10_000 };

/** Merges items (type URLs) added in bursts and hands each batch to `flush` once. */
export class Debouncer<T> {
  readonly #options: DebounceOptions;
  readonly #flush: (batch: ReadonlySet<T>) => void;
  #batch = new Set<T>();
  /** performance.now() of the batch's first add. */
  #firstAt = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: DebounceOptions, flush: (batch: ReadonlySet<T>) => void) {
    if (!(options.quietMs >= 0) || !(options.maxDelayMs >= options.quietMs)) {
      throw new RangeError(`debounce: need 0 <= quietMs <= maxDelayMs (got ${options.quietMs}, ${options.maxDelayMs})`);
    }
    this.#options = options;
    this.#flush = flush;
  }

  /** Number of items waiting. */
  get size(): number {
    return this.#batch.size;
  }

  add(items: Iterable<T>): void {
    const now = performance.now();
    if (this.#batch.size === 0) this.#firstAt = now;
    for (const item of items) this.#batch.add(item);
    if (this.#batch.size === 0) return;
    // Re-arm: fire after the quiet period, but no later than firstAt + maxDelay.
    const due = Math.min(now + this.#options.quietMs, this.#firstAt + this.#options.maxDelayMs);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.flushNow(), Math.max(0, due - now));
  }

  /** Hands the waiting batch over now (nothing happens if it is empty). */
  flushNow(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#batch.size === 0) return;
    const batch = this.#batch;
    this.#batch = new Set();
    this.#flush(batch);
  }

  /** Drops the waiting batch. */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#batch = new Set();
  }
}
