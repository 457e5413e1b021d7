// HTTP keep-alive requests/s through a path: wrk from the client pod with a fixed number of keep-alive
// connections for a fixed time, as fast as the path answers, the proxies' CPU and RSS sampled meanwhile.

import { MeshError } from '../../src/common/errors.js';
import { runWrkIn, type WrkResult } from '../lib/index.js';
import type { BenchPath } from '../paths/index.js';
import { sampleProxies, type ProxyUsage } from './proxy-usage.js';

export interface HttpRpsSettings {
  /** Keep-alive connections, held for the whole run. */
  readonly connections: number;
  /** wrk threads. */
  readonly threads: number;
  /** Measured seconds (whole seconds: wrk's unit). */
  readonly durationS: number;
  /** An unmeasured, unsampled wrk run before (JIT and pools warm on every path alike); 0: none. */
  readonly warmupS: number;
}

/** A proxy's cost at the path's maximum keep-alive rate, normalised per 1000 requests/s. */
export interface ProxyRpsUsage extends ProxyUsage {
  /** vCPUs per 1000 requests/s: CPU seconds × 1000 / requests answered while sampled. */
  readonly cpuPer1kRps: number;
  /** Peak RSS (MB) ÷ (requests/s ÷ 1000): memory per 1000 requests/s of this load. */
  readonly rssMbPer1kRps: number;
}

export interface HttpRpsRecord {
  readonly settings: HttpRpsSettings;
  readonly wrk: WrkResult;
  /** The table's figure: requests answered per second. */
  readonly requestsPerSecond: number;
  readonly proxies: readonly ProxyRpsUsage[];
}

const MB = 1024 * 1024;

/**
 * Normalises one proxy's usage per 1000 requests/s. CPU is divided by the requests, not by the
 * wall time × rate, so the sampler's few ms around the wrk process (start, exit) dilute nothing;
 * RSS is not a rate: its figure is peak MB per 1000 req/s at this load (peak ÷ rate × 1000).
 * NaN when no request was answered.
 */
export function perThousandRps(
  usage: { readonly cpuSeconds: number; readonly peakRssBytes: number },
  requests: number,
  seconds: number,
): { cpuPer1kRps: number; rssMbPer1kRps: number } {
  if (!(requests > 0 && seconds > 0)) return { cpuPer1kRps: NaN, rssMbPer1kRps: NaN };
  const rate = requests / seconds;
  return { cpuPer1kRps: (usage.cpuSeconds * 1000) / requests, rssMbPer1kRps: usage.peakRssBytes / MB / (rate / 1000) };
}

/**
 * A run with errors is a failed run, not a figure: a proxy that answers 502 at once, or drops
 * connections, would otherwise show a high requests/s for work it did not do.
 */
export function checkWrkErrors(w: WrkResult): void {
  const e = w.errors;
  const total = e.connect + e.read + e.write + e.status + e.timeout;
  if (w.requests === 0 || total > 0) {
    throw new MeshError('BENCH_TOOL', `wrk: ${w.requests} requests with errors ${JSON.stringify(e)} (non-2xx/3xx answers count as status errors)`);
  }
}

export async function measureHttpRps(path: BenchPath, s: HttpRpsSettings): Promise<HttpRpsRecord> {
  const t = path.target();
  const wrk = { host: t.host, port: t.httpPort, path: '/rps', connections: s.connections, threads: s.threads };
  if (s.warmupS > 0) await runWrkIn(t.client, { ...wrk, durationS: s.warmupS });
  const { result, usage } = await sampleProxies(path.proxies(), () => runWrkIn(t.client, { ...wrk, durationS: s.durationS }));
  checkWrkErrors(result);
  const proxies = usage.map((u) => ({ ...u, ...perThousandRps(u, result.requests, result.seconds) }));
  return { settings: s, wrk: result, requestsPerSecond: result.requestsPerSecond, proxies };
}
