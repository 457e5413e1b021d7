// Per-key log rate limiting for lines a remote peer can trigger at will (e.g. refused handshakes):
// at most one line per key per window, the next one carrying how many were suppressed meanwhile.
//
// Invariants: memory is bounded by `maxKeys` (the keys least recently logged are forgotten first,
// losing only their pending suppressed counts); time comes from `now()` in ms, monotonic.

export interface LogLimiterOptions {
  /** At most one line per key within this many ms. */
  readonly windowMs: number;
  /** Keys remembered at once; beyond it the oldest are dropped. */
  readonly maxKeys: number;
  /** Clock in ms (default performance.now, which never jumps back). */
  readonly now?: () => number;
}

export interface LogDecision {
  /** Whether to write the line now. */
  readonly log: boolean;
  /** When `log`: events of this key dropped since its previous line (0 if none). */
  readonly suppressed: number;
}

interface KeyState {
  lastLoggedMs: number;
  suppressed: number;
}

export class LogLimiter {
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  /** Insertion order = order of the last logged line, oldest first (re-inserted on each line). */
  private readonly keys = new Map<string, KeyState>();

  constructor(options: LogLimiterOptions) {
    this.windowMs = options.windowMs;
    this.maxKeys = Math.max(1, options.maxKeys);
    this.now = options.now ?? (() => performance.now());
  }

  /** Records one event for `key` and says whether to log it. */
  admit(key: string): LogDecision {
    const t = this.now();
    const state = this.keys.get(key);
    if (state && t - state.lastLoggedMs < this.windowMs) {
      state.suppressed++;
      return { log: false, suppressed: 0 };
    }
    const suppressed = state?.suppressed ?? 0;
    this.keys.delete(key);
    this.keys.set(key, { lastLoggedMs: t, suppressed: 0 });
    for (const oldest of this.keys.keys()) {
      if (this.keys.size <= this.maxKeys) break;
      this.keys.delete(oldest);
    }
    return { log: true, suppressed };
  }

  /** Keys currently remembered (tests, diagnostics). */
  get size(): number {
    return this.keys.size;
  }
}
