// From raw runs to reported figures: per path, the median across rounds of every quantity with its
// min–max, as the table's rows (Measurement) and as the chart's groups (one per bar cluster).

import type { BenchChartInput, ChartGroup, Measurement, Spread } from './lib/index.js';
import type { StepOutcome } from './suite/steps.js';
import { THROUGHPUT_MODES } from './suite/throughput.js';
import { SETTLE_MS, type SettledProxyRss } from './suite/settled-rss.js';

/** One step on one path in one round, as stored in the JSON. */
export interface RunRecord {
  readonly round: number;
  /** Position of the path in this round's (rotated) order, 0-based. */
  readonly order: number;
  readonly path: string;
  readonly step: string;
  readonly startedAt: string;
  readonly seconds: number;
  readonly outcome?: StepOutcome;
  readonly error?: string;
  /** Not measured on this path, and why (e.g. `HTTP-only path`): the table says `n/a: <why>`. */
  readonly skipped?: string;
}

/** Median (mean of the two middle values for an even count); null for no values. */
export function median(values: readonly number[]): number | null {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** The step a table row's figures come from: `latency.1000.p50`, `cpu.1000.total` → `latency.1000`; `rps.cpu.x` → `rps`. */
export function stepOfRow(id: string): string {
  const [a, b] = id.split('.');
  if (a === 'cpu' || a === 'rss') return `latency.${b}`;
  if (a === 'latency' || a === 'throughput') return `${a}.${b}`;
  return a!;
}

/** A quantity on one path across rounds: its median and spread; null when no round produced it. */
export interface RoundFigures extends Spread {
  readonly median: number;
}

export function roundFigures(values: readonly number[]): RoundFigures | null {
  const v = values.filter((x) => Number.isFinite(x));
  const m = median(v);
  if (m === null) return null;
  return { median: m, min: Math.min(...v), max: Math.max(...v), rounds: v.length };
}

type Pick = (o: StepOutcome) => number | undefined;
type PerPath = Record<string, RoundFigures | null>;

const MB = 1024 * 1024;

const medians = (f: PerPath): Record<string, number | null> => Object.fromEntries(Object.entries(f).map(([p, x]) => [p, x?.median ?? null]));
const spreads = (f: PerPath): Record<string, Spread | null> =>
  Object.fromEntries(Object.entries(f).map(([p, x]) => [p, x === null ? null : { min: x.min, max: x.max, rounds: x.rounds }]));
const group = (label: string, f: PerPath): ChartGroup => ({ label, values: medians(f), spread: spreads(f) });

/** `client-side` → `client`: short group labels under the chart's bars. */
const shortRole = (role: string): string => role.replace(/-side$/, '');

/** What benchChartSpec needs besides the title, subtitle and paths. */
export type ChartGroups = Omit<BenchChartInput, 'title' | 'subtitle' | 'paths'>;

export class Summary {
  /**
   * `notes`: a footnote per measurement id (e.g. `connrate`: what one new connection costs on
   * each path), carried into the table and the JSON.
   */
  constructor(
    private readonly paths: readonly string[],
    private readonly rates: readonly number[],
    private readonly runs: readonly RunRecord[],
    private readonly notes: Readonly<Record<string, string>> = {},
  ) {}

  /** Median and spread per path of `pick` over the successful runs of `step`. */
  private figures(step: string, pick: Pick): PerPath {
    const out: PerPath = {};
    for (const p of this.paths) {
      const xs = this.runs
        .filter((r) => r.path === p && r.step === step && r.outcome !== undefined)
        .map((r) => pick(r.outcome!))
        .filter((x): x is number => x !== undefined);
      out[p] = roundFigures(xs);
    }
    return out;
  }

  /** Per path, why `step` was not measured on it, for paths where every round skipped it. */
  private notApplicable(step: string): Record<string, string> | undefined {
    const out: Record<string, string> = {};
    for (const p of this.paths) {
      const rs = this.runs.filter((r) => r.path === p && r.step === step);
      if (rs.length > 0 && rs.every((r) => r.skipped !== undefined)) out[p] = rs[0]!.skipped!;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }

  /** Proxy roles seen in the runs of `kind`, first-seen order (client-side, server-side, l7-proxy...). */
  private roles(kind: 'latency' | 'rps' = 'latency'): string[] {
    const roles: string[] = [];
    for (const r of this.runs) {
      if (r.outcome?.kind !== kind) continue;
      for (const u of r.outcome.result.proxies) if (!roles.includes(u.role)) roles.push(u.role);
    }
    return roles;
  }

  /** Proxy roles with a settled-RSS figure after the iperf3 steps, first-seen order. */
  private settledRoles(): string[] {
    const roles: string[] = [];
    for (const r of this.runs) {
      if (r.outcome?.kind !== 'throughput') continue;
      for (const p of r.outcome.result.settled?.proxies ?? []) if (!roles.includes(p.role)) roles.push(p.role);
    }
    return roles;
  }

  private static rpsProxies(o: StepOutcome) {
    return o.kind === 'rps' && o.result.proxies.length > 0 ? o.result.proxies : undefined;
  }

  /** Keep-alive requests/s (wrk), the rps table's first row and the L7 target's numerator. */
  private rps(): PerPath {
    return this.figures('rps', (o) => (o.kind === 'rps' ? o.result.requestsPerSecond : undefined));
  }

  private rpsCpu(role: string): PerPath {
    return this.figures('rps', (o) => Summary.rpsProxies(o)?.find((u) => u.role === role)?.cpuPer1kRps);
  }

  private rpsRss(role: string): PerPath {
    return this.figures('rps', (o) => Summary.rpsProxies(o)?.find((u) => u.role === role)?.rssMbPer1kRps);
  }

  private static proxies(o: StepOutcome) {
    return o.kind === 'latency' && o.result.proxies.length > 0 ? o.result.proxies : undefined;
  }

  private cpu(rate: number, role: string): PerPath {
    return this.figures(`latency.${rate}`, (o) => Summary.proxies(o)?.find((u) => u.role === role)?.cpuPer1kRps);
  }

  private rss(rate: number, role: string): PerPath {
    return this.figures(`latency.${rate}`, (o) => {
      const u = Summary.proxies(o)?.find((x) => x.role === role);
      return u === undefined ? undefined : u.peakRssBytes / MB;
    });
  }

  private latency(rate: number, q: 'p50' | 'p90' | 'p99'): PerPath {
    return this.figures(`latency.${rate}`, (o) => (o.kind === 'latency' ? o.result.load.latencyMs[q] : undefined));
  }

  private connRate(): PerPath {
    return this.figures('connrate', (o) => (o.kind === 'connrate' ? o.result.connectionsPerSecond : undefined));
  }

  private throughput(key: string): PerPath {
    return this.figures(`throughput.${key}`, (o) => (o.kind === 'throughput' ? o.result.gbitPerSecond : undefined));
  }

  measurements(): Measurement[] {
    const m: Measurement[] = [];
    const row = (id: string, label: string, unit: string, better: 'higher' | 'lower', f: PerPath, step?: string): void => {
      const note = this.notes[id];
      const na = step === undefined ? undefined : this.notApplicable(step);
      m.push({ id, label, unit, better, values: medians(f), spread: spreads(f), ...(note === undefined ? {} : { note }), ...(na === undefined ? {} : { notApplicable: na }) });
    };
    for (const mode of THROUGHPUT_MODES) {
      const step = `throughput.${mode.key}`;
      row(step, `TCP throughput, iperf3 ${mode.label}`, 'Gbit/s', 'higher', this.throughput(mode.key), step);
    }
    // What each proxy keeps after the iperf3 steps: RSS when the last one ended and once settled.
    const last = THROUGHPUT_MODES[THROUGHPUT_MODES.length - 1]!;
    for (const role of this.settledRoles()) {
      const settled = (pick: (p: SettledProxyRss) => number): PerPath =>
        this.figures(`throughput.${last.key}`, (o) => {
          const p = o.kind === 'throughput' ? o.result.settled?.proxies.find((x) => x.role === role) : undefined;
          return p === undefined ? undefined : pick(p) / MB;
        });
      row(`throughput.${last.key}.rssEnd.${role}`, `proxy RSS ${role} when the iperf3 steps end`, 'MB', 'lower', settled((p) => p.rssEndBytes));
      row(`throughput.${last.key}.rssSettled.${role}`, `proxy RSS ${role} after the iperf3 steps, settled ${SETTLE_MS / 1000} s`, 'MB', 'lower', settled((p) => p.rssSettledBytes));
    }
    for (const rate of this.rates) {
      const step = `latency.${rate}`;
      for (const q of ['p50', 'p90', 'p99'] as const) row(`${step}.${q}`, `HTTP latency ${q} @ ${rate} req/s`, 'ms', 'lower', this.latency(rate, q));
      row(`${step}.achieved`, `achieved rate @ ${rate} req/s`, 'req/s', 'higher', this.figures(step, (o) => (o.kind === 'latency' ? o.result.load.achievedRate : undefined)));
    }
    row('connrate', 'new connections (1 request each)', 'conn/s', 'higher', this.connRate());
    const roles = this.roles();
    for (const rate of this.rates) {
      for (const role of roles) row(`cpu.${rate}.${role}`, `proxy CPU ${role} @ ${rate} req/s`, 'cores/1k rps', 'lower', this.cpu(rate, role));
      row(
        `cpu.${rate}.total`,
        `proxy CPU all @ ${rate} req/s`,
        'cores/1k rps',
        'lower',
        this.figures(`latency.${rate}`, (o) => Summary.proxies(o)?.reduce((a, u) => a + u.cpuPer1kRps, 0)),
      );
      for (const role of roles) row(`rss.${rate}.${role}`, `proxy peak RSS ${role} @ ${rate} req/s`, 'MB', 'lower', this.rss(rate, role));
    }
    row('idle.kbPerConnection', 'memory per idle connection (all proxies)', 'KB', 'lower', this.figures('idle', (o) => (o.kind === 'idle' ? o.result.kbPerConnection : undefined)));
    m.push(...this.rpsMeasurements());
    // Rows of steps that did not run at all (a suite left out with --suites) are left out too.
    const ran = new Set(this.runs.map((r) => r.step));
    return m.filter((x) => ran.has(stepOfRow(x.id)));
  }

  /**
   * The keep-alive requests/s section (ids `rps.*`, a table of their own in the report): the rate,
   * wrk's latency under that saturating load, and each proxy's vCPU and RSS per 1000 req/s of it.
   */
  private rpsMeasurements(): Measurement[] {
    if (!this.runs.some((r) => r.step === 'rps')) return [];
    const rows: Measurement[] = [];
    const push = (id: string, label: string, unit: string, better: 'higher' | 'lower', f: PerPath): void => {
      const note = this.notes[id];
      rows.push({ id, label, unit, better, values: medians(f), spread: spreads(f), ...(note === undefined ? {} : { note }) });
    };
    push('rps.requestsPerSecond', 'HTTP keep-alive requests/s (max)', 'req/s', 'higher', this.rps());
    for (const q of ['p50', 'p99'] as const) {
      push(`rps.latency.${q}`, `latency ${q} at that max load`, 'ms', 'lower', this.figures('rps', (o) => (o.kind === 'rps' ? o.result.wrk.latencyMs[q] : undefined)));
    }
    const roles = this.roles('rps');
    for (const role of roles) push(`rps.cpu.${role}`, `proxy CPU ${role} per 1k req/s`, 'vCPU/1k rps', 'lower', this.rpsCpu(role));
    push('rps.cpu.total', 'proxy CPU all per 1k req/s', 'vCPU/1k rps', 'lower', this.figures('rps', (o) => Summary.rpsProxies(o)?.reduce((a, u) => a + u.cpuPer1kRps, 0)));
    for (const role of roles) push(`rps.rss.${role}`, `proxy peak RSS ${role} per 1k req/s`, 'MB/1k rps', 'lower', this.rpsRss(role));
    return rows;
  }

  /** The chart's bar clusters (benchChartSpec): medians with their min–max across rounds; steps that never ran have none. */
  chartGroups(): ChartGroups {
    const ran = new Set(this.runs.map((r) => r.step));
    const rates = this.rates.filter((rate) => ran.has(`latency.${rate}`));
    const perRateRole = (f: (rate: number, role: string) => PerPath): ChartGroup[] =>
      rates.flatMap((rate) => this.roles().map((role) => group(`${shortRole(role)} @${rate}`, f(rate, role))));
    const rpsRoles = ran.has('rps') ? this.roles('rps') : [];
    return {
      throughput: THROUGHPUT_MODES.filter((mode) => ran.has(`throughput.${mode.key}`)).map((mode) => group(mode.label, this.throughput(mode.key))),
      latency: rates.map((rate) => {
        const [p50, p90, p99] = (['p50', 'p90', 'p99'] as const).map((q) => this.latency(rate, q)) as [PerPath, PerPath, PerPath];
        return { rate, p50: medians(p50), p90: medians(p90), p99: medians(p99), spread: { p50: spreads(p50), p90: spreads(p90), p99: spreads(p99) } };
      }),
      connRate: ran.has('connrate') ? [group('1 request each', this.connRate())] : [],
      cpu: perRateRole((rate, role) => this.cpu(rate, role)),
      rss: perRateRole((rate, role) => this.rss(rate, role)),
      rps: ran.has('rps') ? [group('keep-alive, max rate', this.rps())] : [],
      rpsCpu: rpsRoles.map((role) => group(shortRole(role), this.rpsCpu(role))),
      rpsRss: rpsRoles.map((role) => group(shortRole(role), this.rpsRss(role))),
    };
  }
}
