// When the heap trimmer gives memory back: the pure rule, separate from timers and the addon so it
// can be tested as a table. Input is the process RSS only (cheap: no allocator walk, no lock).
//
// Rule: trim when RSS has grown by at least `marginBytes` over the baseline, the RSS right after the
// last trim (or at start). Otherwise the baseline follows RSS down (V8 or the kernel gave memory
// back on its own), so the next growth is measured from the low point. After a trim the baseline is
// the RSS then, whatever the trim released: growth that was live memory (more connections, a bigger
// V8 heap) is not trimmed again until RSS grows by another margin. Idle, RSS stays flat: no trims.

export interface HeapTrimDecision {
  readonly trim: boolean;
  /** The baseline to keep when not trimming (a trim sets it from the RSS measured after it). */
  readonly baselineBytes: number;
}

/** One policy step: `rssBytes` now against `baselineBytes`. */
export function decideHeapTrim(rssBytes: number, baselineBytes: number, marginBytes: number): HeapTrimDecision {
  if (rssBytes - baselineBytes >= marginBytes) return { trim: true, baselineBytes };
  return { trim: false, baselineBytes: Math.min(baselineBytes, rssBytes) };
}
