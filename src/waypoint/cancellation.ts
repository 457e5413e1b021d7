// A request's cancellation (client gone, route timeout, per-try timeout) without AbortController:
// the same shape the request path uses of it, at a fraction of the cost per request.

/**
 * What the request path reads of a cancellation: AbortSignal's `aborted` and its 'abort' listeners,
 * so a real AbortSignal is accepted wherever this is (tests, callers outside the request path).
 */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * AbortController's contract as the request path uses it: `abort()` once; listeners run in the
 * order added, each once; adding one already there does nothing; one removed before its turn
 * (even by an earlier listener of the same abort) does not run; one added after the abort never
 * runs (AbortSignal, an EventTarget, behaves the same). Node's AbortController makes an EventTarget
 * per signal and goes through its generic dispatch for every listener: with three per request
 * (client gone, whole transaction, one attempt) that was about 6% of the waypoint's CPU at 1000
 * req/s (README, Performance). No event object, no reason, no `throwIfAborted`: nothing on the
 * request path reads them.
 */
export class Cancellation implements CancelSignal {
  private state = false;
  /** In order added; a slot emptied during dispatch is skipped. */
  private listeners: Array<(() => void) | undefined> | undefined;
  private dispatching = false;

  get aborted(): boolean {
    return this.state;
  }

  /** AbortController compatibility: the controller is its own signal. */
  get signal(): CancelSignal {
    return this;
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.state) return;
    const l = (this.listeners ??= []);
    if (!l.includes(listener)) l.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const l = this.listeners;
    if (!l) return;
    const i = l.indexOf(listener);
    if (i < 0) return;
    if (this.dispatching) l[i] = undefined;
    else l.splice(i, 1);
  }

  abort(): void {
    if (this.state) return;
    this.state = true;
    const l = this.listeners;
    if (!l) return;
    this.dispatching = true;
    try {
      for (let i = 0; i < l.length; i++) {
        const fn = l[i];
        if (fn === undefined) continue;
        l[i] = undefined;
        fn();
      }
    } finally {
      this.dispatching = false;
      this.listeners = undefined;
    }
  }
}
