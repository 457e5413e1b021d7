// When the heap trimmer gives memory back: the pure rule, separate from timers and the addon so it
// can be tested as a table. Inputs are cheap process figures: RSS and CPU time (no allocator walk).
//
// Two triggers, checked once per interval:
//  - growth: RSS is at least `marginBytes` above the baseline (the RSS right after the last trim;
//    otherwise it follows RSS down). Bounds what a long burst can pile up.
//  - after activity: the process used at least `activityCpuMs` of CPU since the last trim and this
//    interval was quiet (CPU below `quietCpuFraction` of one core). A burst frees its buffers into
//    glibc's arenas without RSS changing at all, so RSS alone cannot see them; the CPU the burst
//    took can. One trim once the burst is over, none while idle, none during steady load.
// Why these and not a fixed period: README "Memory" (a trim stalls the main arena's users for its
// duration, ~0.1 ms per MB given back; an idle check costs ~10 µs).

export interface HeapTrimPolicy {
  readonly marginBytes: number;
  readonly activityCpuMs: number;
  /** Of one core, 0..1. */
  readonly quietCpuFraction: number;
}

export interface HeapTrimState {
  /** RSS after the last trim (or at start), lowered when RSS falls below it, bytes. */
  readonly baselineBytes: number;
  /** Process CPU (all threads) since the last trim, ms. */
  readonly cpuSinceTrimMs: number;
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
  const cpuSinceTrimMs = state.cpuSinceTrimMs + sample.cpuMs;
  const quiet = sample.cpuMs < policy.quietCpuFraction * sample.elapsedMs;
  const trim: HeapTrimReason | undefined =
    sample.rssBytes - state.baselineBytes >= policy.marginBytes ? 'growth' : quiet && cpuSinceTrimMs >= policy.activityCpuMs ? 'after-activity' : undefined;
  const baselineBytes = trim === undefined ? Math.min(state.baselineBytes, sample.rssBytes) : state.baselineBytes;
  return { trim, state: { baselineBytes, cpuSinceTrimMs } };
}

/** The state right after a trim: the baseline is the RSS then, CPU counts from zero. */
export function heapTrimStateAfter(rssAfterBytes: number): HeapTrimState {
  return { baselineBytes: rssAfterBytes, cpuSinceTrimMs: 0 };
}
