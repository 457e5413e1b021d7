// Gateway API route filters (HTTPRoute/GRPCRoute rules and backendRefs) → the route model's header
// mutations, rewrite, redirect and mirrors. A filter that cannot be honoured drops its whole rule.
//
// Spec rules enforced (apis/v1/httproute_types.go): RequestHeaderModifier, ResponseHeaderModifier,
// RequestRedirect, URLRewrite and CORS at most once per list; RequestRedirect not with URLRewrite
// (IncompatibleFilters); ReplacePrefixMatch only when the rule has exactly one match, a PathPrefix.

import type { Cluster, CorsPolicy, HeaderMutation, Mirror, PathModifier, Redirect, UrlRewrite } from '../../waypoint/model/route-model.js';
import { resolveBackendRef, type BackendRefView } from './backend-refs.js';
import { compileGatewayCors, type GatewayCorsView } from './cors-policy.js';
import type { RouteContext } from './route-context.js';

interface HeaderFilterView {
  readonly set?: readonly { readonly name: string; readonly value: string }[];
  readonly add?: readonly { readonly name: string; readonly value: string }[];
  readonly remove?: readonly string[];
}

interface PathModifierView {
  readonly type?: string;
  readonly replaceFullPath?: string;
  readonly replacePrefixMatch?: string;
}

export interface FilterView {
  readonly type?: string;
  readonly requestHeaderModifier?: HeaderFilterView;
  readonly responseHeaderModifier?: HeaderFilterView;
  readonly requestRedirect?: {
    readonly scheme?: string;
    readonly hostname?: string;
    readonly path?: PathModifierView;
    readonly port?: number;
    readonly statusCode?: number;
  };
  readonly urlRewrite?: { readonly hostname?: string; readonly path?: PathModifierView };
  readonly requestMirror?: {
    readonly backendRef?: BackendRefView;
    readonly percent?: number;
    readonly fraction?: { readonly numerator?: number; readonly denominator?: number };
  };
  readonly cors?: GatewayCorsView;
  readonly extensionRef?: { readonly group?: string; readonly kind?: string; readonly name?: string };
}

/** What a filter list compiled into. `extensionRef`: an ExtensionRef Ambit cannot run (answer 500). */
export interface CompiledFilters {
  readonly requestHeaders?: HeaderMutation;
  readonly responseHeaders?: HeaderMutation;
  readonly rewrite?: UrlRewrite;
  readonly redirect?: Redirect;
  readonly mirrors?: readonly Mirror[];
  readonly extensionRef?: boolean;
  readonly cors?: CorsPolicy;
}

export interface FilterOptions {
  /** Filter types allowed in this list (rule or backendRef level, HTTPRoute or GRPCRoute). */
  readonly allowed: ReadonlySet<string>;
  /** The rule's single PathPrefix match value, when it has exactly one match and it is a PathPrefix. */
  readonly prefixMatch: string | undefined;
}

const ONCE = new Set(['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'URLRewrite', 'CORS']);
const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);
/** Filter types the Gateway API defines but Ambit's waypoint does not implement. */
const UNIMPLEMENTED = new Set(['ExternalAuth']);

/** Compiles `filters` (at field path `at`); undefined when the rule must be dropped (reported). */
export function compileFilters(filters: readonly FilterView[], at: string, ctx: RouteContext, opts: FilterOptions, clusters: Map<string, Cluster>): CompiledFilters | undefined {
  const seen = new Set<string>();
  let out: { -readonly [K in keyof CompiledFilters]: CompiledFilters[K] } = {};
  const mirrors: Mirror[] = [];
  for (const [i, f] of filters.entries()) {
    const here = `${at}[${i}]`;
    const type = f.type ?? '';
    if (!opts.allowed.has(type)) {
      const why = UNIMPLEMENTED.has(type)
        ? `filter type "${type}" is not supported by Ambit's waypoint`
        : type === 'CORS'
          ? 'a CORS filter is supported on HTTPRoute rules, not on backendRefs or GRPCRoutes'
          : `unsupported filter type "${type}"`;
      return drop(ctx, `${here}.type`, `UnsupportedValue: ${why}; rule dropped`);
    }
    if (ONCE.has(type) && seen.has(type)) return drop(ctx, `${here}.type`, `UnsupportedValue: filter "${type}" may appear only once; rule dropped`);
    seen.add(type);
    switch (type) {
      case 'RequestHeaderModifier':
        out.requestHeaders = headerMutation(f.requestHeaderModifier);
        break;
      case 'ResponseHeaderModifier':
        out.responseHeaders = headerMutation(f.responseHeaderModifier);
        break;
      case 'RequestRedirect': {
        const r = f.requestRedirect ?? {};
        const code = r.statusCode ?? 302;
        if (!REDIRECT_CODES.has(code)) return drop(ctx, `${here}.requestRedirect.statusCode`, `UnsupportedValue: status code ${code} is not 301, 302, 303, 307 or 308; rule dropped`);
        if (r.scheme !== undefined && r.scheme !== 'http' && r.scheme !== 'https') {
          return drop(ctx, `${here}.requestRedirect.scheme`, `UnsupportedValue: scheme "${r.scheme}" is not http or https; rule dropped`);
        }
        const path = r.path ? pathModifier(r.path, `${here}.requestRedirect.path`, ctx, opts) : undefined;
        if (path === null) return undefined;
        out.redirect = {
          statusCode: code as Redirect['statusCode'],
          ...(r.scheme !== undefined ? { scheme: r.scheme } : {}),
          ...(r.hostname ? { hostname: r.hostname } : {}),
          ...(r.port !== undefined ? { port: r.port } : {}),
          ...(path ? { path } : {}),
        };
        break;
      }
      case 'URLRewrite': {
        const r = f.urlRewrite ?? {};
        const path = r.path ? pathModifier(r.path, `${here}.urlRewrite.path`, ctx, opts) : undefined;
        if (path === null) return undefined;
        out.rewrite = { ...(r.hostname ? { hostname: r.hostname } : {}), ...(path ? { path } : {}) };
        break;
      }
      case 'RequestMirror': {
        const m = mirror(f, here, ctx, clusters);
        if (m) mirrors.push(m);
        break;
      }
      case 'CORS':
        out.cors = compileGatewayCors(f.cors ?? {});
        break;
      case 'ExtensionRef': {
        // An unresolvable custom filter is not skipped (HTTPRouteFilter): requests get an error. Ambit
        // knows no extension kinds, so the reference is reported as ResolvedRefs InvalidKind.
        const ref = f.extensionRef ?? {};
        ctx.problems.error(
          ctx.object,
          `${here}.extensionRef`,
          `InvalidKind: ExtensionRef filter ${ref.group ?? ''}/${ref.kind ?? ''} "${ref.name ?? ''}" is not supported by Ambit's waypoint; matching requests are answered 500`,
        );
        out.extensionRef = true;
        break;
      }
      default:
        return drop(ctx, `${here}.type`, `UnsupportedValue: unsupported filter type "${type}"; rule dropped`);
    }
  }
  if (out.redirect && out.rewrite) return drop(ctx, at, 'IncompatibleFilters: RequestRedirect and URLRewrite cannot be used together; rule dropped');
  if (mirrors.length > 0) out = { ...out, mirrors };
  return out;
}

function drop(ctx: RouteContext, field: string, reason: string): undefined {
  ctx.problems.error(ctx.object, field, reason);
  return undefined;
}

/** Header names are case-insensitive: the model carries them lower case. */
function headerMutation(h: HeaderFilterView | undefined): HeaderMutation {
  const lower = (l: readonly { readonly name: string; readonly value: string }[] | undefined) => (l ?? []).map((x) => ({ name: x.name.toLowerCase(), value: x.value }));
  const out: { set?: HeaderMutation['set']; add?: HeaderMutation['add']; remove?: HeaderMutation['remove'] } = {};
  if (h?.set?.length) out.set = lower(h.set);
  if (h?.add?.length) out.add = lower(h.add);
  if (h?.remove?.length) out.remove = h.remove.map((n) => n.toLowerCase());
  return out;
}

/** A path modifier; null when invalid (reported). */
function pathModifier(p: PathModifierView, at: string, ctx: RouteContext, opts: FilterOptions): PathModifier | null {
  if (p.type === 'ReplaceFullPath') return { type: 'ReplaceFullPath', value: p.replaceFullPath ?? '/' };
  if (p.type === 'ReplacePrefixMatch') {
    if (opts.prefixMatch === undefined) {
      ctx.problems.error(ctx.object, `${at}.type`, 'UnsupportedValue: ReplacePrefixMatch needs a rule with exactly one match, of type PathPrefix; rule dropped');
      return null;
    }
    return { type: 'ReplacePrefixMatch', prefix: opts.prefixMatch, value: p.replacePrefixMatch ?? '' };
  }
  ctx.problems.error(ctx.object, `${at}.type`, `UnsupportedValue: unsupported path modifier type "${p.type ?? ''}"; rule dropped`);
  return null;
}

/**
 * RequestMirror: percent, or fraction converted as Istio does (100·numerator/denominator), else
 * 100 %. An unresolvable mirror backend is not configured (spec: ResolvedRefs=False), the rule serves.
 */
function mirror(f: FilterView, here: string, ctx: RouteContext, clusters: Map<string, Cluster>): Mirror | undefined {
  const m = f.requestMirror;
  if (m?.backendRef === undefined) {
    ctx.problems.error(ctx.object, `${here}.requestMirror.backendRef`, 'a RequestMirror needs a backendRef; mirror not configured');
    return undefined;
  }
  const resolved = resolveBackendRef(m.backendRef, ctx.namespace, ctx.snapshot, ctx.options);
  if (!resolved.ok) {
    ctx.problems.error(ctx.object, `${here}.requestMirror.backendRef`, `${resolved.reason}: ${resolved.message}; mirror not configured`);
    return undefined;
  }
  clusters.set(resolved.cluster.name, resolved.cluster);
  let percent = 100;
  if (m.percent !== undefined) percent = m.percent;
  else if (m.fraction !== undefined) percent = (100 * (m.fraction.numerator ?? 0)) / (m.fraction.denominator ?? 100);
  return { cluster: resolved.cluster.name, percent: Math.min(100, Math.max(0, percent)) };
}
