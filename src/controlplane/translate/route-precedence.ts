// Match precedence among all routes of one service port (Gateway API HTTPRoute "Match precedence",
// GRPCRoute by Istio's conversion to paths): the model's routes are in this order, first match wins.
//
// Order, each step only on a tie: Exact path > PathPrefix (longer value first) > RegularExpression
// (Istio: longer pattern first); a method; more headers; more query params; older
// creationTimestamp; `namespace/name` alphabetical; rule order; match order.

import type { RouteMatch } from '../../waypoint/model/route-model.js';

/** What precedence compares about one match of one rule. */
export interface PrecedenceKey {
  /** 0 Exact, 1 prefix, 2 regular expression. */
  readonly pathRank: 0 | 1 | 2;
  readonly pathLength: number;
  readonly hasMethod: boolean;
  readonly headers: number;
  readonly queryParams: number;
  /** RFC 3339 creationTimestamp; '' when unset (manifests), which sorts as the oldest. */
  readonly created: string;
  /** `namespace/name` of the route object. */
  readonly object: string;
  readonly rule: number;
  readonly match: number;
}

/**
 * A GRPCRoute match as the HTTP path Istio turns it into (pilot/pkg/config/kube/gateway
 * conversion.go createGRPCURIMatch): service+method Exact ⇒ Exact `/s/m`; service only ⇒ prefix
 * `/s/`; method only or a regex ⇒ a regular expression; neither ⇒ prefix `/`.
 */
function grpcPath(grpc: NonNullable<RouteMatch['grpc']>): { rank: 0 | 1 | 2; length: number } {
  const { service, method } = grpc;
  if (grpc.type === 'Exact') {
    if (service && method) return { rank: 0, length: `/${service}/${method}`.length };
    if (service) return { rank: 1, length: `/${service}/`.length };
    if (method) return { rank: 2, length: `/[^/]+/${method}`.length };
    return { rank: 1, length: 1 };
  }
  return { rank: 2, length: `/${service || '[^/]+'}/${method || '.+'}`.length };
}

export function precedenceKey(match: RouteMatch, meta: Pick<PrecedenceKey, 'created' | 'object' | 'rule' | 'match'>): PrecedenceKey {
  let pathRank: 0 | 1 | 2 = 1;
  let pathLength = 1; // no path = PathPrefix "/"
  if (match.grpc) {
    const g = grpcPath(match.grpc);
    pathRank = g.rank;
    pathLength = g.length;
  } else if (match.path) {
    pathRank = match.path.type === 'Exact' ? 0 : match.path.type === 'RegularExpression' ? 2 : 1;
    pathLength = match.path.value.length;
  }
  return {
    pathRank,
    pathLength,
    hasMethod: match.method !== undefined,
    headers: match.headers?.length ?? 0,
    queryParams: match.queryParams?.length ?? 0,
    ...meta,
  };
}

const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Negative when `a` takes precedence over `b`. A total order: no two keys of one port compare 0. */
export function comparePrecedence(a: PrecedenceKey, b: PrecedenceKey): number {
  return (
    a.pathRank - b.pathRank ||
    b.pathLength - a.pathLength ||
    Number(b.hasMethod) - Number(a.hasMethod) ||
    b.headers - a.headers ||
    b.queryParams - a.queryParams ||
    cmpStr(a.created, b.created) ||
    cmpStr(a.object, b.object) ||
    a.rule - b.rule ||
    a.match - b.match
  );
}

/** `entries` sorted by precedence (a new array). */
export function sortByPrecedence<T extends { readonly key: PrecedenceKey }>(entries: readonly T[]): T[] {
  return [...entries].sort((a, b) => comparePrecedence(a.key, b.key));
}
