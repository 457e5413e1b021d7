// Command line of `npm run bench`: --quick, --rounds N, --out DIR, --paths a,b, --suites a,b,
// --ambit-workers N,M, --rps-*; and the two presets of how long each measurement runs.

import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { MeshError } from '../src/common/errors.js';
import { SUITES, type SuiteName } from './suite/steps.js';

export interface BenchSettings {
  readonly quick: boolean;
  readonly rounds: number;
  /**
   * Where latest.json, latest.svg and the dated JSON go: bench/results/ for a full run (committed),
   * bench/results/tmp/ (git-ignored) by default for a partial one (--quick, --suites, --paths).
   */
  readonly outDir: string;
  /** Only these paths (default: all), by name. */
  readonly paths: readonly string[] | null;
  /** The suites to run (default: all of SUITES), in SUITES order. */
  readonly suites: readonly SuiteName[];
  /**
   * Run Ambit once per worker count (agent flag `--workers N`), as paths `ambit-w<N>` in place of
   * `ambit`; null: one `ambit` path with the agent's default.
   */
  readonly ambitWorkers: readonly number[] | null;
  readonly iperfSeconds: number;
  /** Fixed request rates, requests/s. */
  readonly rates: readonly number[];
  readonly loadSeconds: number;
  readonly loadConnections: number;
  readonly warmupRequests: number;
  /**
   * Seconds of load at each fixed rate before its measured run, neither measured nor sampled: a
   * freshly started Node proxy spends its first few thousand requests compiling its hot code (V8
   * tiers up), which is start-up cost, not the steady per-request cost the CPU rows state.
   */
  readonly latencyPrewarmS: number;
  /** HTTP keep-alive requests/s (wrk): measured seconds, warm-up seconds, connections, wrk threads. */
  readonly rpsSeconds: number;
  readonly rpsWarmupS: number;
  readonly rpsConnections: number;
  readonly rpsThreads: number;
  readonly connRateSeconds: number;
  readonly connRateConcurrency: number;
  readonly idleCount: number;
  readonly idleSettleMs: number;
  readonly idleMaxSettleMs: number;
}

/** bench/results/ of the source tree (run.js lives in dist/bench/). */
export const DEFAULT_OUT_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));
/** Partial and smoke runs: git-ignored (.gitignore: bench/results/tmp/), so they never replace the committed full run. */
export const SCRATCH_OUT_DIR = fileURLToPath(new URL('../../bench/results/tmp/', import.meta.url));

export const USAGE = `Usage: npm run bench [-- options]

Measures direct, Ambit L4 (HBONE mTLS, in-pod capture), stunnel (TLS 1.3 mTLS), node-relay (two
plain Node TCP relays, the Node floor), nginx (a plain HTTP/1.1 reverse proxy in its own pod, the
L7 reference) and waypoint (a Service VIP through both agents and \`ambit waypoint\` in its own pod,
the L7 subject) between two pods on two "nodes" (network namespaces; needs root): iperf3 throughput,
HTTP latency at fixed rates, HTTP keep-alive requests/s (wrk), new connections/s, proxy CPU and
RSS, memory per idle connection; then checks the L7 (waypoint) targets.

  --quick              1 round of ~1 s measurements, 200 idle connections, one rate (a smoke run)
  --rounds N           rounds (default 3; 1 with --quick); figures are medians across rounds,
                       with the min–max across rounds beside them
  --out DIR            output directory (default bench/results/ for a full run; bench/results/tmp/,
                       git-ignored, with --quick, --suites or --paths)
  --paths LIST         comma-separated subset of: direct, ambit, stunnel, node-relay, nginx,
                       waypoint
                       (ambit-w<N> with --ambit-workers)
  --suites LIST        comma-separated subset of: ${SUITES.join(', ')}
                       (default all), e.g. http-rps,latency
  --rps-seconds N      measured seconds of each keep-alive requests/s run (default 10; 1 with --quick)
  --rps-connections N  keep-alive connections wrk holds (default 16)
  --ambit-workers LIST run Ambit once per worker count (agent flag --workers N) as paths
                       ambit-w<N>, e.g. 1,2; refused if the agent does not accept --workers
  --idle N             idle connections to hold (default 5000; 200 with --quick)
  --help               this text
`;

/** `http-rps,latency` → the named suites in SUITES order; unknown or repeated names are refused. */
export function parseSuites(list: string): SuiteName[] {
  const items = list.split(',').map((x) => x.trim()).filter((x) => x !== '');
  const unknown = items.filter((x) => !(SUITES as readonly string[]).includes(x));
  if (items.length === 0 || unknown.length > 0) {
    throw new MeshError('CONFIG_INVALID', `--suites ${list}: expected a comma-separated subset of ${SUITES.join(', ')}`);
  }
  if (new Set(items).size !== items.length) throw new MeshError('CONFIG_INVALID', `--suites ${list}: a suite is repeated`);
  return SUITES.filter((s) => items.includes(s));
}

function intFlag(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new MeshError('CONFIG_INVALID', `${flag} ${value}: expected an integer ${min}..${max}`);
  return n;
}

/** Largest worker count accepted by --ambit-workers (far above any core count the bench runs on). */
const MAX_WORKERS = 256;

/** `1,2` → [1, 2]: distinct positive integers, in the given order. */
export function parseWorkerCounts(list: string): number[] {
  const items = list.split(',').map((x) => x.trim()).filter((x) => x !== '');
  const counts = items.map(Number);
  if (counts.length === 0 || counts.some((n) => !Number.isInteger(n) || n < 1 || n > MAX_WORKERS)) {
    throw new MeshError('CONFIG_INVALID', `--ambit-workers ${list}: expected a comma-separated list of integers 1..${MAX_WORKERS}, e.g. 1,2`);
  }
  if (new Set(counts).size !== counts.length) throw new MeshError('CONFIG_INVALID', `--ambit-workers ${list}: a worker count is repeated`);
  return counts;
}

const FULL = {
  rounds: 3,
  iperfSeconds: 5,
  rates: [1000, 4000],
  loadSeconds: 10,
  latencyPrewarmS: 3,
  rpsSeconds: 10,
  rpsWarmupS: 2,
  connRateSeconds: 5,
  idleCount: 5000,
  idleSettleMs: 1000,
  idleMaxSettleMs: 8000,
};

const QUICK = {
  rounds: 1,
  iperfSeconds: 1,
  rates: [1000],
  loadSeconds: 1,
  latencyPrewarmS: 1,
  rpsSeconds: 1,
  rpsWarmupS: 0,
  connRateSeconds: 1,
  idleCount: 200,
  idleSettleMs: 200,
  idleMaxSettleMs: 1500,
};

/** Parses argv (without node and script); null means --help was asked. */
export function parseBenchArgs(argv: readonly string[]): BenchSettings | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        quick: { type: 'boolean', default: false },
        rounds: { type: 'string' },
        out: { type: 'string' },
        paths: { type: 'string' },
        suites: { type: 'string' },
        'rps-seconds': { type: 'string' },
        'rps-connections': { type: 'string' },
        'ambit-workers': { type: 'string' },
        idle: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    throw new MeshError('CONFIG_INVALID', `${(e as Error).message}\n\n${USAGE}`);
  }
  if (values.help) return null;
  const preset = values.quick ? QUICK : FULL;
  let idleCount = preset.idleCount;
  if (values.idle !== undefined) {
    idleCount = Number(values.idle);
    if (!Number.isInteger(idleCount) || idleCount < 1 || idleCount > 50_000) throw new MeshError('CONFIG_INVALID', `--idle ${values.idle}: expected 1..50000`);
  }
  let rounds = preset.rounds;
  if (values.rounds !== undefined) {
    rounds = Number(values.rounds);
    if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) throw new MeshError('CONFIG_INVALID', `--rounds ${values.rounds}: expected 1..100`);
  }
  const paths = values.paths === undefined ? null : values.paths.split(',').map((p) => p.trim()).filter(Boolean);
  const suites = values.suites === undefined ? [...SUITES] : parseSuites(values.suites);
  const rpsSeconds = values['rps-seconds'] === undefined ? preset.rpsSeconds : intFlag('--rps-seconds', values['rps-seconds'], 1, 600);
  const rpsConnections = values['rps-connections'] === undefined ? 16 : intFlag('--rps-connections', values['rps-connections'], 1, 10_000);
  const partial = values.quick || values.suites !== undefined || paths !== null;
  return {
    quick: values.quick,
    rounds,
    outDir: values.out !== undefined ? resolve(values.out) : partial ? SCRATCH_OUT_DIR : DEFAULT_OUT_DIR,
    paths,
    suites,
    ambitWorkers: values['ambit-workers'] === undefined ? null : parseWorkerCounts(values['ambit-workers']),
    iperfSeconds: preset.iperfSeconds,
    rates: preset.rates,
    loadSeconds: preset.loadSeconds,
    latencyPrewarmS: preset.latencyPrewarmS,
    loadConnections: 4,
    rpsSeconds,
    rpsWarmupS: preset.rpsWarmupS,
    rpsConnections,
    // One wrk event loop: enough for one proxy core's worth of requests, and it leaves the other
    // core of a 2-vCPU machine to the app and the proxies (more threads would only contend).
    rpsThreads: 1,
    warmupRequests: 50,
    connRateSeconds: preset.connRateSeconds,
    connRateConcurrency: 8,
    idleCount,
    idleSettleMs: preset.idleSettleMs,
    idleMaxSettleMs: preset.idleMaxSettleMs,
  };
}
