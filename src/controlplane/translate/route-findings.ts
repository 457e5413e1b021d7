// What the waypoint translation found about each Gateway API route, for its status: the service
// ports each parentRef selects at a waypoint and whether the route applies there, which rules compiled.
//
// Filled while WaypointConfigs are built (pure, per snapshot); read once by routeStatuses.

import type { KubeObject } from '../../k8s/index.js';
import type { RouteKind } from './route-attachment.js';
import type { TranslationError } from './types.js';

/**
 * The route at one service port it attaches to: applied, or not and why. `Conflicted`: a
 * VirtualService or a route kind of higher precedence owns the port (GEP-1294), or an older
 * TCPRoute does; `NotAllowedByListeners`: the port's protocol does not take this route kind.
 */
export type PortOutcome =
  | { readonly applied: true }
  | { readonly applied: false; readonly reason: 'Conflicted' | 'NotAllowedByListeners'; readonly message: string };

export const APPLIED: PortOutcome = { applied: true };

/** Everything route status needs from the translation about one route object. */
export interface RouteReport {
  /** parentRefs index → the outcome at each port it selects at a waypoint (absent: none). */
  readonly parents: ReadonlyMap<number, readonly PortOutcome[]>;
  /** How many rules the route has and which were translated (the others were dropped). */
  readonly rules: { readonly total: number; readonly kept: ReadonlySet<number> };
  /** Problems reported against this route object, in the order reported. */
  readonly problems: readonly TranslationError[];
}

/** Rules of a route as its compiler reads them: HTTPRoute/GRPCRoute default to one catch-all rule. */
export function ruleCount(route: KubeObject<RouteKind>): number {
  const rules = (route.spec as { rules?: readonly unknown[] } | undefined)?.rules;
  if (route.kind === 'TCPRoute') return rules?.length ?? 0;
  return (rules ?? [{}]).length;
}

export class RouteFindings {
  private readonly parentPorts = new Map<KubeObject, Map<number, string[]>>();
  private readonly outcomes = new Map<KubeObject, Map<string, PortOutcome>>();
  private readonly kept = new Map<KubeObject, ReadonlySet<number>>();

  /** parentRefs[index] of `route` selects `keys` (`hostname:port`) at some waypoint. */
  attached(route: KubeObject, index: number, keys: readonly string[]): void {
    let byIndex = this.parentPorts.get(route);
    if (byIndex === undefined) this.parentPorts.set(route, (byIndex = new Map()));
    byIndex.set(index, [...(byIndex.get(index) ?? []), ...keys]);
  }

  /** What happened to `route` at port `key`; the first outcome recorded for a port stands. */
  outcome(route: KubeObject, key: string, outcome: PortOutcome): void {
    let byKey = this.outcomes.get(route);
    if (byKey === undefined) this.outcomes.set(route, (byKey = new Map()));
    if (!byKey.has(key)) byKey.set(key, outcome);
  }

  /** The rule indexes of `route` that compiled into the route model. */
  compiled(route: KubeObject, kept: ReadonlySet<number>): void {
    this.kept.set(route, kept);
  }

  has(route: KubeObject): boolean {
    return this.kept.has(route);
  }

  /** The report of a compiled route (a port without a recorded outcome counts as applied). */
  report(route: KubeObject<RouteKind>, problems: readonly TranslationError[]): RouteReport {
    const outcomes = this.outcomes.get(route);
    const parents = new Map<number, PortOutcome[]>();
    for (const [i, keys] of this.parentPorts.get(route) ?? []) parents.set(i, keys.map((k) => outcomes?.get(k) ?? APPLIED));
    return { parents, rules: { total: ruleCount(route), kept: this.kept.get(route) ?? new Set() }, problems };
  }
}
