// Whether one RouteMatch (path, headers, query parameters, method, gRPC service/method; all ANDed)
// matches a request, per Gateway API HTTPRouteMatch/GRPCRouteMatch and Istio HTTPMatchRequest.

import { MeshError } from '../../common/errors.js';
import type { PathMatch, RouteMatch } from '../model/route-model.js';
import { headerValue } from './header-map.js';
import { queryParam } from './query-param.js';
import { compileRegex } from './re2-regex.js';
import type { RequestView } from './request-view.js';
import { compileStringMatch, type StringTest } from './string-match.js';

/** A RouteMatch with every regex compiled and every value prepared; immutable, shareable. */
export interface CompiledRouteMatch {
  readonly path: ((path: string) => boolean) | undefined;
  readonly method: string | undefined;
  readonly headers: readonly { readonly name: string; readonly test: StringTest }[];
  readonly queryParams: readonly { readonly name: string; readonly test: StringTest }[];
  readonly grpc: ((path: string) => boolean) | undefined;
}

/** Compiles a match once; throws MeshError CONFIG_INVALID for a bad regex or unknown type. */
export function compileRouteMatch(match: RouteMatch): CompiledRouteMatch {
  return {
    path: match.path === undefined ? undefined : compilePathMatch(match.path),
    method: match.method,
    headers: (match.headers ?? []).map((h) => ({ name: h.name, test: compileStringMatch(h.type, h.value, h.invert === true) })),
    queryParams: (match.queryParams ?? []).map((q) => ({ name: q.name, test: compileStringMatch(q.type, q.value) })),
    grpc: match.grpc === undefined ? undefined : compileGrpcMatch(match.grpc),
  };
}

/**
 * Does one RouteMatch match? All set fields must (AND); an empty match matches everything.
 * Pass `compiled` (from compileRouteMatch) on the hot path; without it the match is compiled here.
 */
export function routeMatches(match: RouteMatch, req: RequestView, compiled?: CompiledRouteMatch): boolean {
  const c = compiled ?? compileRouteMatch(match);
  // Cheapest checks first: method and path are plain string compares.
  if (c.method !== undefined && req.method !== c.method) return false;
  if (c.path !== undefined && !c.path(req.path)) return false;
  if (c.grpc !== undefined && !c.grpc(req.path)) return false;
  for (const h of c.headers) {
    if (!h.test(headerValue(req.headers, h.name))) return false;
  }
  for (const q of c.queryParams) {
    if (!q.test(queryParam(req.query, q.name))) return false;
  }
  return true;
}

/**
 * Path predicates. PathPrefix is element-wise with one trailing '/' of the value ignored (Istio
 * trims it and emits Envoy path_separated_prefix); Prefix is VirtualService's plain string
 * prefix. Case-insensitive variants (VirtualService ignoreUriCase) run as precompiled `i`
 * regexes so the request path is never lower-cased per request.
 */
function compilePathMatch(m: PathMatch): (path: string) => boolean {
  const ignoreCase = m.ignoreCase === true;
  switch (m.type) {
    case 'Exact': {
      const v = m.value;
      if (!ignoreCase) return (p) => p === v;
      const re = new RegExp(`^${escapeRegex(v)}$`, 'iu');
      return (p) => re.test(p);
    }
    case 'Prefix': {
      const v = m.value;
      if (!ignoreCase) return (p) => p.startsWith(v);
      const re = new RegExp(`^${escapeRegex(v)}`, 'iu');
      return (p) => re.test(p);
    }
    case 'PathPrefix': {
      const v = trimTrailingSlash(m.value);
      if (v === '/') return () => true;
      if (ignoreCase) {
        const re = new RegExp(`^${escapeRegex(v)}(?:/|$)`, 'iu');
        return (p) => re.test(p);
      }
      return (p) => p.startsWith(v) && (p.length === v.length || p.charCodeAt(v.length) === 0x2f);
    }
    case 'RegularExpression': {
      const re = compileRegex(m.value, { ignoreCase });
      return (p) => re.test(p);
    }
    default: {
      const unknown: never = m.type;
      throw new MeshError('CONFIG_INVALID', `unknown path match type ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * GRPCRoute method match: the request path is `/<service>/<method>`; an absent part matches any
 * non-empty value. Exact compares the parts, RegularExpression full-matches each part (Istio
 * builds the equivalent path regex `/<service>/<method>` with `[^/]+` for absent parts).
 */
function compileGrpcMatch(g: NonNullable<RouteMatch['grpc']>): ((path: string) => boolean) | undefined {
  if (g.service === undefined && g.method === undefined) return undefined;
  const part = (value: string | undefined): ((s: string) => boolean) | undefined => {
    if (value === undefined) return undefined;
    if (g.type === 'Exact') return (s) => s === value;
    const re = compileRegex(value);
    return (s) => re.test(s);
  };
  const service = part(g.service);
  const method = part(g.method);
  return (path) => {
    if (path.charCodeAt(0) !== 0x2f) return false;
    const slash = path.indexOf('/', 1);
    if (slash <= 1 || slash === path.length - 1 || path.indexOf('/', slash + 1) >= 0) return false;
    if (service !== undefined && !service(path.slice(1, slash))) return false;
    return method === undefined || method(path.slice(slash + 1));
  };
}

/** PathPrefix value semantics: '/abc/' ≡ '/abc'; '/' stays '/'. */
export function trimTrailingSlash(value: string): string {
  return value.length > 1 && value.endsWith('/') ? value.slice(0, -1) : value;
}

/** Escapes for a `u` pattern, where only SyntaxCharacters (and '/') may be backslashed. */
function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}
