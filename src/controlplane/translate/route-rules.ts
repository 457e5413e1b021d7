// The rule loop HTTPRoute and GRPCRoute share: each rule's matches compiled (one invalid match drops
// the rule, reported), the kind's own per-rule parts, then one model Route per match, as Istio splits.

import type { Cluster, Route, RouteAction, RouteMatch } from '../../waypoint/model/route-model.js';
import type { RouteContext } from './route-context.js';
import { precedenceKey, type PrecedenceKey } from './route-precedence.js';

/** A compiled route object: its model Routes (unsorted) and the clusters they name. */
export interface CompiledRoute {
  readonly entries: readonly { readonly route: Route; readonly key: PrecedenceKey }[];
  readonly clusters: readonly Cluster[];
}

/** What a rule adds to each of its match's Routes: the action and the optional filter fields. */
export interface RuleBody {
  readonly action: RouteAction;
  readonly fields: Omit<Partial<Route>, 'name' | 'source' | 'match' | 'action'>;
}

export interface RouteRulesInputs<R, M> {
  readonly kind: 'HTTPRoute' | 'GRPCRoute';
  readonly name: string;
  readonly creationTimestamp: unknown;
  readonly rules: readonly R[];
  readonly matchesOf: (rule: R) => readonly M[] | undefined;
  /** One match; undefined when invalid (it reports why). */
  readonly compileMatch: (m: M, at: string) => RouteMatch | undefined;
  /**
   * The rule's filters, limits and action, in the kind's reporting order; undefined drops the rule
   * (reported). Clusters it names go into `clusters`, kept only when the rule compiles.
   */
  readonly compileBody: (rule: R, at: string, matches: readonly RouteMatch[], clusters: Map<string, Cluster>) => RuleBody | undefined;
}

export function compileRouteRules<R, M extends object>(ctx: RouteContext, i: RouteRulesInputs<R, M>): CompiledRoute {
  const entries: { route: Route; key: PrecedenceKey }[] = [];
  const clusters = new Map<string, Cluster>();
  const object = `${ctx.namespace}/${i.name}`;
  const created = i.creationTimestamp ? String(i.creationTimestamp) : '';
  for (const [r, rule] of i.rules.entries()) {
    const at = `spec.rules[${r}]`;
    const given = i.matchesOf(rule);
    // No matches = one empty match (PathPrefix / for HTTP, any method for gRPC).
    const views: readonly M[] = given?.length ? given : [{} as M];
    const matches: RouteMatch[] = [];
    for (const [j, m] of views.entries()) {
      const compiled = i.compileMatch(m, `${at}.matches[${j}]`);
      if (compiled === undefined) break;
      matches.push(compiled);
    }
    if (matches.length !== views.length) continue;
    const ruleClusters = new Map<string, Cluster>();
    const body = i.compileBody(rule, at, matches, ruleClusters);
    if (body === undefined) continue;
    for (const [c, v] of ruleClusters) clusters.set(c, v);
    for (const [j, match] of matches.entries()) {
      entries.push({
        route: {
          name: `${object}.r${r}.m${j}`,
          source: { kind: i.kind, namespace: ctx.namespace, name: i.name, rule: r, match: j },
          match,
          action: body.action,
          ...body.fields,
        },
        key: precedenceKey(match, { created, object, rule: r, match: j }),
      });
    }
  }
  return { entries, clusters: [...clusters.values()] };
}
