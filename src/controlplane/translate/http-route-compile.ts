// One HTTPRoute (gateway.networking.k8s.io/v1) → model Routes, one per match of each rule (as
// Istio splits them), each with its precedence key. An invalid rule is dropped and reported; the
// route's other rules still compile.

import type { KubeObject } from '../../k8s/index.js';
import type { HeaderMatch, PathMatch, QueryParamMatch, RouteMatch } from '../../waypoint/model/route-model.js';
import { compileAction, type RouteBackendView } from './route-action.js';
import type { RouteContext } from './route-context.js';
import { compileFilters, type FilterView } from './route-filters.js';
import { compileRouteRules, type CompiledRoute } from './route-rules.js';
import { compileTimeouts, type RetryView, type TimeoutsView } from './route-timeouts.js';
import { re2Problem } from './re2-check.js';

export type { CompiledRoute } from './route-rules.js';

export interface StringMatchView {
  readonly type?: string;
  readonly name: string;
  readonly value: string;
}

interface HttpMatchView {
  readonly path?: { readonly type?: string; readonly value?: string };
  readonly headers?: readonly StringMatchView[];
  readonly queryParams?: readonly StringMatchView[];
  readonly method?: string;
}

interface HttpRuleView {
  readonly matches?: readonly HttpMatchView[];
  readonly filters?: readonly FilterView[];
  readonly backendRefs?: readonly RouteBackendView[];
  readonly timeouts?: TimeoutsView;
  readonly retry?: RetryView;
}

const RULE_FILTERS = new Set(['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'URLRewrite', 'RequestMirror', 'ExtensionRef', 'CORS']);
const BACKEND_FILTERS = new Set(['RequestHeaderModifier', 'ResponseHeaderModifier', 'URLRewrite', 'RequestMirror']);
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

export function compileHttpRoute(route: KubeObject<'HTTPRoute'>, ctx: RouteContext): CompiledRoute {
  return compileRouteRules<HttpRuleView, HttpMatchView>(ctx, {
    kind: 'HTTPRoute',
    name: route.metadata.name,
    creationTimestamp: route.metadata.creationTimestamp,
    rules: ((route.spec as { rules?: readonly HttpRuleView[] } | undefined)?.rules ?? [{}]) as readonly HttpRuleView[],
    matchesOf: (rule) => rule.matches,
    compileMatch: (m, at) => compileHttpMatch(m, at, ctx),
    compileBody: (rule, at, matches, ruleClusters) => {
      const only = matches.length === 1 ? matches[0]!.path : undefined;
      const prefixMatch = only?.type === 'PathPrefix' ? only.value : undefined;
      const filters = compileFilters(rule.filters ?? [], `${at}.filters`, ctx, { allowed: RULE_FILTERS, prefixMatch }, ruleClusters);
      if (filters === undefined) return undefined;
      const limits = compileTimeouts(rule.timeouts, rule.retry, at, ctx);
      if (limits === undefined) return undefined;
      const action = compileAction(rule.backendRefs ?? [], filters, at, ctx, { allowed: BACKEND_FILTERS, prefixMatch }, ruleClusters);
      if (action === undefined) return undefined;
      return {
        action,
        fields: {
          ...(filters.requestHeaders ? { requestHeaders: filters.requestHeaders } : {}),
          ...(filters.responseHeaders ? { responseHeaders: filters.responseHeaders } : {}),
          ...(filters.rewrite ? { rewrite: filters.rewrite } : {}),
          ...(filters.mirrors ? { mirrors: filters.mirrors } : {}),
          ...(limits.timeouts ? { timeouts: limits.timeouts } : {}),
          ...(limits.retry ? { retry: limits.retry } : {}),
          ...(filters.cors ? { cors: filters.cors } : {}),
        },
      };
    },
  });
}

/** One HTTPRouteMatch; undefined when invalid (reported: the rule is dropped). */
function compileHttpMatch(m: HttpMatchView, at: string, ctx: RouteContext): RouteMatch | undefined {
  const path = compilePath(m.path ?? {}, `${at}.path`, ctx);
  if (path === undefined) return undefined;
  const headers = compileStringMatches(m.headers, `${at}.headers`, ctx, (n) => n.toLowerCase());
  const queryParams = compileStringMatches(m.queryParams, `${at}.queryParams`, ctx, (n) => n);
  if (headers === undefined || queryParams === undefined) return undefined;
  if (m.method !== undefined && !METHODS.has(m.method)) {
    ctx.problems.error(ctx.object, `${at}.method`, `UnsupportedValue: "${m.method}" is not an HTTP method the Gateway API allows; rule dropped`);
    return undefined;
  }
  return {
    path,
    ...(headers.length ? { headers: headers as HeaderMatch[] } : {}),
    ...(queryParams.length ? { queryParams } : {}),
    ...(m.method !== undefined ? { method: m.method } : {}),
  };
}

function compilePath(p: { readonly type?: string; readonly value?: string }, at: string, ctx: RouteContext): PathMatch | undefined {
  const type = p.type ?? 'PathPrefix';
  const value = p.value ?? '/';
  if (type === 'Exact' || type === 'PathPrefix') {
    if (!value.startsWith('/')) {
      ctx.problems.error(ctx.object, `${at}.value`, `UnsupportedValue: path "${value}" must start with "/"; rule dropped`);
      return undefined;
    }
    return { type, value };
  }
  if (type === 'RegularExpression') {
    const why = re2Problem(value);
    if (why !== undefined) {
      ctx.problems.error(ctx.object, `${at}.value`, `UnsupportedValue: ${why}; rule dropped`);
      return undefined;
    }
    return { type, value };
  }
  ctx.problems.error(ctx.object, `${at}.type`, `UnsupportedValue: unsupported path match type "${type}"; rule dropped`);
  return undefined;
}

/**
 * Header or query-param matches: Exact (default) or RegularExpression; only the first entry of a
 * name counts (spec), later ones are ignored. undefined when one is invalid (reported).
 */
export function compileStringMatches(list: readonly StringMatchView[] | undefined, at: string, ctx: RouteContext, norm: (name: string) => string): QueryParamMatch[] | undefined {
  const out: QueryParamMatch[] = [];
  const seen = new Set<string>();
  for (const [i, h] of (list ?? []).entries()) {
    const type = h.type ?? 'Exact';
    if (type !== 'Exact' && type !== 'RegularExpression') {
      ctx.problems.error(ctx.object, `${at}[${i}].type`, `UnsupportedValue: unsupported match type "${type}"; rule dropped`);
      return undefined;
    }
    if (type === 'RegularExpression') {
      const why = re2Problem(h.value);
      if (why !== undefined) {
        ctx.problems.error(ctx.object, `${at}[${i}].value`, `UnsupportedValue: ${why}; rule dropped`);
        return undefined;
      }
    }
    const name = norm(h.name);
    if (seen.has(name)) continue;
    seen.add(name);
    out.push({ name, type, value: h.value });
  }
  return out;
}
