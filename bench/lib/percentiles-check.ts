// Cross-check of our load generator against Debian's `hey` at the same fixed rate: both measure the
// same server back to back and their p50s must agree, so our percentiles are trusted, not assumed.

import { MeshError } from '../../src/common/errors.js';
import { runLoadIn, type HttpTarget, type LoadResult } from './load-generator.js';
import { runHere, runTool, type RunIn } from './run-in.js';

export interface HeyResult {
  readonly requestsPerSecond: number;
  /** Responses by HTTP status. */
  readonly statusCounts: Record<string, number>;
  /** Requests that failed without a response (hey's "Error distribution"). */
  readonly errors: number;
  /**
   * hey's latency distribution in ms, by percentile (10, 25, 50, 75, 90, 95, 99). hey prints
   * seconds with 4 decimals, so these have 0.1 ms resolution.
   */
  readonly percentilesMs: Record<string, number>;
}

/** Parses hey's summary output (the default, non-CSV format). */
export function parseHeyOutput(text: string): HeyResult {
  const rps = /Requests\/sec:\s*([\d.]+)/.exec(text);
  const percentilesMs: Record<string, number> = {};
  const dist = /Latency distribution:\n([\s\S]*?)(?:\n\s*\n|$)/.exec(text);
  if (rps === null || dist === null) throw new MeshError('BENCH_TOOL', `unparsable hey output: ${text.slice(0, 400)}`);
  for (const m of dist[1]!.matchAll(/(\d+)%+ in ([\d.]+) secs/g)) percentilesMs[m[1]!] = Number(m[2]) * 1000;
  const statusCounts: Record<string, number> = {};
  const status = /Status code distribution:\n([\s\S]*?)(?:\n\s*\n|$)/.exec(text);
  for (const m of (status?.[1] ?? '').matchAll(/\[(\d+)\]\s+(\d+) responses/g)) statusCounts[m[1]!] = Number(m[2]);
  let errors = 0;
  const errs = /Error distribution:\n([\s\S]*?)(?:\n\s*\n|$)/.exec(text);
  for (const m of (errs?.[1] ?? '').matchAll(/\[(\d+)\]/g)) errors += Number(m[1]);
  if (percentilesMs['50'] === undefined) throw new MeshError('BENCH_TOOL', `hey printed no p50: ${text.slice(0, 400)}`);
  return { requestsPerSecond: Number(rps[1]), statusCounts, errors, percentilesMs };
}

export interface FixedRateOptions extends HttpTarget {
  /** Total requests per second; hey gets rate/connections per worker (its -q is per worker). */
  readonly rate: number;
  readonly connections: number;
  readonly durationS: number;
}

/** Runs `hey -q <rate/conns> -c <conns> -z <dur>s http://host:port/path` through runIn. */
export async function runHey(runIn: RunIn = runHere, opts: FixedRateOptions): Promise<HeyResult> {
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const cmd = ['hey', '-q', String(opts.rate / opts.connections), '-c', String(opts.connections)];
  cmd.push('-z', `${opts.durationS}s`, '-disable-compression', `http://${host}:${opts.port}${opts.path}`);
  const res = await runTool(runIn, cmd, { timeoutMs: opts.durationS * 1000 + 30_000 });
  return parseHeyOutput(res.stdout);
}

export interface PercentilesCheck {
  readonly ours: LoadResult;
  readonly hey: HeyResult;
  /** ours.p50 / hey.p50. */
  readonly p50Ratio: number;
  /** Whether the p50s agree within max(factor ×, absMs). */
  readonly agree: boolean;
}

/**
 * Measures the same target with our generator, then with hey, at the same rate and connection count.
 * Agreement: |ours − hey| ≤ max(absMs, (factor − 1) × min(ours, hey)), i.e. within `factor`× of each
 * other or `absMs` apart, whichever is looser (hey's 0.1 ms resolution makes sub-ms ratios noisy).
 */
export async function checkAgainstHey(
  runIn: RunIn,
  opts: FixedRateOptions,
  tolerance: { factor: number; absMs: number } = { factor: 3, absMs: 1 },
): Promise<PercentilesCheck> {
  const ours = await runLoadIn(runIn, opts);
  const hey = await runHey(runIn, opts);
  const a = ours.latencyMs.p50;
  const b = hey.percentilesMs['50']!;
  const agree = Math.abs(a - b) <= Math.max(tolerance.absMs, (tolerance.factor - 1) * Math.min(a, b));
  return { ours, hey, p50Ratio: b > 0 ? a / b : Infinity, agree };
}
