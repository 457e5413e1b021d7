// The measurement plan of one round: every step (an iperf3 mode, a request rate, keep-alive req/s,
// conn/s, idle memory) with its suite and time estimate; run.ts runs each step on every path in turn.

import type { ConnRateResult } from '../lib/index.js';
import type { BenchPath } from '../paths/index.js';
import type { BenchSettings } from '../options.js';
import { measureThroughput, THROUGHPUT_MODES, type ThroughputRecord } from './throughput.js';
import { measureLatency, type LatencyRecord } from './latency.js';
import { measureConnRate } from './conn-rate.js';
import { measureIdleMemory, type IdleRecord } from './idle-memory.js';
import { measureHttpRps, type HttpRpsRecord } from './http-rps.js';
import { settledRss, SETTLE_MS } from './settled-rss.js';

export type StepOutcome =
  | { readonly kind: 'throughput'; readonly result: ThroughputRecord }
  | { readonly kind: 'latency'; readonly result: LatencyRecord }
  | { readonly kind: 'rps'; readonly result: HttpRpsRecord }
  | { readonly kind: 'connrate'; readonly result: ConnRateResult }
  | { readonly kind: 'idle'; readonly result: IdleRecord };

/** The suites `--suites` selects from, in the order their steps run. */
export const SUITES = ['throughput', 'latency', 'http-rps', 'connrate', 'idle'] as const;
export type SuiteName = (typeof SUITES)[number];

/** Why a step has no figure on a path, shown in its cells (`n/a: HTTP-only path`). */
export const HTTP_ONLY = 'HTTP-only path';

export interface BenchStep {
  /** Stable key in the JSON: `throughput.single`, `latency.1000`, `rps`, `connrate`, `idle`. */
  readonly id: string;
  readonly kind: StepOutcome['kind'];
  readonly suite: SuiteName;
  /** For progress lines. */
  readonly label: string;
  /** Expected wall time on one path, seconds (progress weights and ETA). */
  readonly estimateS: number;
  /**
   * Run after all other steps of every round, each time on a freshly set-up path (new proxy
   * processes). Idle memory needs it both ways: proxies keep memory from earlier load (stunnel's
   * 5,000 thread stacks, V8's heap), which would hide the cost of the next idle connections and
   * inflate every later peak-RSS reading.
   */
  readonly freshPath?: boolean;
  appliesTo(path: BenchPath): boolean;
  /**
   * A reason the step cannot measure this path (e.g. HTTP_ONLY for iperf3 on an L7 path): the run
   * records it as skipped with the reason and the table shows `n/a: <reason>`, never a silent gap.
   */
  notApplicable?(path: BenchPath): string | undefined;
  run(path: BenchPath): Promise<StepOutcome>;
}

const always = (): boolean => true;

/** The steps of the suites in `s.suites`, in SUITES order. */
export function benchSteps(s: BenchSettings): BenchStep[] {
  return allSteps(s).filter((step) => s.suites.includes(step.suite));
}

function allSteps(s: BenchSettings): BenchStep[] {
  const lastMode = THROUGHPUT_MODES[THROUGHPUT_MODES.length - 1];
  const steps: BenchStep[] = THROUGHPUT_MODES.map((mode) => ({
    id: `throughput.${mode.key}`,
    kind: 'throughput' as const,
    suite: 'throughput' as const,
    label: `iperf3 ${mode.label}, ${s.iperfSeconds} s${mode === lastMode ? `, then RSS settled ${SETTLE_MS / 1000} s` : ''}`,
    estimateS: s.iperfSeconds + 1.5 + (mode === lastMode ? SETTLE_MS / 1000 : 0),
    appliesTo: always,
    notApplicable: (path: BenchPath) => (path.tcp ? undefined : HTTP_ONLY),
    run: async (path: BenchPath): Promise<StepOutcome> => {
      const result = await measureThroughput(path.target(), mode, s.iperfSeconds);
      // After the last iperf3 step: what the proxies keep once the burst is over.
      const settled = mode === lastMode ? await settledRss(path.proxies()) : undefined;
      return { kind: 'throughput', result: settled === undefined ? result : { ...result, settled } };
    },
  }));
  for (const rate of s.rates) {
    steps.push({
      id: `latency.${rate}`,
      kind: 'latency',
      suite: 'latency',
      label: `HTTP ${rate} req/s × ${s.loadSeconds} s, ${s.loadConnections} connections`,
      estimateS: s.latencyPrewarmS + s.loadSeconds + 1.5,
      appliesTo: always,
      run: async (path) => ({
        kind: 'latency',
        result: await measureLatency(path, { rate, connections: s.loadConnections, durationS: s.loadSeconds, warmupRequests: s.warmupRequests, prewarmS: s.latencyPrewarmS }),
      }),
    });
  }
  steps.push({
    id: 'rps',
    kind: 'rps',
    suite: 'http-rps',
    label: `HTTP keep-alive max req/s (wrk), ${s.rpsConnections} connections × ${s.rpsSeconds} s`,
    estimateS: s.rpsWarmupS + s.rpsSeconds + 1,
    appliesTo: always,
    run: async (path) => ({
      kind: 'rps',
      result: await measureHttpRps(path, { connections: s.rpsConnections, threads: s.rpsThreads, durationS: s.rpsSeconds, warmupS: s.rpsWarmupS }),
    }),
  });
  steps.push({
    id: 'connrate',
    kind: 'connrate',
    suite: 'connrate',
    label: `new connections/s, ${s.connRateConcurrency} loops × ${s.connRateSeconds} s`,
    estimateS: s.connRateSeconds + 1,
    appliesTo: always,
    run: async (path) => ({
      kind: 'connrate',
      result: await measureConnRate(path.target(), { durationS: s.connRateSeconds, concurrency: s.connRateConcurrency }),
    }),
  });
  steps.push({
    id: 'idle',
    kind: 'idle',
    suite: 'idle',
    label: `${s.idleCount} idle connections`,
    // Opening: ~2 s per 1000 through the mesh, ~12 s through stunnel (a thread and a full
    // handshake each); two settle waits (usually the minimum + a 1 s window); holder start and close.
    estimateS: (s.idleCount / 1000) * 7 + (2 * (s.idleSettleMs + 1000)) / 1000 + 4,
    freshPath: true,
    // Nothing to measure without a proxy (the direct path).
    appliesTo: (path) => path.proxies().length > 0,
    run: async (path) => ({ kind: 'idle', result: await measureIdleMemory(path, { count: s.idleCount, settleMs: s.idleSettleMs, maxSettleMs: s.idleMaxSettleMs }) }),
  });
  return steps;
}

/** One progress line for a finished run: the figure(s) it produced. */
export function describeOutcome(o: StepOutcome): string {
  const f = (v: number, d = 2): string => (Number.isFinite(v) ? v.toFixed(d) : '—');
  switch (o.kind) {
    case 'throughput':
      return `${f(o.result.gbitPerSecond)} Gbit/s (retransmits ${o.result.iperf.retransmits})`;
    case 'latency': {
      const l = o.result.load;
      const cpu = o.result.proxies.map((u) => `${u.label} ${f(u.cpuPer1kRps, 3)} cores/1k, ${f(u.peakRssBytes / 1048576, 0)} MB`);
      const errs = l.errors > 0 ? `, ${l.errors} errors ${JSON.stringify(l.errorKinds)}` : '';
      return `p50 ${l.latencyMs.p50} p90 ${l.latencyMs.p90} p99 ${l.latencyMs.p99} ms at ${f(l.achievedRate, 0)} req/s${errs}${cpu.length ? '; ' + cpu.join('; ') : ''}`;
    }
    case 'rps': {
      const r = o.result;
      const cpu = r.proxies.map((u) => `${u.label} ${f(u.cpuPer1kRps, 3)} vCPU/1k, ${f(u.rssMbPer1kRps, 1)} MB/1k`);
      return `${f(r.requestsPerSecond, 0)} req/s (p50 ${f(r.wrk.latencyMs.p50, 3)} p99 ${f(r.wrk.latencyMs.p99, 3)} ms)${cpu.length ? '; ' + cpu.join('; ') : ''}`;
    }
    case 'connrate': {
      const r = o.result;
      return `${f(r.connectionsPerSecond, 0)} conn/s${r.errors > 0 ? `, ${r.errors} errors ${JSON.stringify(r.errorKinds)}` : ''}`;
    }
    case 'idle': {
      const r = o.result;
      const per = r.proxies.map((p) => `${p.label} ${f(p.kbPerConnection, 1)}`).join(', ');
      return `${r.held.open} held (${r.held.failed} failed): ${f(r.kbPerConnection, 1)} KB/conn (${per})`;
    }
  }
}
