// CPU seconds and memory of a process from /proc: utime+stime (in CLK_TCK ticks) from /proc/<pid>/stat,
// VmRSS / VmHWM from /proc/<pid>/status, and a sampler for CPU used and peak RSS over an interval.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { MeshError } from '../../src/common/errors.js';

let clkTck: number | undefined;

/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`, 100 on Linux; cached). */
export function clockTicksPerSecond(): number {
  if (clkTck === undefined) {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    if (!(n > 0)) throw new MeshError('BENCH_TOOL', 'getconf CLK_TCK returned no number');
    clkTck = n;
  }
  return clkTck;
}

/** User + system CPU seconds the process (all its threads) has used so far. */
export function readCpuSeconds(pid: number): number {
  const stat = readProc(pid, 'stat');
  // comm (field 2) may contain spaces and parentheses: fields are counted after the LAST ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After comm, index 0 is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new MeshError('BENCH_TOOL', `unparsable /proc/${pid}/stat`);
  return (utime + stime) / clockTicksPerSecond();
}

export interface MemoryStats {
  /** Resident set size now, bytes. */
  readonly rssBytes: number;
  /** Peak RSS ("high water mark") since start or since the last resetPeakRss, bytes. */
  readonly peakRssBytes: number;
}

/** VmRSS and VmHWM of the process. */
export function readMemory(pid: number): MemoryStats {
  const status = readProc(pid, 'status');
  const kb = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (m === null) throw new MeshError('BENCH_TOOL', `/proc/${pid}/status has no ${name} (a zombie?)`);
    return Number(m[1]) * 1024;
  };
  return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}

/**
 * Resets the kernel's peak-RSS mark (VmHWM) to the current RSS by writing 5 to clear_refs (Linux
 * ≥ 4.0; needs to be the process owner or root). Returns false when not permitted.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export interface ProcessUsage {
  readonly pid: number;
  readonly wallSeconds: number;
  /** CPU seconds used during the interval. */
  readonly cpuSeconds: number;
  /** cpuSeconds / wallSeconds: vCPUs used on average. */
  readonly cpuCores: number;
  /**
   * Peak RSS during the interval, bytes: the kernel's VmHWM when it could be reset at the start
   * (exact), else the highest sampled VmRSS (a lower bound between samples).
   */
  readonly peakRssBytes: number;
  readonly peakExact: boolean;
  readonly rssStartBytes: number;
  readonly rssEndBytes: number;
  readonly samples: number;
}

/** Samples one process over an interval: start() ... stop() → usage during the interval. */
export class ProcessSampler {
  private timer: NodeJS.Timeout | null = null;
  private t0 = 0n;
  private cpu0 = 0;
  private rss0 = 0;
  private maxRss = 0;
  private samples = 0;
  private hwmReset = false;

  constructor(
    readonly pid: number,
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    this.hwmReset = resetPeakRss(this.pid);
    this.t0 = process.hrtime.bigint();
    this.cpu0 = readCpuSeconds(this.pid);
    this.rss0 = readMemory(this.pid).rssBytes;
    this.maxRss = this.rss0;
    this.samples = 1;
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    try {
      this.maxRss = Math.max(this.maxRss, readMemory(this.pid).rssBytes);
      this.samples++;
    } catch {
      // The process exited: stop() reports what was seen.
    }
  }

  /** Ends the interval (the process must still be alive). */
  stop(): ProcessUsage {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    const wallSeconds = Number(process.hrtime.bigint() - this.t0) / 1e9;
    const cpuSeconds = readCpuSeconds(this.pid) - this.cpu0;
    const mem = readMemory(this.pid);
    return {
      pid: this.pid,
      wallSeconds,
      cpuSeconds,
      cpuCores: wallSeconds > 0 ? cpuSeconds / wallSeconds : 0,
      peakRssBytes: this.hwmReset ? Math.max(mem.peakRssBytes, this.maxRss) : this.maxRss,
      peakExact: this.hwmReset,
      rssStartBytes: this.rss0,
      rssEndBytes: mem.rssBytes,
      samples: this.samples,
    };
  }
}

/** Runs `work` while sampling `pid`; returns both results. */
export async function measureProcess<T>(pid: number, work: () => Promise<T>, intervalMs = 100): Promise<{ result: T; usage: ProcessUsage }> {
  const sampler = new ProcessSampler(pid, intervalMs);
  sampler.start();
  try {
    const result = await work();
    return { result, usage: sampler.stop() };
  } catch (e) {
    try {
      sampler.stop();
    } catch {
      // the process is gone; the work's error is the one to report
    }
    throw e;
  }
}

function readProc(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch (e) {
    throw new MeshError('BENCH_TOOL', `cannot read /proc/${pid}/${file} (process gone?)`, { cause: e });
  }
}
