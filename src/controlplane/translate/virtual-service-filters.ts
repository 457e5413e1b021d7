// VirtualService request/response handling of one http rule → the route model: `headers`
// (set/add/remove, `:authority`/`host` as an authority rewrite), `rewrite` (uri as Envoy
// prefix_rewrite, uriRegexRewrite as regex_rewrite, authority), `redirect` and `directResponse`
// (istiod route.TranslateHeadersOperations, ApplyRedirect, ApplyDirectResponse).

import type { HeaderMutation, PathModifier, Redirect, RouteMatch, UrlRewrite } from '../../waypoint/model/route-model.js';
import { re2Problem } from './re2-check.js';

interface HeaderOpsView {
  readonly set?: Readonly<Record<string, string>>;
  readonly add?: Readonly<Record<string, string>>;
  readonly remove?: readonly string[];
}

export interface IstioHeadersView {
  readonly request?: HeaderOpsView;
  readonly response?: HeaderOpsView;
}

const isAuthority = (name: string): boolean => name === ':authority' || name === 'host';

/**
 * Header operations with Envoy's order folded in: Envoy removes first, then sets/adds
 * (HeaderParser::evaluateHeaders), the model sets, adds, then removes; so a name both removed
 * and added becomes a set, and a name both removed and set is not removed.
 */
function mutation(ops: HeaderOpsView | undefined, request: boolean): { mutation?: HeaderMutation; authority?: string } {
  if (ops === undefined) return {};
  let authority: string | undefined;
  const removed = new Set((ops.remove ?? []).map((n) => n.toLowerCase()));
  const set: { name: string; value: string }[] = [];
  const add: { name: string; value: string }[] = [];
  for (const [kind, map] of [['set', ops.set], ['add', ops.add]] as const) {
    for (const [n, value] of Object.entries(map ?? {})) {
      const name = n.toLowerCase();
      if (request && isAuthority(name)) {
        authority = value;
        continue;
      }
      if (kind === 'set' || removed.has(name)) set.push({ name, value });
      else add.push({ name, value });
    }
  }
  const touched = new Set([...set, ...add].map((h) => h.name));
  const remove = [...removed].filter((n) => !touched.has(n));
  const m: { set?: HeaderMutation['set']; add?: HeaderMutation['add']; remove?: HeaderMutation['remove'] } = {};
  if (set.length) m.set = set;
  if (add.length) m.add = add;
  if (remove.length) m.remove = remove;
  return { ...(Object.keys(m).length ? { mutation: m } : {}), ...(authority !== undefined ? { authority } : {}) };
}

export function compileIstioHeaders(h: IstioHeadersView): { request?: HeaderMutation; response?: HeaderMutation; authority?: string } {
  const req = mutation(h.request, true);
  const res = mutation(h.response, false);
  return {
    ...(req.mutation ? { request: req.mutation } : {}),
    ...(res.mutation ? { response: res.mutation } : {}),
    ...(req.authority !== undefined ? { authority: req.authority } : {}),
  };
}

export interface RewriteView {
  readonly uri?: string;
  readonly authority?: string;
  readonly uriRegexRewrite?: { readonly match?: string; readonly rewrite?: string };
}

/** A problem at `field` (relative to the rule) that drops the rule. */
export interface RuleProblem {
  readonly field: string;
  readonly reason: string;
}

/** Checks `rewrite` once per rule; undefined when valid. */
export function rewriteProblem(r: RewriteView): RuleProblem | undefined {
  if (r.uri && r.uriRegexRewrite) return { field: 'rewrite', reason: 'rewrite may only contain one of uri or uriRegexRewrite' };
  if (r.uriRegexRewrite) {
    const { match, rewrite } = r.uriRegexRewrite;
    if (!match || rewrite === undefined || rewrite === '') return { field: 'rewrite.uriRegexRewrite', reason: 'uriRegexRewrite requires both match and rewrite' };
    const why = re2Problem(match);
    if (why !== undefined) return { field: 'rewrite.uriRegexRewrite.match', reason: why };
  }
  return undefined;
}

/**
 * The rewrite for one match: Envoy prefix_rewrite replaces the matched part — the prefix of a
 * prefix match, the whole path of an exact or regex match, the leading `/` when the match has no
 * uri (so `uri: /v2` on `/x` gives `/v2x`, as with istiod).
 */
export function rewriteFor(r: RewriteView, match: RouteMatch, authority: string | undefined): UrlRewrite | undefined {
  let path: PathModifier | undefined;
  if (r.uriRegexRewrite?.match) path = { type: 'RegexRewrite', pattern: r.uriRegexRewrite.match, substitution: r.uriRegexRewrite.rewrite ?? '' };
  else if (r.uri) {
    const p = match.path;
    if (p === undefined) path = { type: 'PrefixRewrite', prefix: '/', value: r.uri };
    else if (p.type === 'Prefix') path = { type: 'PrefixRewrite', prefix: p.value, value: r.uri, ...(p.ignoreCase ? { ignoreCase: true } : {}) };
    else path = { type: 'ReplaceFullPath', value: r.uri };
  }
  // rewrite.authority wins over a `:authority` header operation (istiod).
  const hostname = r.authority || authority;
  if (path === undefined && !hostname) return undefined;
  return { ...(hostname ? { hostname } : {}), ...(path ? { path } : {}) };
}

export interface RedirectView {
  readonly uri?: string;
  readonly authority?: string;
  readonly port?: number;
  readonly derivePort?: string;
  readonly scheme?: string;
  readonly redirectCode?: number;
}

const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

/**
 * HTTPRedirect → Redirect (istiod ApplyRedirect): code default 301; `uri` replaces the path
 * (Envoy path_redirect), the query kept; `derivePort: FROM_PROTOCOL_DEFAULT` ⇒ 80 or 443 by scheme;
 * FROM_REQUEST_PORT ⇒ `listenPort`, the Service port the request came in on (istiod sets it
 * explicitly the same way); no port ⇒ the model's default.
 */
export function compileRedirect(r: RedirectView, listenPort: number): { redirect: Redirect } | RuleProblem {
  if (!r.uri && !r.authority && r.port === undefined && r.derivePort === undefined && !r.scheme) {
    return { field: 'redirect', reason: 'redirect must specify uri, authority, scheme, or port' };
  }
  const code = r.redirectCode === undefined || r.redirectCode === 0 ? 301 : r.redirectCode;
  if (!REDIRECT_CODES.has(code)) return { field: 'redirect.redirectCode', reason: `redirect code ${code} is not 301, 302, 303, 307 or 308` };
  if (r.scheme && r.scheme !== 'http' && r.scheme !== 'https') return { field: 'redirect.scheme', reason: 'scheme must be "http" or "https"' };
  const scheme = r.scheme ? (r.scheme as 'http' | 'https') : undefined;
  let port = r.port;
  if (port === undefined && r.derivePort === 'FROM_PROTOCOL_DEFAULT') port = scheme === 'https' ? 443 : 80;
  if (port === undefined && r.derivePort === 'FROM_REQUEST_PORT') port = listenPort;
  return {
    redirect: {
      statusCode: code as Redirect['statusCode'],
      ...(scheme ? { scheme } : {}),
      ...(r.authority ? { hostname: r.authority } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(r.uri ? { path: { type: 'ReplaceFullPath', value: r.uri } } : {}),
    },
  };
}

export interface DirectResponseView {
  readonly status?: number;
  readonly body?: { readonly string?: string; readonly bytes?: string };
}

/** HTTPDirectResponse → a fixed answer; `body.bytes` (base64) is sent decoded as UTF-8 text. */
export function compileDirectResponse(d: DirectResponseView): { status: number; body?: string } | RuleProblem {
  const status = d.status ?? 0;
  if (!Number.isInteger(status) || status < 200 || status > 599) return { field: 'directResponse.status', reason: `HTTP status ${status} is not in range 200-599` };
  let body: string | undefined;
  if (d.body?.string !== undefined) body = d.body.string;
  else if (d.body?.bytes !== undefined) body = Buffer.from(d.body.bytes, 'base64').toString('utf8');
  if (body !== undefined && Buffer.byteLength(body) > 1024 * 1024) return { field: 'directResponse.body', reason: 'a direct response body must be smaller than 1MB (istiod validation)' };
  return { status, ...(body !== undefined ? { body } : {}) };
}
