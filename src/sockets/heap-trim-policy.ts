// When the heap trimmer gives memory back: the pure rule, separate from timers and the addon so it
// can be tested as a table. Inputs are cheap process figures: RSS and CPU time (no allocator walk).
//
// A trim runs only in a quiet interval, i.e. once a burst is over: CPU in the interval below
// `quietCpuFraction` of a core, or below `dropRatio` times the average CPU rate since the last trim
// (the load fell: a burst gave way to steady traffic). During a burst the arenas' free memory is
// reused at once, so trimming then only costs (page faults to get it back). Quiet, it trims when
//  - the process used at least `activityCpuMs` of CPU since the last trim: a burst frees its
//    buffers into glibc's arenas without RSS changing at all, so RSS alone cannot see them; or
//  - RSS is at least `marginBytes` above the baseline (RSS right after the last trim, following RSS
//    down otherwise): growth without much CPU.
// Idle, neither holds: no trims. Why these numbers: README "Memory" (a trim stalls the main arena's
// users for its duration, ~0.1 ms per MB given back; a check costs ~10 µs).

export interface HeapTrimPolicy {
  readonly marginBytes: number;
  readonly activityCpuMs: number;
  /** Of one core, 0..1. */
  readonly quietCpuFraction: number;
  /** 0..1: an interval below this share of the average CPU rate since the last trim is quiet. */
  readonly dropRatio: number;
}

export interface HeapTrimState {
  /** RSS after the last trim (or at start), lowered when RSS falls below it, bytes. */
  readonly baselineBytes: number;
  /** Process CPU (all threads) since the last trim, ms. */
  readonly cpuSinceTrimMs: number;
  /** Wall time since the last trim, ms. */
  readonly msSinceTrim: number;
}

/** One check's measurements. */
export interface HeapTrimSample {
  readonly rssBytes: number;
  /** Process CPU used since the previous check, ms. */
  readonly cpuMs: number;
  /** Wall time since the previous check, ms. */
  readonly elapsedMs: number;
}

export type HeapTrimReason = 'growth' | 'after-activity';

export interface HeapTrimDecision {
  /** Why to trim now; undefined = no trim. */
  readonly trim: HeapTrimReason | undefined;
  /** The state to keep (after a trim the caller resets it with heapTrimStateAfter). */
  readonly state: HeapTrimState;
}

/** One policy step. */
export function decideHeapTrim(state: HeapTrimState, sample: HeapTrimSample, policy: HeapTrimPolicy): HeapTrimDecision {
  const averageRate = state.msSinceTrim > 0 ? state.cpuSinceTrimMs / state.msSinceTrim : 0;
  const quietBelowMs = Math.max(policy.quietCpuFraction, policy.dropRatio * averageRate) * sample.elapsedMs;
  const quiet = sample.cpuMs < quietBelowMs;
  const cpuSinceTrimMs = state.cpuSinceTrimMs + sample.cpuMs;
  const trim: HeapTrimReason | undefined = !quiet
    ? undefined
    : cpuSinceTrimMs >= policy.activityCpuMs
      ? 'after-activity'
      : sample.rssBytes - state.baselineBytes >= policy.marginBytes
        ? 'growth'
        : undefined;
  const baselineBytes = trim === undefined ? Math.min(state.baselineBytes, sample.rssBytes) : state.baselineBytes;
  return { trim, state: { baselineBytes, cpuSinceTrimMs, msSinceTrim: state.msSinceTrim + sample.elapsedMs } };
}

/** The state right after a trim (or at start): the baseline is the RSS then, CPU and time count from zero. */
export function heapTrimStateAfter(rssAfterBytes: number): HeapTrimState {
  return { baselineBytes: rssAfterBytes, cpuSinceTrimMs: 0, msSinceTrim: 0 };
}
