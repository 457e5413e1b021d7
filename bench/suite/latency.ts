// HTTP latency at a fixed request rate (4 keep-alive connections, 1 KB responses) from the client
// pod through a path, with the path's proxies sampled for CPU and peak RSS during the run.

import { MeshError } from '../../src/common/errors.js';
import { runLoadIn, type LoadResult } from '../lib/index.js';
import type { BenchPath } from '../paths/index.js';
import { sampleProxies, type ProxyUsage } from './proxy-usage.js';

export interface LatencySettings {
  readonly rate: number;
  readonly connections: number;
  readonly durationS: number;
  /** Unmeasured warm-up requests per connection (they do cross the proxies while sampled). */
  readonly warmupRequests: number;
  /** Seconds of the same load first, neither measured nor sampled (0: none); see BenchSettings.latencyPrewarmS. */
  readonly prewarmS: number;
}

export interface ProxyLoadUsage extends ProxyUsage {
  /**
   * CPU seconds per 1000 requests, i.e. the cores this proxy needs per 1000 requests/s. Divided by
   * every request that crossed it while sampled (measured + failed + warm-up), so the sampler's
   * extra wall time around the load (process start, warm-up) does not dilute the figure.
   */
  readonly cpuPer1kRps: number;
}

export interface LatencyRecord {
  readonly settings: LatencySettings;
  readonly load: LoadResult;
  /** Requests that crossed the path while the proxies were sampled. */
  readonly requestsSampled: number;
  readonly proxies: readonly ProxyLoadUsage[];
}

export async function measureLatency(path: BenchPath, s: LatencySettings): Promise<LatencyRecord> {
  const t = path.target();
  if (s.prewarmS > 0) {
    // Same rate, connections and request as the measured run; only its failure matters here.
    const warm = await runLoadIn(t.client, { host: t.host, port: t.httpPort, path: '/latency', rate: s.rate, connections: s.connections, durationS: s.prewarmS, warmupRequests: 0 });
    if (warm.count === 0) throw new MeshError('BENCH_TOOL', `pre-warm at ${s.rate} req/s got no answer (${warm.errors} errors)`);
  }
  const { result: load, usage } = await sampleProxies(path.proxies(), () =>
    runLoadIn(t.client, {
      host: t.host,
      port: t.httpPort,
      path: '/latency',
      rate: s.rate,
      connections: s.connections,
      durationS: s.durationS,
      warmupRequests: s.warmupRequests,
    }),
  );
  const requestsSampled = load.count + load.errors + s.warmupRequests * s.connections;
  const proxies = usage.map((u) => ({ ...u, cpuPer1kRps: requestsSampled > 0 ? (u.cpuSeconds * 1000) / requestsSampled : NaN }));
  return { settings: s, load, requestsSampled, proxies };
}
