// wrk (Debian's wrk 4.x), the HTTP/1.1 keep-alive load generator of the requests/s suite: a fixed
// number of connections as fast as the path answers, its summary read as JSON from a Lua done() hook.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeshError } from '../../src/common/errors.js';
import { runTool, tail, type RunIn } from './run-in.js';

/** The line prefix of the JSON summary the done() hook prints. */
const JSON_MARK = 'WRK_JSON ';

/**
 * wrk's Lua done() hook (wrk's SCRIPTING doc: `done(summary, latency, requests)`): the summary and
 * latency percentiles as one JSON line, exact figures instead of wrk's rounded human-readable table.
 * summary.duration and latencies are microseconds; errors.status counts non-2xx/3xx answers.
 */
export const WRK_DONE_SCRIPT = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('${JSON_MARK}{"requests":%d,"durationUs":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyUs":{"min":%d,"mean":%.3f,"max":%d,"p50":%d,"p90":%d,"p99":%d}}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
`;

export interface WrkOptions {
  readonly host: string;
  readonly port: number;
  /** Request path, e.g. `/rps`. */
  readonly path: string;
  /** Keep-alive connections held open for the whole run. */
  readonly connections: number;
  /** wrk threads (event loops); at most `connections`. */
  readonly threads: number;
  /** Whole seconds (wrk's -d takes integer s/m/h units). */
  readonly durationS: number;
  /** A request with no answer after this long counts as a timeout error (seconds, default 5). */
  readonly timeoutS?: number;
}

export interface WrkResult {
  readonly requests: number;
  /** Wall time of the run as wrk measured it, seconds. */
  readonly seconds: number;
  readonly bytes: number;
  readonly errors: { readonly connect: number; readonly read: number; readonly write: number; readonly status: number; readonly timeout: number };
  /** requests / seconds. */
  readonly requestsPerSecond: number;
  /** Latency of the answered requests under this (saturating) load, ms. */
  readonly latencyMs: { readonly min: number; readonly mean: number; readonly max: number; readonly p50: number; readonly p90: number; readonly p99: number };
}

/** The wrk command line (script path given by the caller). */
export function wrkCommand(o: WrkOptions, scriptPath: string): string[] {
  if (!Number.isInteger(o.durationS) || o.durationS < 1) throw new MeshError('CONFIG_INVALID', `wrk duration ${o.durationS}: whole seconds ≥ 1`);
  if (o.threads < 1 || o.threads > o.connections) throw new MeshError('CONFIG_INVALID', `wrk: ${o.threads} threads for ${o.connections} connections`);
  return [
    'wrk',
    `--threads=${o.threads}`,
    `--connections=${o.connections}`,
    `--duration=${o.durationS}s`,
    `--timeout=${o.timeoutS ?? 5}s`,
    `--script=${scriptPath}`,
    `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}${o.path}`,
  ];
}

/** The done() hook's JSON line out of wrk's stdout. */
export function parseWrkOutput(stdout: string): WrkResult {
  const line = stdout.split('\n').find((l) => l.startsWith(JSON_MARK));
  if (line === undefined) throw new MeshError('BENCH_TOOL', `wrk printed no summary: ${tail(stdout)}`);
  let raw: { requests: number; durationUs: number; bytes: number; errors: WrkResult['errors']; latencyUs: Record<'min' | 'mean' | 'max' | 'p50' | 'p90' | 'p99', number> };
  try {
    raw = JSON.parse(line.slice(JSON_MARK.length)) as typeof raw;
  } catch (e) {
    throw new MeshError('BENCH_TOOL', `wrk summary is not JSON: ${line}`, { cause: e });
  }
  const seconds = raw.durationUs / 1e6;
  const ms = (us: number): number => us / 1000;
  const l = raw.latencyUs;
  return {
    requests: raw.requests,
    seconds,
    bytes: raw.bytes,
    errors: raw.errors,
    requestsPerSecond: seconds > 0 ? raw.requests / seconds : 0,
    latencyMs: { min: ms(l.min), mean: ms(l.mean), max: ms(l.max), p50: ms(l.p50), p90: ms(l.p90), p99: ms(l.p99) },
  };
}

/** Runs wrk where `runIn` says (the client pod) and returns its summary. */
export async function runWrkIn(runIn: RunIn, o: WrkOptions): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ambit-wrk-'));
  try {
    const script = join(dir, 'done.lua');
    writeFileSync(script, WRK_DONE_SCRIPT);
    const res = await runTool(runIn, wrkCommand(o, script), { timeoutMs: (o.durationS + (o.timeoutS ?? 5) + 15) * 1000 });
    return parseWrkOutput(res.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
