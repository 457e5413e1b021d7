// Command line of `npm run bench`: --quick, --rounds N, --out DIR, --paths a,b, --ambit-workers N,M;
// and the two presets of how long each measurement runs (full: minutes; quick: a smoke run).

import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { MeshError } from '../src/common/errors.js';

export interface BenchSettings {
  readonly quick: boolean;
  readonly rounds: number;
  /** Where latest.json, latest.svg and the dated JSON go. */
  readonly outDir: string;
  /** Only these paths (default: all), by name. */
  readonly paths: readonly string[] | null;
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
  readonly connRateSeconds: number;
  readonly connRateConcurrency: number;
  readonly idleCount: number;
  readonly idleSettleMs: number;
  readonly idleMaxSettleMs: number;
}

/** bench/results/ of the source tree (run.js lives in dist/bench/). */
export const DEFAULT_OUT_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));

export const USAGE = `Usage: npm run bench [-- options]

Measures direct, Ambit L4 (HBONE mTLS, in-pod capture), stunnel (TLS 1.3 mTLS) and node-relay (two
plain Node TCP relays, the Node floor) between two pods on two "nodes" (network namespaces; needs
root): iperf3 throughput, HTTP latency at fixed rates, new connections/s, proxy CPU and RSS, memory
per idle connection.

  --quick              1 round of ~1 s measurements, 200 idle connections, one rate (a smoke run)
  --rounds N           rounds (default 3; 1 with --quick); figures are medians across rounds,
                       with the min–max across rounds beside them
  --out DIR            output directory (default bench/results/)
  --paths LIST         comma-separated subset of: direct, ambit, stunnel, node-relay
                       (ambit-w<N> with --ambit-workers)
  --ambit-workers LIST run Ambit once per worker count (agent flag --workers N) as paths
                       ambit-w<N>, e.g. 1,2; refused if the agent does not accept --workers
  --idle N             idle connections to hold (default 5000; 200 with --quick)
  --help               this text
`;

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
  return {
    quick: values.quick,
    rounds,
    outDir: values.out === undefined ? DEFAULT_OUT_DIR : resolve(values.out),
    paths,
    ambitWorkers: values['ambit-workers'] === undefined ? null : parseWorkerCounts(values['ambit-workers']),
    iperfSeconds: preset.iperfSeconds,
    rates: preset.rates,
    loadSeconds: preset.loadSeconds,
    loadConnections: 4,
    warmupRequests: 50,
    connRateSeconds: preset.connRateSeconds,
    connRateConcurrency: 8,
    idleCount,
    idleSettleMs: preset.idleSettleMs,
    idleMaxSettleMs: preset.idleMaxSettleMs,
  };
}
