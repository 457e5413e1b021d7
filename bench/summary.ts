// From raw runs to reported figures: the median across rounds of every quantity, per path, as the
// table's rows (Measurement) and as the chart's groups (throughput per mode, latency per rate).

import type { ChartGroup, Measurement } from './lib/index.js';
import type { StepOutcome } from './suite/steps.js';
import { THROUGHPUT_MODES } from './suite/throughput.js';

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
}

/** Median (mean of the two middle values for an even count); null for no values. */
export function median(values: readonly number[]): number | null {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

type Pick = (o: StepOutcome) => number | undefined;

const MB = 1024 * 1024;

export class Summary {
  constructor(
    private readonly paths: readonly string[],
    private readonly rates: readonly number[],
    private readonly runs: readonly RunRecord[],
  ) {}

  /** Median per path of `pick` over the successful runs of `step`. */
  private values(step: string, pick: Pick): Record<string, number | null> {
    const out: Record<string, number | null> = {};
    for (const p of this.paths) {
      const xs = this.runs
        .filter((r) => r.path === p && r.step === step && r.outcome !== undefined)
        .map((r) => pick(r.outcome!))
        .filter((x): x is number => x !== undefined);
      out[p] = median(xs);
    }
    return out;
  }

  /** Proxy roles seen in the runs, first-seen order (client-side, server-side, ...). */
  private roles(): string[] {
    const roles: string[] = [];
    for (const r of this.runs) {
      if (r.outcome?.kind !== 'latency') continue;
      for (const u of r.outcome.result.proxies) if (!roles.includes(u.role)) roles.push(u.role);
    }
    return roles;
  }

  measurements(): Measurement[] {
    const m: Measurement[] = [];
    const row = (id: string, label: string, unit: string, better: 'higher' | 'lower', step: string, pick: Pick): void => {
      m.push({ id, label, unit, better, values: this.values(step, pick) });
    };
    for (const mode of THROUGHPUT_MODES) {
      row(`throughput.${mode.key}`, `TCP throughput, iperf3 ${mode.label}`, 'Gbit/s', 'higher', `throughput.${mode.key}`, (o) =>
        o.kind === 'throughput' ? o.result.gbitPerSecond : undefined,
      );
    }
    for (const rate of this.rates) {
      const step = `latency.${rate}`;
      for (const q of ['p50', 'p90', 'p99'] as const) {
        row(`${step}.${q}`, `HTTP latency ${q} @ ${rate} req/s`, 'ms', 'lower', step, (o) => (o.kind === 'latency' ? o.result.load.latencyMs[q] : undefined));
      }
      row(`${step}.achieved`, `achieved rate @ ${rate} req/s`, 'req/s', 'higher', step, (o) => (o.kind === 'latency' ? o.result.load.achievedRate : undefined));
    }
    row('connrate', 'new connections (1 request each)', 'conn/s', 'higher', 'connrate', (o) =>
      o.kind === 'connrate' ? o.result.connectionsPerSecond : undefined,
    );
    const roles = this.roles();
    for (const rate of this.rates) {
      const step = `latency.${rate}`;
      const proxies = (o: StepOutcome) => (o.kind === 'latency' && o.result.proxies.length > 0 ? o.result.proxies : undefined);
      for (const role of roles) {
        row(`cpu.${rate}.${role}`, `proxy CPU ${role} @ ${rate} req/s`, 'cores/1k rps', 'lower', step, (o) => proxies(o)?.find((u) => u.role === role)?.cpuPer1kRps);
      }
      row(`cpu.${rate}.total`, `proxy CPU all @ ${rate} req/s`, 'cores/1k rps', 'lower', step, (o) => proxies(o)?.reduce((a, u) => a + u.cpuPer1kRps, 0));
      for (const role of roles) {
        row(`rss.${rate}.${role}`, `proxy peak RSS ${role} @ ${rate} req/s`, 'MB', 'lower', step, (o) => {
          const u = proxies(o)?.find((x) => x.role === role);
          return u === undefined ? undefined : u.peakRssBytes / MB;
        });
      }
    }
    row('idle.kbPerConnection', 'memory per idle connection (all proxies)', 'KB', 'lower', 'idle', (o) => (o.kind === 'idle' ? o.result.kbPerConnection : undefined));
    return m;
  }

  /** Throughput groups for benchChartSpec: one per iperf3 mode. */
  throughputGroups(): ChartGroup[] {
    return THROUGHPUT_MODES.map((mode) => ({
      label: mode.label,
      values: this.values(`throughput.${mode.key}`, (o) => (o.kind === 'throughput' ? o.result.gbitPerSecond : undefined)),
    }));
  }

  /** Latency percentiles per rate for benchChartSpec. */
  latencyGroups(): Array<{ rate: number; p50: ChartGroup['values']; p90: ChartGroup['values']; p99: ChartGroup['values'] }> {
    return this.rates.map((rate) => {
      const q = (k: 'p50' | 'p90' | 'p99') => this.values(`latency.${rate}`, (o) => (o.kind === 'latency' ? o.result.load.latencyMs[k] : undefined));
      return { rate, p50: q('p50'), p90: q('p90'), p99: q('p99') };
    });
  }
}
