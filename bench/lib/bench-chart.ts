// The bench's chart layout: which panels (throughput, latency per rate, conn/s, proxy CPU and RSS,
// keep-alive req/s and its cost) and their titles and units; chart-svg.ts draws them (whiskers: min–max).

import type { ChartGroup, ChartPanel, ChartSpec } from './chart-svg.js';

type Values = ChartGroup['values'];
type SpreadValues = NonNullable<ChartGroup['spread']>;

export interface BenchChartInput {
  readonly title?: string;
  readonly subtitle?: string;
  readonly paths: readonly string[];
  /** Gbit/s per path for each mode label (e.g. "1 stream", "-R", "-P 4"); no panel when empty. */
  readonly throughput: readonly ChartGroup[];
  /** Per request rate: ms per path for p50, p90, p99, with their spread when known. */
  readonly latency: ReadonlyArray<{
    readonly rate: number;
    readonly p50: Values;
    readonly p90: Values;
    readonly p99: Values;
    readonly spread?: { readonly p50?: SpreadValues; readonly p90?: SpreadValues; readonly p99?: SpreadValues };
  }>;
  /** New connections/s per path (one group); no panel when absent or empty. */
  readonly connRate?: readonly ChartGroup[];
  /** Proxy CPU, cores per 1000 req/s, one group per proxy role and rate; no panel when absent or empty. */
  readonly cpu?: readonly ChartGroup[];
  /** Proxy peak RSS during the HTTP load, MB, one group per proxy role and rate; no panel when absent or empty. */
  readonly rss?: readonly ChartGroup[];
  /** HTTP keep-alive requests/s per path (wrk, max rate; one group); no panel when absent or empty. */
  readonly rps?: readonly ChartGroup[];
  /** Proxy vCPU per 1000 req/s at that max rate, one group per proxy role; no panel when absent or empty. */
  readonly rpsCpu?: readonly ChartGroup[];
  /** Proxy peak RSS (MB) per 1000 req/s at that max rate, one group per proxy role; no panel when absent or empty. */
  readonly rpsRss?: readonly ChartGroup[];
}

/** The standard bench chart: throughput, latency per rate, then conn/s, proxy CPU and proxy RSS. */
export function benchChartSpec(input: BenchChartInput): ChartSpec {
  const optional = (title: string, unit: string, groups: readonly ChartGroup[] | undefined): ChartPanel[] =>
    groups === undefined || groups.length === 0 ? [] : [{ title, unit, groups }];
  const withSpread = (label: string, values: Values, spread: SpreadValues | undefined): ChartGroup =>
    spread === undefined ? { label, values } : { label, values, spread };
  const panels: ChartPanel[] = [
    ...optional('TCP throughput (iperf3)', 'Gbit/s', input.throughput),
    ...input.latency.map((l) => ({
      title: `HTTP latency at ${l.rate} req/s (1 KB responses)`,
      unit: 'ms',
      groups: [withSpread('p50', l.p50, l.spread?.p50), withSpread('p90', l.p90, l.spread?.p90), withSpread('p99', l.p99, l.spread?.p99)],
    })),
    ...optional('New connections per second (1 request each)', 'conn/s', input.connRate),
    ...optional('Proxy CPU per 1000 req/s, by proxy and rate', 'cores per 1k req/s', input.cpu),
    ...optional('Proxy peak RSS under HTTP load, by proxy and rate', 'MB', input.rss),
    ...optional('HTTP keep-alive requests per second (wrk, max rate)', 'req/s', input.rps),
    ...optional('Proxy CPU per 1000 req/s at the max keep-alive rate, by proxy', 'vCPU per 1k req/s', input.rpsCpu),
    ...optional('Proxy peak RSS per 1000 req/s at the max keep-alive rate, by proxy', 'MB per 1k req/s', input.rpsRss),
  ];
  // The whisker legend only when some figure varied (a one-round run has no spread to show).
  const varied = panels.some((p) => p.groups.some((g) => Object.values(g.spread ?? {}).some((r) => r !== null && r.max > r.min)));
  return {
    title: input.title ?? 'Ambit benchmark per path',
    subtitle: input.subtitle,
    series: input.paths,
    ...(varied ? { whiskerLegend: 'min–max across rounds (▲: cut, see the table)' } : {}),
    panels,
  };
}
