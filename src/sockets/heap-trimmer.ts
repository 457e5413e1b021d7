// HeapTrimmer: gives the C heap back to the kernel after a burst. glibc keeps freed memory in its
// arenas (bulk transfer grows the main arena's brk heap from ~4 to 35-55 MB), so RSS stays high.
//
// Every `intervalMs` (an unref'd timer) it reads the process RSS and CPU time (process.memoryUsage.rss
// and process.cpuUsage: ~10 µs, no allocator lock) and, when decideHeapTrim says so, runs the native
// malloc_trim(0) on the threadpool. Idle: no trim. malloc_trim covers every arena and cpuUsage every
// thread, so one trimmer in the main thread serves the worker threads too.

import type { Logger } from '../common/log.js';
import { decideHeapTrim, heapTrimStateAfter, type HeapTrimPolicy, type HeapTrimReason, type HeapTrimState } from './heap-trim-policy.js';
import type { HeapTrimResult } from './heap-trim.js';

export interface HeapTrimOutcome extends HeapTrimResult {
  readonly reason: HeapTrimReason;
  /** A full GC ran first (ArrayBuffer memory at or above the policy's margin). */
  readonly collected: boolean;
  /** How long that GC held the event loop, ms (0 without one). */
  readonly gcMs: number;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  /** RSS before − after, at least 0 (other threads allocate meanwhile: an estimate). */
  readonly releasedBytes: number;
}

export interface HeapTrimmerOptions {
  /** Check period, ms; 0 = off (start() arms nothing). */
  readonly intervalMs: number;
  /** When to trim (heap-trim-policy.ts; the agent's values are in config DEFAULTS). */
  readonly policy: HeapTrimPolicy;
  /** The trim itself: trimHeap(native) in production, a fake in tests. */
  readonly trim: () => Promise<HeapTrimResult>;
  /** Test seams: RSS in bytes (default process.memoryUsage.rss), process CPU in ms (default
   *  process.cpuUsage user + system), a monotonic clock in ms (default performance.now). */
  readonly rssBytes?: () => number;
  readonly cpuMs?: () => number;
  readonly nowMs?: () => number;
  /** Bytes of ArrayBuffer backing stores (default process.memoryUsage().arrayBuffers; read only when trimming). */
  readonly arrayBufferBytes?: () => number;
  /**
   * A full GC (full-gc.ts), run before a trim when ArrayBuffers hold at least the policy's margin:
   * dead Buffers' malloc'd memory is only freed by V8's major GC. Absent = never.
   */
  readonly collectGarbage?: () => void;
  readonly logger?: Logger;
  /** Called after every trim (metrics). */
  readonly onTrim?: (outcome: HeapTrimOutcome) => void;
}

export class HeapTrimmer {
  private readonly rss: () => number;
  private readonly cpu: () => number;
  private readonly now: () => number;
  private readonly arrayBuffers: () => number;
  private timer: NodeJS.Timeout | undefined;
  private state: HeapTrimState = heapTrimStateAfter(0);
  private lastCpuMs = 0;
  private lastCheckMs = 0;
  private inFlight: Promise<HeapTrimOutcome | undefined> | undefined;
  private stopped = false;
  private trimCount = 0;

  constructor(private readonly options: HeapTrimmerOptions) {
    this.rss = options.rssBytes ?? (() => process.memoryUsage.rss());
    this.cpu = options.cpuMs ?? cpuMsNow;
    this.now = options.nowMs ?? (() => performance.now());
    this.arrayBuffers = options.arrayBufferBytes ?? (() => process.memoryUsage().arrayBuffers);
  }

  /** Trims done so far. */
  get trims(): number {
    return this.trimCount;
  }

  /** Arms the timer (none when intervalMs is 0); the baseline is the RSS now, CPU counts from now. */
  start(): void {
    if (this.timer !== undefined || this.stopped) return;
    this.state = heapTrimStateAfter(this.rss());
    this.lastCpuMs = this.cpu();
    this.lastCheckMs = this.now();
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
    const cpuMs = this.cpu();
    const nowMs = this.now();
    const sample = { rssBytes: rssBeforeBytes, cpuMs: cpuMs - this.lastCpuMs, elapsedMs: nowMs - this.lastCheckMs };
    this.lastCpuMs = cpuMs;
    this.lastCheckMs = nowMs;
    const decision = decideHeapTrim(this.state, sample, this.options.policy);
    this.state = decision.state;
    if (decision.trim === undefined) return Promise.resolve(undefined);
    const run = this.trimOnce(rssBeforeBytes, decision.trim);
    this.inFlight = run;
    void run.finally(() => (this.inFlight = undefined));
    return run;
  }

  private async trimOnce(rssBeforeBytes: number, reason: HeapTrimReason): Promise<HeapTrimOutcome | undefined> {
    let result: HeapTrimResult;
    let collected = false;
    let gcMs = 0;
    try {
      // On the event loop, a pause like V8's own major GCs (README "Memory": ~10 ms); once per burst.
      if (this.options.collectGarbage !== undefined && this.arrayBuffers() >= this.options.policy.marginBytes) {
        const t0 = performance.now();
        this.options.collectGarbage();
        gcMs = performance.now() - t0;
        collected = true;
      }
      result = await this.options.trim();
    } catch (err) {
      // As if it had run: retried on the next growth or burst, not at every check.
      this.state = heapTrimStateAfter(rssBeforeBytes);
      this.options.logger?.warn({ err }, 'heap trim failed');
      return undefined;
    }
    const rssAfterBytes = this.rss();
    this.state = heapTrimStateAfter(rssAfterBytes);
    this.trimCount++;
    const outcome: HeapTrimOutcome = { ...result, reason, collected, gcMs, rssBeforeBytes, rssAfterBytes, releasedBytes: Math.max(0, rssBeforeBytes - rssAfterBytes) };
    this.options.logger?.debug(
      { reason, gcMs: Number(gcMs.toFixed(1)), rssBeforeBytes, rssAfterBytes, durationMs: Number(result.durationMs.toFixed(3)), arenaBytesBefore: result.arenaBytesBefore, freeBytesBefore: result.freeBytesBefore },
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

/** User + system CPU of the whole process (every thread), ms. */
function cpuMsNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
