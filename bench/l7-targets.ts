// The waypoint's (L7) targets, checked against whatever paths a run measured: keep-alive req/s vs
// nginx, latency added over Ambit L4 at 1000 req/s, the L7 proxy's vCPU and RSS per 1000 req/s.

import { formatValue, type Measurement } from './lib/index.js';
import { L7_PROXY_ROLE } from './paths/index.js';

/** The targets for the waypoint. */
export const L7_TARGETS = {
  /** Waypoint keep-alive requests/s ≥ this × nginx's, same run. */
  rpsVsNginx: 0.5,
  /** The fixed request rate the latency and resource targets are stated at, req/s. */
  atRate: 1000,
  /** p50 / p99 added over the L4-only path (ambit) at atRate, ms. */
  addedP50Ms: 0.5,
  addedP99Ms: 2,
  /** The L7 proxy process per 1000 req/s: vCPU, and MB of RSS. */
  vcpuPer1k: 0.25,
  rssMbPer1k: 80,
} as const;

/** Paths named `waypoint` or `waypoint-…` are the L7 subjects; `nginx` is the L7 reference. */
export const isWaypointPath = (name: string): boolean => /^waypoint(-|$)/.test(name);
export const NGINX_PATH = 'nginx';

export type TargetStatus = 'met' | 'missed' | 'not measured';

export interface L7TargetCheck {
  readonly subject: string;
  readonly id: 'rps-vs-nginx' | 'added-p50' | 'added-p99' | 'vcpu-per-1k' | 'rss-per-1k';
  /** The target in words, e.g. `keep-alive req/s ≥ 0.5× nginx`. */
  readonly target: string;
  /** The measured figure in `unit` (a ratio for rps-vs-nginx), null when not measured. */
  readonly value: number | null;
  readonly unit: string;
  readonly limit: number;
  readonly status: TargetStatus;
  /** Which figures it came from, or why it could not be measured. */
  readonly detail: string;
}

export interface L7TargetReport {
  /** The waypoint paths of the run (empty: `waypoint: not in this run`). */
  readonly subjects: readonly string[];
  /** The L7 reference and the L4-only path of the run, null when absent. */
  readonly nginx: string | null;
  readonly l4: string | null;
  /** The targets in absolute figures of this run's references (e.g. `≥ 6,000 req/s`), in words. */
  readonly references: readonly string[];
  readonly checks: readonly L7TargetCheck[];
}

/** The L4-only path a waypoint path is compared with: `ambit-wN` for `waypoint-wN` if present, else `ambit`, else the first `ambit-…`. */
export function l4PathFor(subject: string | null, paths: readonly string[]): string | null {
  const suffix = subject === null ? '' : subject.replace(/^waypoint/, '');
  if (suffix !== '' && paths.includes(`ambit${suffix}`)) return `ambit${suffix}`;
  if (paths.includes('ambit')) return 'ambit';
  return paths.find((p) => /^ambit-/.test(p)) ?? null;
}

function figure(ms: readonly Measurement[], id: string, path: string | null): number | null {
  if (path === null) return null;
  const v = ms.find((m) => m.id === id)?.values[path];
  return v === undefined || v === null || !Number.isFinite(v) ? null : v;
}

const status = (value: number | null, ok: (v: number) => boolean): TargetStatus => (value === null ? 'not measured' : ok(value) ? 'met' : 'missed');

/** Evaluates every L7 target for every waypoint path among `paths`, from the run's table rows. */
export function checkL7Targets(ms: readonly Measurement[], paths: readonly string[]): L7TargetReport {
  const T = L7_TARGETS;
  const nginx = paths.includes(NGINX_PATH) ? NGINX_PATH : null;
  const subjects = paths.filter(isWaypointPath);
  const l4 = l4PathFor(subjects[0] ?? null, paths);
  const lat = (q: 'p50' | 'p99', p: string | null): number | null => figure(ms, `latency.${T.atRate}.${q}`, p);

  const references: string[] = [];
  const nginxRps = figure(ms, 'rps.requestsPerSecond', nginx);
  if (nginxRps !== null) references.push(`nginx ${formatValue(nginxRps)} keep-alive req/s → waypoint ≥ ${formatValue(nginxRps * T.rpsVsNginx)} req/s`);
  const [l4p50, l4p99] = [lat('p50', l4), lat('p99', l4)];
  if (l4p50 !== null && l4p99 !== null) {
    references.push(
      `${l4} (L4 only) p50 ${formatValue(l4p50)} ms, p99 ${formatValue(l4p99)} ms @ ${T.atRate} req/s → waypoint p50 ≤ ${formatValue(l4p50 + T.addedP50Ms)} ms, p99 ≤ ${formatValue(l4p99 + T.addedP99Ms)} ms`,
    );
  }

  // The waypoint path contains the L4 path (client agent → … → server agent), so it can make no
  // more requests/s than the L4 path does: when that alone is under the target, say so with figures.
  const l4Bound = (ref: string | null, nginxReqs: number): string => {
    const l4Rps = figure(ms, 'rps.requestsPerSecond', ref);
    if (l4Rps === null || nginxReqs <= 0 || l4Rps / nginxReqs >= T.rpsVsNginx) return '';
    return `; bound: the L4-only path it contains makes ${(l4Rps / nginxReqs).toFixed(2)}× nginx (${formatValue(l4Rps)} req/s) by itself`;
  };
  const checks: L7TargetCheck[] = [];
  for (const w of subjects) {
    const ref = l4PathFor(w, paths);
    const rps = figure(ms, 'rps.requestsPerSecond', w);
    const ratio = rps !== null && nginxRps !== null && nginxRps > 0 ? rps / nginxRps : null;
    checks.push({
      subject: w,
      id: 'rps-vs-nginx',
      target: `keep-alive req/s ≥ ${T.rpsVsNginx}× nginx`,
      value: ratio,
      unit: '× nginx',
      limit: T.rpsVsNginx,
      status: status(ratio, (v) => v >= T.rpsVsNginx),
      detail: ratio !== null ? `${formatValue(rps)} / ${formatValue(nginxRps)} req/s${l4Bound(ref, nginxRps!)}` : nginx === null ? 'nginx not in this run' : 'no keep-alive req/s figure (http-rps suite not run or failed)',
    });
    for (const [q, limit] of [['p50', T.addedP50Ms], ['p99', T.addedP99Ms]] as const) {
      const [a, b] = [lat(q, w), lat(q, ref)];
      const added = a !== null && b !== null ? a - b : null;
      checks.push({
        subject: w,
        id: q === 'p50' ? 'added-p50' : 'added-p99',
        target: `added ${q} ≤ ${limit} ms @ ${T.atRate} req/s over ${ref ?? 'ambit (L4)'}`,
        value: added,
        unit: 'ms',
        limit,
        status: status(added, (v) => v <= limit),
        detail: added !== null ? `${formatValue(a)} − ${formatValue(b)} ms` : ref === null ? 'no ambit (L4-only) path in this run' : `no latency @ ${T.atRate} req/s on both paths`,
      });
    }
    // Resources: the L7 proxy process alone (the agents are the L4 path's cost), at the fixed rate
    // of the target when the run has it (MB at 1000 req/s is MB per 1000 req/s), else normalised
    // from the max keep-alive run.
    const resource = (fixedId: string, rpsId: string): { value: number | null; detail: string } => {
      const fixed = figure(ms, fixedId, w);
      if (fixed !== null) return { value: fixed, detail: `${L7_PROXY_ROLE} process at a fixed ${T.atRate} req/s` };
      const max = figure(ms, rpsId, w);
      if (max !== null) return { value: max, detail: `${L7_PROXY_ROLE} process, normalised from the max keep-alive rate` };
      return { value: null, detail: `no ${L7_PROXY_ROLE} process figures on ${w}` };
    };
    const cpu = resource(`cpu.${T.atRate}.${L7_PROXY_ROLE}`, `rps.cpu.${L7_PROXY_ROLE}`);
    checks.push({ subject: w, id: 'vcpu-per-1k', target: `≤ ${T.vcpuPer1k} vCPU per 1000 req/s`, unit: 'vCPU', limit: T.vcpuPer1k, status: status(cpu.value, (v) => v <= T.vcpuPer1k), ...cpu });
    const rss = resource(`rss.${T.atRate}.${L7_PROXY_ROLE}`, `rps.rss.${L7_PROXY_ROLE}`);
    checks.push({ subject: w, id: 'rss-per-1k', target: `≤ ${T.rssMbPer1k} MB RSS per 1000 req/s`, unit: 'MB', limit: T.rssMbPer1k, status: status(rss.value, (v) => v <= T.rssMbPer1k), ...rss });
  }
  return { subjects, nginx, l4, references, checks };
}

/** The report's target section: references in absolute figures, then one line per check. */
export function formatL7Targets(r: L7TargetReport): string {
  const lines = ['L7 targets (waypoint vs nginx, and vs Ambit L4 only; figures of this run)'];
  for (const ref of r.references) lines.push(`  reference: ${ref}`);
  if (r.subjects.length === 0) {
    lines.push('  waypoint: not in this run');
    return lines.join('\n') + '\n';
  }
  const rows = r.checks.map((c) => {
    const v = c.value === null ? '—' : c.unit === '× nginx' ? `${c.value.toFixed(2)}×` : `${formatValue(c.value)} ${c.unit}`;
    return [c.subject, c.target, v, c.status, c.detail];
  });
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) lines.push(`  ${row.slice(0, 4).map((cell, i) => (i === 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ')}  (${row[4]})`);
  return lines.join('\n') + '\n';
}
