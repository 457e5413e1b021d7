// The CPUs this process may really use: the affinity set (os.availableParallelism) capped by the
// tightest CPU quota of its cgroup and every ancestor (cgroup v2 cpu.max, v1 cpu.cfs_quota_us).

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

/** Where the budget came from, for the start-up log and /config_dump. */
export interface CpuBudget {
  /** Whole CPUs available: min(affinity, quota) rounded down, never below 1. */
  readonly cpus: number;
  /** CPUs in the affinity set (os.availableParallelism; a cgroup quota is not part of it). */
  readonly affinity: number;
  /** The tightest cgroup quota found, in CPUs (fractional: 1.5 = 150 ms per 100 ms), and its file. */
  readonly quota?: { readonly cpus: number; readonly file: string };
}

/** Test seam: a directory standing for `/` (holding proc/self/cgroup and sys/fs/cgroup), and the affinity. */
export interface CpuBudgetSources {
  readonly root?: string;
  readonly affinity?: number;
}

/**
 * cgroup v2 `cpu.max`: "$MAX $PERIOD" (µs), MAX "max" = unlimited (kernel
 * Documentation/admin-guide/cgroup-v2.rst, "cpu.max"). → CPUs (Infinity = unlimited), undefined when malformed.
 */
export function parseCpuMax(text: string): number | undefined {
  const m = /^\s*(max|\d+)(?:\s+(\d+))?\s*$/.exec(text);
  if (m === null) return undefined;
  if (m[1] === 'max') return Infinity;
  // The period is optional on write; the kernel always prints it (default 100000 µs).
  const period = m[2] === undefined ? 100_000 : Number(m[2]);
  const quota = Number(m[1]);
  return period > 0 && quota > 0 ? quota / period : undefined;
}

/** cgroup v1 CFS: quota -1 = unlimited (kernel Documentation/scheduler/sched-bwc.rst). → CPUs, Infinity, or undefined. */
export function parseCfsQuota(quotaText: string, periodText: string): number | undefined {
  const quota = Number(quotaText.trim());
  const period = Number(periodText.trim());
  if (quotaText.trim() === '' || !Number.isInteger(quota)) return undefined;
  if (quota < 0) return Infinity;
  return Number.isInteger(period) && period > 0 && quota > 0 ? quota / period : undefined;
}

/** One line of /proc/self/cgroup: "hierarchy-ID:controller-list:cgroup-path" (proc(5)). */
interface CgroupLine {
  readonly hierarchy: string;
  readonly controllers: readonly string[];
  readonly path: string;
}

function parseProcCgroup(text: string): CgroupLine[] {
  const out: CgroupLine[] = [];
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const path = line.slice(second + 1);
    if (!path.startsWith('/')) continue;
    const list = line.slice(first + 1, second);
    out.push({ hierarchy: line.slice(0, first), controllers: list === '' ? [] : list.split(','), path });
  }
  return out;
}

/** `/a/b/c` → [`/a/b/c`, `/a/b`, `/a`, `/`]; a path escaping the mount ("..", cgroup namespaces) is cut. */
function selfAndAncestors(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.' && p !== '..');
  const out: string[] = [];
  for (let n = parts.length; n >= 0; n--) out.push('/' + parts.slice(0, n).join('/'));
  return out;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined; // absent (no limit at this level, or not this layout): not an error
  }
}

interface Limit {
  readonly cpus: number;
  readonly file: string;
}

/** Keeps the tighter of two limits (a finite quota beats none). */
function tighter(a: Limit | undefined, b: Limit | undefined): Limit | undefined {
  if (b === undefined || !Number.isFinite(b.cpus)) return a;
  return a === undefined || b.cpus < a.cpus ? b : a;
}

/**
 * The tightest quota over the process's cgroup and its ancestors. The process's path may not exist
 * under the mount (a container that sees its own cgroup at the mount root while /proc/self/cgroup
 * names the host path): those levels are absent and the walk reaches the mount root, which is then
 * the container's own cgroup. Malformed files are skipped: a budget is a hint, never a failure.
 */
function cgroupQuota(root: string): Limit | undefined {
  const text = readText(join(root, 'proc/self/cgroup'));
  if (text === undefined) return undefined;
  const fsRoot = join(root, 'sys/fs/cgroup');
  let best: Limit | undefined;
  for (const line of parseProcCgroup(text)) {
    if (line.hierarchy === '0' && line.controllers.length === 0) {
      // v2: mounted at /sys/fs/cgroup (unified), or at /sys/fs/cgroup/unified (hybrid; no cpu there then).
      for (const mount of [fsRoot, join(fsRoot, 'unified')]) {
        for (const dir of selfAndAncestors(line.path)) {
          const file = join(mount, dir, 'cpu.max');
          const body = readText(file);
          const cpus = body === undefined ? undefined : parseCpuMax(body);
          if (cpus !== undefined) best = tighter(best, { cpus, file });
        }
      }
    } else if (line.controllers.includes('cpu')) {
      // v1: the cpu hierarchy is mounted under its controller list ("cpu,cpuacct") or plain "cpu".
      const mounts = [...new Set([join(fsRoot, line.controllers.join(',')), join(fsRoot, 'cpu')])];
      for (const mount of mounts) {
        for (const dir of selfAndAncestors(line.path)) {
          const quotaFile = join(mount, dir, 'cpu.cfs_quota_us');
          const quota = readText(quotaFile);
          const period = quota === undefined ? undefined : readText(join(mount, dir, 'cpu.cfs_period_us'));
          const cpus = quota === undefined || period === undefined ? undefined : parseCfsQuota(quota, period);
          if (cpus !== undefined) best = tighter(best, { cpus, file: quotaFile });
        }
      }
    }
  }
  return best;
}

/** Reads the budget now (a few small files under /proc and /sys; absent files mean no limit). */
export function readCpuBudget(sources: CpuBudgetSources = {}): CpuBudget {
  const affinity = Math.max(1, Math.floor(sources.affinity ?? availableParallelism()));
  const quota = cgroupQuota(sources.root ?? '/');
  const cpus = Math.max(1, Math.floor(Math.min(affinity, quota?.cpus ?? Infinity)));
  return quota === undefined ? { cpus, affinity } : { cpus, affinity, quota: { cpus: quota.cpus, file: quota.file } };
}

/** "8 CPUs (affinity)", "2 CPUs (cgroup quota 2.5 CPUs in /sys/fs/cgroup/cpu.max; affinity 8)". */
export function describeCpuBudget(budget: CpuBudget): string {
  const n = `${budget.cpus} CPU${budget.cpus === 1 ? '' : 's'}`;
  if (budget.quota === undefined || budget.quota.cpus >= budget.affinity) return `${n} (affinity set)`;
  return `${n} (cgroup quota ${Number(budget.quota.cpus.toFixed(3))} CPUs in ${budget.quota.file}; affinity ${budget.affinity})`;
}
