// Cluster endpoints from the mesh state and Envoy's LB policies over them: locality priority
// levels, outlier ejections, then LEAST_REQUEST (power of two choices), ROUND_ROBIN, RANDOM or
// CONSISTENT_HASH (ring hash / Maglev), with the active request count per endpoint.

import { serviceKey, targetPortFor, type ProxyState, type Workload } from '../state/index.js';
import { formatSpiffeId, identityFromWorkload } from '../tls/index.js';
import { hashKey, hashOf, type HashInput } from './hash-policy.js';
import { RingHash, type HashTable } from './hash-ring.js';
import { chooseLocality, choosePriority, localityPlan, priorityLoads, topologyLabels, type LocalityPlan, type LocalitySelf } from './locality.js';
import { MaglevTable } from './maglev-table.js';
import type { Cluster } from './model/route-model.js';

export type { HashInput } from './hash-policy.js';

export interface UpstreamEndpoint {
  /** `uid|ip:port`: the identity of the endpoint in counters and pools. */
  readonly key: string;
  readonly workload: Workload;
  /**
   * The IP dialled; for a plain-TCP endpoint known only by hostname (a ServiceEntry with resolution
   * DNS) the hostname, which the TCP connect resolves (as Envoy's DNS clusters do).
   */
  readonly ip: string;
  /** Target port on the workload. */
  readonly port: number;
  readonly identity: string;
  /** Reached over HBONE (the workload's tunnel protocol), else plain TCP. */
  readonly hbone: boolean;
  readonly healthy: boolean;
}

/**
 * All endpoints of a cluster: workloads of its service with a target port for the cluster's port,
 * on our network, narrowed to `workloadUids`; unhealthy ones are kept (marked) for the dump.
 */
export function clusterEndpoints(state: ProxyState, cluster: Cluster, network: string): readonly UpstreamEndpoint[] {
  // Every request asks (pick, retries); the answer changes only with the mesh state or the
  // cluster (a new object per WaypointConfig), so it is kept per (state, cluster, network) and
  // shared (callers never mutate it). Keyed by the applied snapshot object too, so a new state is
  // seen at once, even by state listeners that run before ours; ours drops the entries on any
  // apply(), also one that re-applies the same snapshot object.
  let cached = ENDPOINTS.get(state);
  if (cached === undefined || cached.snapshot !== state.snapshot()) {
    if (cached === undefined) state.onChange(() => ENDPOINTS.set(state, { snapshot: state.snapshot(), byCluster: new WeakMap() }));
    ENDPOINTS.set(state, (cached = { snapshot: state.snapshot(), byCluster: new WeakMap() }));
  }
  let byNetwork = cached.byCluster.get(cluster);
  if (byNetwork === undefined) cached.byCluster.set(cluster, (byNetwork = new Map()));
  let eps = byNetwork.get(network);
  if (eps === undefined) byNetwork.set(network, (eps = Object.freeze(buildClusterEndpoints(state, cluster, network))));
  return eps;
}

/** clusterEndpoints' cache, per state: the snapshot it was built on, then per cluster and network. */
const ENDPOINTS = new WeakMap<ProxyState, { readonly snapshot: object; readonly byCluster: WeakMap<Cluster, Map<string, readonly UpstreamEndpoint[]>> }>();

function buildClusterEndpoints(state: ProxyState, cluster: Cluster, network: string): UpstreamEndpoint[] {
  const key = serviceKey(cluster.namespace, cluster.hostname);
  const svc = state.serviceByKey(key);
  if (!svc || !svc.ports.has(cluster.port)) return [];
  const allow = cluster.workloadUids ? new Set(cluster.workloadUids) : undefined;
  const out: UpstreamEndpoint[] = [];
  for (const ep of state.endpoints(key)) {
    if (allow && !allow.has(ep.workloadUid)) continue;
    const wl = state.workloadByUid(ep.workloadUid);
    // Cross-network endpoints need an east-west gateway, which the node agent does not do either.
    if (!wl || wl.network !== network) continue;
    const ip = wl.workloadIps[0] ?? (wl.protocol === 'TCP' && wl.hostname !== '' ? wl.hostname : undefined);
    const port = targetPortFor(svc, cluster.port, ep, wl);
    if (ip === undefined || port === undefined) continue;
    const healthy = ep.status === 'Healthy' || svc.loadBalancer?.healthPolicy === 'AllowAll';
    out.push({
      key: `${wl.uid}|${ip}:${port}`,
      workload: wl,
      ip,
      port,
      identity: formatSpiffeId(identityFromWorkload(wl)),
      hbone: wl.protocol === 'HBONE',
      healthy,
    });
  }
  return out;
}


/** Outlier ejections as the load balancer sees them. */
export interface EndpointHealth {
  ejected(cluster: string, endpointKey: string): boolean;
}

export interface LoadBalancerOptions {
  /** Ejected endpoints are not picked (Envoy: FAILED_OUTLIER_CHECK hosts leave the healthy set). */
  readonly health?: EndpointHealth;
  /** The waypoint's own locality and topology labels; undefined ⇒ no locality-aware LB. */
  readonly self?: () => LocalitySelf | undefined;
}

/** One pick's view of a cluster: endpoints by priority level and which of them may take traffic. */
interface Levels {
  readonly plan: LocalityPlan<UpstreamEndpoint>;
  readonly usable: readonly (readonly UpstreamEndpoint[])[];
  readonly loads: readonly number[];
}

/** An endpoint as locality-aware LB compares it with the waypoint. */
const localityOf = (e: UpstreamEndpoint): LocalitySelf => ({ locality: e.workload.locality, labels: topologyLabels(e.workload) });

/** priorityLoads of a single fully usable level. */
const ALL_TO_LEVEL_0: readonly number[] = Object.freeze([100]);

/** Hash tables kept per cluster level. */
const TABLES_KEPT = 4;

/** Envoy's hosts key ring/maglev points on the host address. */
const hostName = (e: UpstreamEndpoint): string => `${e.ip}:${e.port}`;

export class LoadBalancer {
  private readonly active = new Map<string, number>();
  private readonly rr = new Map<string, number>();
  /** Per `cluster|level`, the last few tables, most recent first: an ejection and its return do not rebuild. */
  private readonly tables = new Map<string, Array<{ readonly sig: string; readonly table: HashTable<UpstreamEndpoint> }>>();

  constructor(
    private readonly random: () => number,
    private readonly options: LoadBalancerOptions = {},
  ) {}

  activeRequests(endpointKey: string): number {
    return this.active.get(endpointKey) ?? 0;
  }

  /** Counts a request on `ep` until the returned release is called (idempotent). */
  acquire(ep: UpstreamEndpoint): () => void {
    this.active.set(ep.key, this.activeRequests(ep.key) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = this.activeRequests(ep.key) - 1;
      if (n <= 0) this.active.delete(ep.key);
      else this.active.set(ep.key, n);
    };
  }

  /**
   * How locality shapes this cluster now, for /config_dump: the mode, each endpoint's priority
   * level and (distribute) its locality weight; endpoints a distribute rule leaves out are absent.
   */
  locality(cluster: Cluster, all: readonly UpstreamEndpoint[]): { mode: LocalityPlan<UpstreamEndpoint>['mode']; priority: Map<string, number>; weight: Map<string, number> } {
    const plan = this.levels(cluster, all).plan;
    const priority = new Map<string, number>();
    plan.levels.forEach((level, p) => level.forEach((e) => priority.set(e.key, p)));
    const weight = new Map<string, number>();
    for (const g of plan.groups ?? []) for (const e of g.eps) weight.set(e.key, g.weight);
    return { mode: plan.mode, priority, weight };
  }

  private usable(cluster: Cluster, e: UpstreamEndpoint): boolean {
    return e.healthy && !(this.options.health?.ejected(cluster.name, e.key) ?? false);
  }

  private levels(cluster: Cluster, all: readonly UpstreamEndpoint[]): Levels {
    // Locality needs distribute rules or outlier detection; skip the waypoint's lookup otherwise.
    const mayApply = cluster.outlierDetection !== undefined || (cluster.localityLb?.distribute?.length ?? 0) > 0;
    const plan = localityPlan(mayApply ? this.options.self?.() : undefined, all, localityOf, cluster.localityLb, cluster.outlierDetection !== undefined);
    // Per request: a level whose endpoints are all usable is reused as is (no copy).
    let allUsable = true;
    const usable = plan.levels.map((l) => {
      const u = this.usableOf(cluster, l);
      if (u !== l) allUsable = false;
      return u;
    });
    // One level, all usable (the common case): priorityLoads gives it everything.
    if (allUsable && usable.length === 1 && usable[0]!.length > 0) return { plan, usable, loads: ALL_TO_LEVEL_0 };
    return { plan, usable, loads: priorityLoads(usable.map((l) => l.length), plan.levels.map((l) => l.length)) };
  }

  /** `level` itself when every endpoint in it is usable, else the usable ones. */
  private usableOf(cluster: Cluster, level: readonly UpstreamEndpoint[]): readonly UpstreamEndpoint[] {
    for (const e of level) if (!this.usable(cluster, e)) return level.filter((x) => this.usable(cluster, x));
    return level;
  }

  /**
   * One endpoint by the cluster's policy among the usable (healthy, not ejected) endpoints of one
   * priority level, the level drawn by Envoy's priority load (by the key's hash for
   * CONSISTENT_HASH). Endpoints in `avoid` (tried by earlier attempts) are skipped while another
   * usable one remains (Envoy's previous_hosts retry predicate; not with consistent hashing, where
   * Istio leaves it out). Undefined when nothing is usable (503 UH).
   */
  pick(cluster: Cluster, all: readonly UpstreamEndpoint[], input: HashInput, avoid?: ReadonlySet<string>): UpstreamEndpoint | undefined {
    const lv = this.levels(cluster, all);
    if (lv.loads.every((l) => l === 0)) return undefined;
    const lb = cluster.lb;
    if (lb.kind === 'CONSISTENT_HASH') {
      const key = hashKey(lb.key, input);
      const h = key === undefined ? Math.floor(this.random() * 2 ** 32) : hashOf(key);
      const p = choosePriority(lv.loads, h);
      return this.table(cluster, p, lv.usable[p]!).pick(h);
    }
    const p = choosePriority(lv.loads, Math.floor(this.random() * 100));
    // distribute: a locality by its weight first (Envoy locality-weighted LB), then an endpoint in it.
    const groups = p === 0 ? lv.plan.groups : undefined;
    let eps = (groups && chooseLocality(groups, (e) => this.usable(cluster, e), this.random())) ?? lv.usable[p]!;
    if (avoid && avoid.size > 0) {
      const fresh = (l: readonly UpstreamEndpoint[]): UpstreamEndpoint[] => l.filter((e) => !avoid.has(e.key));
      const here = fresh(eps);
      const elsewhere = here.length > 0 ? here : lv.usable.map(fresh).find((l) => l.length > 0);
      if (elsewhere) eps = elsewhere;
    }
    if (eps.length === 1) return eps[0];
    switch (lb.kind) {
      case 'ROUND_ROBIN': {
        const rrKey = `${cluster.name}|${p}`;
        const i = this.rr.get(rrKey) ?? 0;
        this.rr.set(rrKey, (i + 1) % 1_000_000_007);
        return eps[i % eps.length];
      }
      case 'RANDOM':
        return eps[Math.floor(this.random() * eps.length)];
      case 'LEAST_REQUEST':
      default: {
        // Envoy's LeastRequestLoadBalancer with equal weights: choice_count 2 samples drawn with
        // replacement, the one with fewer active requests wins, the first on a tie.
        const a = eps[Math.floor(this.random() * eps.length)]!;
        const b = eps[Math.floor(this.random() * eps.length)]!;
        return this.activeRequests(b.key) < this.activeRequests(a.key) ? b : a;
      }
    }
  }

  /** The ring/Maglev table of one level, rebuilt only when its host set or algorithm changes. */
  private table(cluster: Cluster, level: number, eps: readonly UpstreamEndpoint[]): HashTable<UpstreamEndpoint> {
    const lb = cluster.lb;
    if (lb.kind !== 'CONSISTENT_HASH') throw new Error('not a consistent-hash cluster');
    const algo = lb.maglev ? `maglev:${lb.maglev.tableSize ?? ''}` : `ring:${lb.ringHash?.minimumRingSize ?? ''}`;
    let sig = algo;
    for (const e of eps) sig += `,${e.key}`;
    const name = `${cluster.name}|${level}`;
    const cached = this.tables.get(name) ?? [];
    const hit = cached.findIndex((c) => c.sig === sig);
    if (hit === 0) return cached[0]!.table;
    const entry = hit > 0 ? cached.splice(hit, 1)[0]! : { sig, table: lb.maglev ? new MaglevTable(eps, hostName, lb.maglev.tableSize) : new RingHash(eps, hostName, lb.ringHash?.minimumRingSize) };
    this.tables.set(name, [entry, ...cached].slice(0, TABLES_KEPT));
    return entry.table;
  }

  /** Forgets per-cluster state (round-robin positions, hash tables) of clusters no longer configured. */
  retain(clusters: ReadonlySet<string>): void {
    for (const map of [this.rr, this.tables]) {
      for (const k of map.keys()) if (!clusters.has(k.slice(0, k.lastIndexOf('|')))) map.delete(k);
    }
  }
}
