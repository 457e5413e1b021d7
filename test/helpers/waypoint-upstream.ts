// Helpers for the waypoint's upstream-policy integration tests on the waypoint rig: routes and
// clusters, mesh-state edits, concurrent requests, metrics and /config_dump views.

import type { Workload } from '../../src/state/index.js';
import { clusterName, type Cluster, type Route } from '../../src/waypoint/index.js';
import { metricSum } from './prometheus-text.js';
import { baseCluster, DEFAULT_CLUSTER, H2_CLUSTER, HOST, HTTP_PORT, H2_PORT, MIRROR_CLUSTER, MIRROR_HOST, NS, TCP_PORT, type WaypointRig } from './waypoint-rig.js';

/** One route forwarding everything to `cluster`, with extra fields (retry, timeouts). */
export function forwardRoute(cluster: string, extra: Partial<Route> = {}): Route {
  return { name: 'all', source: { kind: 'HTTPRoute', namespace: NS, name: 'r', rule: 0, match: 0 }, match: {}, action: { kind: 'forward', backends: [{ cluster, weight: 1 }] }, ...extra };
}

/**
 * The rig's clusters with `http` (and `h2`, `tcp`) fields applied to the service's own clusters.
 * With `subset`, the HTTP and HTTP/2 clusters are named after it (fresh breakers and pools; routes
 * forward to them); the old ones leave the config and their connections drain.
 */
export function configure(rig: WaypointRig, p: { http?: Partial<Cluster>; h2?: Partial<Cluster>; tcp?: Partial<Cluster>; route?: Partial<Route>; subset?: string }): { http: string; h2: string } {
  const http = p.subset ? clusterName(HOST, HTTP_PORT, p.subset) : DEFAULT_CLUSTER;
  const h2 = p.subset ? clusterName(HOST, H2_PORT, p.subset) : H2_CLUSTER;
  const clusters = [
    baseCluster(DEFAULT_CLUSTER, HOST, HTTP_PORT, p.subset ? {} : p.http),
    baseCluster(H2_CLUSTER, HOST, H2_PORT, { protocol: 'http2', ...(p.subset ? {} : p.h2) }),
    ...(p.subset ? [baseCluster(http, HOST, HTTP_PORT, { subset: p.subset, ...p.http }), baseCluster(h2, HOST, H2_PORT, { subset: p.subset, protocol: 'http2', ...p.h2 })] : []),
    baseCluster(clusterName(HOST, TCP_PORT), HOST, TCP_PORT, p.tcp),
    baseCluster(MIRROR_CLUSTER, MIRROR_HOST, HTTP_PORT),
  ];
  rig.config(p.route || p.subset ? { http: [forwardRoute(http, p.route)], h2: [forwardRoute(h2, p.route)] } : {}, clusters);
  return { http, h2 };
}

/** Applies the rig's mesh state with each workload passed through `edit` (undefined drops it). */
export function editWorkloads(rig: WaypointRig, edit: (w: Workload) => Workload | undefined): void {
  const s = rig.state.snapshot();
  rig.state.apply({ ...s, workloads: s.workloads.map(edit).filter((w): w is Workload => w !== undefined) });
}

export function uidOf(name: string): string {
  return `Kubernetes//Pod/${NS}/${name}`;
}

/** `n` requests, `concurrency` at a time; results in completion order. */
export async function concurrently<T>(n: number, concurrency: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, async () => {
    while (next < n) out.push(await one(next++));
  }));
  return out;
}

export function tally(values: Iterable<string | undefined>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v ?? 'none'] = (out[v ?? 'none'] ?? 0) + 1;
  return out;
}

export async function metric(rig: WaypointRig, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricSum(await rig.registry.metrics(), name, labels);
}

/** The cluster as /config_dump shows it. */
export function dumpedCluster(rig: WaypointRig, name = DEFAULT_CLUSTER): Record<string, unknown> & { endpoints: Array<Record<string, unknown>> } {
  const dump = rig.proxy.configDump() as { clusters: Array<{ name: string; endpoints: Array<Record<string, unknown>> }> };
  const c = dump.clusters.find((x) => x.name === name);
  if (!c) throw new Error(`cluster ${name} not in the dump`);
  return c as Record<string, unknown> & { endpoints: Array<Record<string, unknown>> };
}

/** Polls `cond` every 10 ms up to `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
