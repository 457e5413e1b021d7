// Locality failover: Istio's endpoint priorities relative to the proxy's locality (istio
// pilot/pkg/networking/core/loadbalancer/loadbalancer.go applyLocalityFailover) and Envoy's
// priority load from each level's health (source/common/upstream/load_balancer_impl.cc).

import type { Locality } from '../state/index.js';
import type { LocalityLbSetting } from './model/route-model.js';

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
  const byRaw = new Map<number, T[]>();
  for (const ep of eps) {
    const p = rawPriority(self, localityOf(ep), setting?.failover);
    let list = byRaw.get(p);
    if (!list) byRaw.set(p, (list = []));
    list.push(ep);
  }
  return [...byRaw.keys()].sort((a, b) => a - b).map((p) => byRaw.get(p)!);
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
