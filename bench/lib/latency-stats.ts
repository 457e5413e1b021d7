// Latency summaries: min / p50 / p90 / p99 / max / mean of a sample set, nearest-rank percentiles.
// Samples are microseconds (the generators' resolution); summaries are milliseconds (the report's unit).

export interface LatencySummary {
  /** Number of samples summarized. */
  readonly count: number;
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank percentile (p in 0..100) of an ascending-sorted array; NaN when empty. */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Summarizes samples given in microseconds into milliseconds (rounded to the microsecond). */
export function summarizeMicros(samplesUs: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(samplesUs).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const ms = (us: number): number => (Number.isNaN(us) ? NaN : Math.round(us) / 1000);
  return {
    count: sorted.length,
    min: ms(sorted.length ? sorted[0]! : NaN),
    p50: ms(percentileOfSorted(sorted, 50)),
    p90: ms(percentileOfSorted(sorted, 90)),
    p99: ms(percentileOfSorted(sorted, 99)),
    max: ms(sorted.length ? sorted[sorted.length - 1]! : NaN),
    mean: ms(sorted.length ? sum / sorted.length : NaN),
  };
}
