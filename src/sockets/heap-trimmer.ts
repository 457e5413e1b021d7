// HeapTrimmer: gives the C heap back to the kernel after a burst. glibc keeps freed memory in its
// arenas (bulk transfer grows the main arena's brk heap from ~4 to 35-55 MB), so RSS stays high.
//
// Every `intervalMs` (an unref'd timer) it reads the process RSS (process.memoryUsage.rss(): one read
// of /proc/self/stat, no allocator lock) and, when decideHeapTrim says so, runs the native
// malloc_trim(0) on the threadpool. Idle, RSS is flat: no trim, one cheap read per interval.
// malloc_trim covers every arena, so one trimmer in the main thread serves worker threads too.

import type { Logger } from '../common/log.js';
import { decideHeapTrim } from './heap-trim-policy.js';
import type { HeapTrimResult } from './heap-trim.js';

export interface HeapTrimOutcome extends HeapTrimResult {
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  /** RSS before − after, at least 0 (other threads allocate meanwhile: an estimate). */
  readonly releasedBytes: number;
}

export interface HeapTrimmerOptions {
  /** Check period, ms; 0 = off (start() arms nothing). */
  readonly intervalMs: number;
  /** Trim when RSS grew by this much over the RSS after the last trim (README "Memory" for why). */
  readonly marginBytes: number;
  /** The trim itself: trimHeap(native) in production, a fake in tests. */
  readonly trim: () => Promise<HeapTrimResult>;
  /** RSS source, bytes; default process.memoryUsage.rss. */
  readonly rssBytes?: () => number;
  readonly logger?: Logger;
  /** Called after every trim (metrics). */
  readonly onTrim?: (outcome: HeapTrimOutcome) => void;
}

export class HeapTrimmer {
  private readonly marginBytes: number;
  private readonly rss: () => number;
  private timer: NodeJS.Timeout | undefined;
  private baselineBytes = 0;
  private inFlight: Promise<HeapTrimOutcome | undefined> | undefined;
  private stopped = false;
  private trimCount = 0;

  constructor(private readonly options: HeapTrimmerOptions) {
    this.marginBytes = options.marginBytes;
    this.rss = options.rssBytes ?? (() => process.memoryUsage.rss());
  }

  /** Trims done so far. */
  get trims(): number {
    return this.trimCount;
  }

  /** Arms the timer (none when intervalMs is 0); the baseline is the RSS now. */
  start(): void {
    if (this.timer !== undefined || this.stopped) return;
    this.baselineBytes = this.rss();
    if (this.options.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.check(), this.options.intervalMs);
    this.timer.unref();
  }

  /**
   * One policy step: reads RSS and trims when due. Resolves with the trim's outcome, or undefined
   * when none ran (not due, one already in flight, stopped). Never rejects: a failed trim is logged.
   */
  check(): Promise<HeapTrimOutcome | undefined> {
    if (this.stopped || this.inFlight !== undefined) return Promise.resolve(undefined);
    const rssBeforeBytes = this.rss();
    const decision = decideHeapTrim(rssBeforeBytes, this.baselineBytes, this.marginBytes);
    this.baselineBytes = decision.baselineBytes;
    if (!decision.trim) return Promise.resolve(undefined);
    const run = this.trimOnce(rssBeforeBytes);
    this.inFlight = run;
    void run.finally(() => (this.inFlight = undefined));
    return run;
  }

  private async trimOnce(rssBeforeBytes: number): Promise<HeapTrimOutcome | undefined> {
    let result: HeapTrimResult;
    try {
      result = await this.options.trim();
    } catch (err) {
      // Keep the baseline where it was plus the margin's worth of growth: retried at the next
      // margin of growth, not every tick.
      this.baselineBytes = rssBeforeBytes;
      this.options.logger?.warn({ err }, 'heap trim failed');
      return undefined;
    }
    const rssAfterBytes = this.rss();
    this.baselineBytes = rssAfterBytes;
    this.trimCount++;
    const outcome: HeapTrimOutcome = { ...result, rssBeforeBytes, rssAfterBytes, releasedBytes: Math.max(0, rssBeforeBytes - rssAfterBytes) };
    this.options.logger?.debug(
      { rssBeforeBytes, rssAfterBytes, durationMs: Number(result.durationMs.toFixed(3)), arenaBytesBefore: result.arenaBytesBefore, freeBytesBefore: result.freeBytesBefore },
      'heap trimmed',
    );
    this.options.onTrim?.(outcome);
    return outcome;
  }

  /** Stops the timer and waits for a trim in flight (it cannot be cancelled; it takes milliseconds). */
  async close(): Promise<void> {
    this.destroy();
    await this.inFlight;
  }

  /** Stops the timer now; a trim in flight finishes on its own and changes nothing. */
  destroy(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
