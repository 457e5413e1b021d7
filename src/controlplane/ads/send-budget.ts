// A server-wide bound on the bytes of large responses being written at once: when many node agents
// connect together, each full sync (the whole mesh) waits its turn instead of all sitting in memory.
//
// Rules: a response of at most `smallBytes` always goes (a change push must never queue behind full
// syncs); a large one goes when nothing large is in flight or it fits under `limitBytes`, and
// otherwise waits in FIFO order. A waiter is told when to try again; it re-plans (the cache may have
// moved on) and asks with its new size. Every grant is returned once, whatever becomes of the write.

/** Largest response that never waits, bytes (a one-pod push is about 1 KB per resource). */
export const DEFAULT_SMALL_RESPONSE_BYTES = 256 * 1024;
/** Large-response bytes written at once across all streams (about a dozen full syncs of a 10,000-pod mesh). */
export const DEFAULT_LARGE_BYTES_IN_FLIGHT = 16 * 1024 * 1024;

export interface SendBudgetOptions {
  readonly limitBytes: number;
  readonly smallBytes: number;
}

/** A granted send: returned with release() when the write completed or failed (idempotent). */
export interface SendGrant {
  readonly bytes: number;
  release(): void;
}

const FREE: SendGrant = { bytes: 0, release: () => undefined };

export class SendBudget {
  readonly #options: SendBudgetOptions;
  #inFlight = 0;
  /** Waiting for room, oldest first; each entry is called once, when it may ask again. */
  readonly #waiting: Array<{ readonly bytes: number; readonly wake: () => void }> = [];

  constructor(options: SendBudgetOptions = { limitBytes: DEFAULT_LARGE_BYTES_IN_FLIGHT, smallBytes: DEFAULT_SMALL_RESPONSE_BYTES }) {
    if (!(options.smallBytes >= 0) || !(options.limitBytes >= options.smallBytes)) {
      throw new RangeError(`send budget: need 0 <= smallBytes <= limitBytes (got ${options.smallBytes}, ${options.limitBytes})`);
    }
    this.#options = options;
  }

  /** Large-response bytes being written now. */
  get inFlightBytes(): number {
    return this.#inFlight;
  }

  /** Streams waiting for room. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * A grant for a response of `bytes`, or undefined when it must wait: then `wake` is called once,
   * later, when it may ask again. `woken`: the caller is a waiter asking again from its wake; it
   * keeps its place ahead of newcomers (put back at the front if there is still no room).
   */
  tryAcquire(bytes: number, wake: () => void, woken = false): SendGrant | undefined {
    if (bytes <= this.#options.smallBytes) return FREE;
    const fits = this.#inFlight === 0 || this.#inFlight + bytes <= this.#options.limitBytes;
    // Newcomers queue behind earlier waiters, so a stream of arrivals cannot starve them.
    if (fits && (woken || this.#waiting.length === 0)) {
      this.#inFlight += bytes;
      let released = false;
      return {
        bytes,
        release: () => {
          if (released) return;
          released = true;
          this.#inFlight -= bytes;
          this.#wakeNext();
        },
      };
    }
    const entry = { bytes, wake };
    if (woken) this.#waiting.unshift(entry);
    else this.#waiting.push(entry);
    return undefined;
  }

  /** Forgets a waiter (its stream ended): it will not be woken. */
  cancel(wake: () => void): void {
    const i = this.#waiting.findIndex((w) => w.wake === wake);
    if (i >= 0) this.#waiting.splice(i, 1);
    this.#wakeNext();
  }

  /** Wakes waiters in order while the head one fits (each asks again at once, synchronously). */
  #wakeNext(): void {
    while (this.#waiting.length > 0) {
      const head = this.#waiting[0]!;
      if (!(this.#inFlight === 0 || this.#inFlight + head.bytes <= this.#options.limitBytes)) return;
      this.#waiting.shift();
      const before = this.#waiting.length;
      head.wake();
      // The woken stream put itself back (its new plan no longer fits): stop, it keeps its place.
      if (this.#waiting.length > before) return;
    }
  }
}
