// Locality-aware load balancing: Istio's endpoint priorities and locality weights relative to the
// proxy (istio pilot/pkg/networking/core/loadbalancer/loadbalancer.go: applyLocalityFailover,
// applyFailoverPriorities, applyLocalityWeights) and Envoy's priority load from each level's health.

import type { Locality, Workload } from '../state/index.js';
import type { LocalityLbSetting } from './model/route-model.js';

/** The proxy (or an endpoint) as locality-aware LB sees it: its locality and topology labels. */
export interface LocalitySelf {
  readonly locality: Locality;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * The labels failoverPriority can compare, from what the mesh state knows of a workload (Istio
 * adds the topology labels to every endpoint's labels; pod labels are not in the workload API).
 */
export function topologyLabels(w: Workload): Record<string, string> {
  return {
    'topology.istio.io/network': w.network,
    'topology.kubernetes.io/region': w.locality.region,
    'topology.kubernetes.io/zone': w.locality.zone,
    'topology.istio.io/subzone': w.locality.subzone,
    'topology.istio.io/cluster': w.clusterId,
    'service.istio.io/canonical-name': w.canonicalName,
    'service.istio.io/canonical-revision': w.canonicalRevision,
  };
}

/** Istio util.LocalityMatch: `region/zone/subzone`, `*` or an absent part matches anything (region: only `*`). */
export function localityMatch(l: Locality, rule: string): boolean {
  const [region = '', zone = '', subzone = ''] = rule.split('/');
  return (region === '*' || l.region === region) && (zone === '*' || zone === '' || l.zone === zone) && (subzone === '*' || subzone === '' || l.subzone === subzone);
}

/** Envoy's default overprovisioning factor (ClusterLoadAssignment.Policy.overprovisioning_factor), percent. */
export const OVERPROVISIONING_FACTOR = 140;

/**
 * Istio's LbPriority with the failover rules: 0 same region/zone/subzone, 1 same region/zone,
 * 2 same region, 3 another region, 4 another region when a failover rule `from` our region names
 * a different `to` region (the `to` region stays at 3, so it is tried first).
 */
export function rawPriority(self: Locality, ep: Locality, failover: LocalityLbSetting['failover']): number {
  if (self.region === ep.region) {
    if (self.zone === ep.zone) return self.subzone === ep.subzone ? 0 : 1;
    return 2;
  }
  for (const f of failover ?? []) {
    // The first rule for our region decides (Istio breaks out of the loop on the first `from` match).
    if (f.from === self.region) return ep.region === f.to ? 3 : 4;
  }
  return 3;
}

/**
 * Endpoints grouped by priority, levels renumbered without gaps (Envoy requires 0..N with none
 * skipped, and Istio compacts them the same way). Every endpoint is in exactly one level.
 */
export function priorityLevels<T>(self: Locality, eps: readonly T[], localityOf: (ep: T) => Locality, setting: LocalityLbSetting | undefined): T[][] {
  return byPriority(eps, (ep) => rawPriority(self, localityOf(ep), setting?.failover));
}

/**
 * Envoy's healthy priority load, percent per level, summing to 100 (or all 0 when no level has a
 * usable host): health_i = min(100, 140·usable_i/total_i); the load goes to levels in order, each
 * taking at most health_i·100/Σhealth (Σ capped at 100); the rounding rest goes to the first
 * level with health. So a fully healthy level 0 takes everything; at 50 % usable it keeps 70 %.
 */
export function priorityLoads(usable: readonly number[], total: readonly number[]): number[] {
  const health = usable.map((u, i) => {
    const t = total[i] ?? 0;
    return t === 0 ? 0 : Math.min(100, Math.floor((OVERPROVISIONING_FACTOR * u) / t));
  });
  const normalized = Math.min(100, health.reduce((a, b) => a + b, 0));
  if (normalized === 0) return health.map(() => 0);
  let left = 100;
  let first = -1;
  const loads = health.map((h, i) => {
    if (first < 0 && h > 0) first = i;
    const l = Math.min(left, Math.floor((h * 100) / normalized));
    left -= l;
    return l;
  });
  if (left > 0 && first >= 0) loads[first]! += left;
  return loads;
}

/** Envoy's choosePriority: `hash` (any non-negative integer) ↦ 1..100 ↦ the level whose cumulative load covers it. */
export function choosePriority(loads: readonly number[], hash: number): number {
  const point = (hash % 100) + 1;
  let acc = 0;
  for (let i = 0; i < loads.length; i++) {
    acc += loads[i]!;
    if (point <= acc) return i;
  }
  return 0;
}

/**
 * Istio applyFailoverPriorities: with labels L0..Ln-1 (`key` or `key=value`, the value then
 * standing for the proxy's), an endpoint matching all gets priority 0, else n − j for the first
 * label j it does not share. A label neither side has counts as shared ('' = '').
 */
export function failoverPriority(self: Readonly<Record<string, string>>, ep: Readonly<Record<string, string>>, priorities: readonly string[]): number {
  for (let j = 0; j < priorities.length; j++) {
    const [key = '', value] = priorities[j]!.split('=');
    if ((value ?? self[key] ?? '') !== (ep[key] ?? '')) return priorities.length - j;
  }
  return 0;
}

/** Endpoints grouped by a priority function, levels renumbered without gaps, in priority order. */
function byPriority<T>(eps: readonly T[], priority: (ep: T) => number): T[][] {
  const byRaw = new Map<number, T[]>();
  for (const ep of eps) {
    const p = priority(ep);
    let list = byRaw.get(p);
    if (!list) byRaw.set(p, (list = []));
    list.push(ep);
  }
  return [...byRaw.keys()].sort((a, b) => a - b).map((p) => byRaw.get(p)!);
}

/** How one cluster's endpoints are laid out: priority levels, and with `distribute` weighted locality groups (one level). */
export interface LocalityPlan<T> {
  readonly mode: 'none' | 'failover' | 'failoverPriority' | 'distribute';
  readonly levels: readonly (readonly T[])[];
  readonly groups?: readonly { readonly locality: string; readonly eps: readonly T[]; readonly weight: number }[];
}

/**
 * Istio ApplyLocalityLoadBalancer: off when `enabled` is false or the proxy has no locality;
 * `distribute` (the first rule whose `from` matches us) keeps only endpoints of its `to`
 * localities, each locality weighted ⌈weight / localities matched by that entry⌉ (0 ⇒ dropped);
 * otherwise, with outlier detection only (else nothing would ever fail over),
 * `failoverPriority` levels, or region/zone/subzone levels with the `failover` rules.
 */
export function localityPlan<T>(self: LocalitySelf | undefined, eps: readonly T[], of: (ep: T) => LocalitySelf, setting: LocalityLbSetting | undefined, outlierDetection: boolean): LocalityPlan<T> {
  if (!self || setting?.enabled === false) return { mode: 'none', levels: [eps] };
  const rule = setting?.distribute?.find((d) => localityMatch(self.locality, d.from));
  if (rule) {
    const key = (l: Locality): string => `${l.region}/${l.zone}/${l.subzone}`;
    const byLocality = new Map<string, T[]>();
    for (const ep of eps) {
      const k = key(of(ep).locality);
      let list = byLocality.get(k);
      if (!list) byLocality.set(k, (list = []));
      list.push(ep);
    }
    const groups: { locality: string; eps: T[]; weight: number }[] = [];
    const unmatched = new Set(byLocality.keys());
    for (const [to, weight] of Object.entries(rule.to)) {
      const hit = [...unmatched].filter((k) => localityMatch(of(byLocality.get(k)![0]!).locality, to));
      for (const k of hit) {
        unmatched.delete(k);
        const w = Math.ceil(weight / hit.length);
        if (w > 0) groups.push({ locality: k, eps: byLocality.get(k)!, weight: w });
      }
    }
    return { mode: 'distribute', levels: [groups.flatMap((g) => g.eps)], groups };
  }
  if (!outlierDetection) return { mode: 'none', levels: [eps] };
  if (setting?.failoverPriority && setting.failoverPriority.length > 0) {
    const priorities = setting.failoverPriority;
    return { mode: 'failoverPriority', levels: byPriority(eps, (e) => failoverPriority(self.labels, of(e).labels, priorities)) };
  }
  return { mode: 'failover', levels: priorityLevels(self.locality, eps, (e) => of(e).locality, setting) };
}

/**
 * Envoy's locality-weighted pick within a level: effective weight = weight × min(1, 1.4 ×
 * usable/total) per locality, drawn with `r` in [0, 1). Undefined when no locality has any.
 */
export function chooseLocality<T>(groups: readonly { readonly eps: readonly T[]; readonly weight: number }[], usable: (ep: T) => boolean, r: number): readonly T[] | undefined {
  const eff = groups.map((g) => {
    const u = g.eps.filter(usable);
    return { u, w: g.weight * Math.min(1, (OVERPROVISIONING_FACTOR / 100) * (u.length / g.eps.length)) };
  });
  const total = eff.reduce((a, e) => a + e.w, 0);
  if (total <= 0) return undefined;
  let point = r * total;
  for (const e of eff) {
    if (point < e.w) return e.u;
    point -= e.w;
  }
  return eff.filter((e) => e.w > 0).at(-1)?.u;
}
