// One GRPCRoute (gateway.networking.k8s.io/v1) → model Routes with `grpc` matches (service/method,
// Exact or RegularExpression) plus header matches; same filters and backends as HTTPRoute, minus
// redirect and rewrite (GRPCRoute defines neither).

import type { KubeObject } from '../../k8s/index.js';
import type { HeaderMatch, RouteMatch } from '../../waypoint/model/route-model.js';
import { compileStringMatches, type StringMatchView } from './http-route-compile.js';
import { compileAction, type RouteBackendView } from './route-action.js';
import type { RouteContext } from './route-context.js';
import { compileFilters, type FilterView } from './route-filters.js';
import { compileRouteRules, type CompiledRoute } from './route-rules.js';
import { re2Problem } from './re2-check.js';

interface GrpcMatchView {
  readonly method?: { readonly type?: string; readonly service?: string; readonly method?: string };
  readonly headers?: readonly StringMatchView[];
}

interface GrpcRuleView {
  readonly matches?: readonly GrpcMatchView[];
  readonly filters?: readonly FilterView[];
  readonly backendRefs?: readonly RouteBackendView[];
}

const RULE_FILTERS = new Set(['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror', 'ExtensionRef']);
const BACKEND_FILTERS = new Set(['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror']);

export function compileGrpcRoute(route: KubeObject<'GRPCRoute'>, ctx: RouteContext): CompiledRoute {
  return compileRouteRules<GrpcRuleView, GrpcMatchView>(ctx, {
    kind: 'GRPCRoute',
    name: route.metadata.name,
    creationTimestamp: route.metadata.creationTimestamp,
    rules: ((route.spec as { rules?: readonly GrpcRuleView[] } | undefined)?.rules ?? [{}]) as readonly GrpcRuleView[],
    matchesOf: (rule) => rule.matches,
    compileMatch: (m, at) => compileGrpcMatch(m, at, ctx),
    compileBody: (rule, at, _matches, ruleClusters) => {
      const filters = compileFilters(rule.filters ?? [], `${at}.filters`, ctx, { allowed: RULE_FILTERS, prefixMatch: undefined }, ruleClusters);
      if (filters === undefined) return undefined;
      const action = compileAction(rule.backendRefs ?? [], filters, at, ctx, { allowed: BACKEND_FILTERS, prefixMatch: undefined }, ruleClusters);
      if (action === undefined) return undefined;
      return {
        action,
        fields: {
          ...(filters.requestHeaders ? { requestHeaders: filters.requestHeaders } : {}),
          ...(filters.responseHeaders ? { responseHeaders: filters.responseHeaders } : {}),
          ...(filters.mirrors ? { mirrors: filters.mirrors } : {}),
        },
      };
    },
  });
}

/** One GRPCRouteMatch; no method match = any method. undefined when invalid (reported). */
function compileGrpcMatch(m: GrpcMatchView, at: string, ctx: RouteContext): RouteMatch | undefined {
  const headers = compileStringMatches(m.headers, `${at}.headers`, ctx, (n) => n.toLowerCase());
  if (headers === undefined) return undefined;
  const out: { grpc?: RouteMatch['grpc']; headers?: HeaderMatch[] } = {};
  if (headers.length) out.headers = headers as HeaderMatch[];
  if (m.method === undefined) return out;
  const type = m.method.type ?? 'Exact';
  if (type !== 'Exact' && type !== 'RegularExpression') {
    ctx.problems.error(ctx.object, `${at}.method.type`, `UnsupportedValue: unsupported method match type "${type}"; rule dropped`);
    return undefined;
  }
  const { service, method } = m.method;
  if (!service && !method) {
    ctx.problems.error(ctx.object, `${at}.method`, 'UnsupportedValue: one or both of service and method must be set; rule dropped');
    return undefined;
  }
  if (type === 'RegularExpression') {
    for (const [field, value] of [['service', service], ['method', method]] as const) {
      const why = value ? re2Problem(value) : undefined;
      if (why !== undefined) {
        ctx.problems.error(ctx.object, `${at}.method.${field}`, `UnsupportedValue: ${why}; rule dropped`);
        return undefined;
      }
    }
  }
  out.grpc = { type, ...(service ? { service } : {}), ...(method ? { method } : {}) };
  return out;
}
