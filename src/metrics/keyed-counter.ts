// A Prometheus counter whose series are addressed by a key the caller computes once per label set
// (per connection), registered on a prom-client Registry next to prom-client's own metrics.

import type { Metric, Registry } from 'prom-client';

/*
 * Why not prom-client's Counter for the per-connection traffic metrics: every inc(labels) re-sorts,
 * re-validates and re-hashes all 27 label values, ~4 µs a call and six calls per connection — about
 * 8% of an agent's CPU per new connection. Here the caller builds the key once (seriesKey) and each
 * inc is a Map lookup. The exposition format is unchanged: the Registry renders whatever get()
 * returns, exactly as for its own counters.
 */

type Labels = Readonly<Record<string, string>>;

/** What prom-client's Registry reads from a metric's get() (its typings declare `type` an enum; at run time it is the text). */
export interface CounterSnapshot {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter';
  readonly aggregator: 'sum';
  readonly values: Array<{ value: number; labels: Record<string, string> }>;
}

/**
 * One series. Handles are shared: every connection with the same label set gets the same object, so
 * a connection keeps a reference, not its own copy of the key and the 27 labels.
 */
export interface Series {
  /** The canonical key (seriesKey of labels), shared by every holder of this handle. */
  readonly key: string;
  readonly labels: Labels;
  value: number;
}

export interface KeyedCounterOptions {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly registers: readonly Registry[];
  /** Runs before every read (scrape), e.g. to fold in live values kept elsewhere. */
  readonly collect?: () => void;
}

/**
 * Unique per label set for a fixed label-name order. Each value is length-prefixed, so no value
 * (a peer's SPIFFE ID included, whatever bytes it holds) can make two label sets share a key.
 */
export function seriesKey(labelNames: readonly string[], labels: Labels): string {
  let key = '';
  for (const name of labelNames) {
    const v = labels[name] ?? '';
    key += `${v.length}:${v}`;
  }
  return key;
}

export class KeyedCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  private readonly seriesByKey = new Map<string, Series>();
  private readonly onCollect: (() => void) | undefined;

  constructor(options: KeyedCounterOptions) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames;
    this.onCollect = options.collect;
    // The Registry only reads name/type/help and calls get()/reset(); its types list prom-client's
    // own classes, hence the cast.
    for (const r of options.registers) r.registerMetric(this as unknown as Metric);
  }

  /**
   * The series for `key`, created at 0 if new. `labels` is stored on creation and must be the label
   * set `key` was computed from (seriesKey with this counter's labelNames); it must not change later.
   */
  series(key: string, labels: Labels): Series {
    let s = this.seriesByKey.get(key);
    if (s === undefined) {
      s = { key, labels, value: 0 };
      this.seriesByKey.set(key, s);
    }
    return s;
  }

  /** Adds `n` (>= 0) to the series `key` (see series()). */
  inc(key: string, labels: Labels, n: number): void {
    this.series(key, labels).value += n;
  }

  /** Current value of a series (0 if absent); for tests and diagnostics. */
  value(key: string): number {
    return this.seriesByKey.get(key)?.value ?? 0;
  }

  async get(): Promise<CounterSnapshot> {
    this.onCollect?.();
    const values: CounterSnapshot['values'] = [];
    for (const s of this.seriesByKey.values()) values.push({ value: s.value, labels: { ...s.labels } });
    return { name: this.name, help: this.help, type: 'counter', values, aggregator: 'sum' };
  }

  /** Zeroes every series; handles stay valid (holders keep counting into them). */
  reset(): void {
    for (const s of this.seriesByKey.values()) s.value = 0;
  }
}
