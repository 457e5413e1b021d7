// VirtualService HTTPMatchRequest → the route model's RouteMatch (istiod route.TranslateRouteMatch
// for a waypoint): uri exact/prefix/regex with ignoreUriCase, headers and withoutHeaders, query
// parameters, method, authority (the Host header), scheme, and the destination `port`.
//
// Conditions a waypoint cannot evaluate make the match not apply (`skip`) rather than match more
// than written: sourceLabels/sourceNamespace (the client is not the proxy here), `gateways` without
// `mesh`, a scheme other than the mesh's plain `http`.

import type { HeaderMatch, PathMatch, QueryParamMatch, RouteMatch } from '../../waypoint/model/route-model.js';
import { compileRegex } from '../../waypoint/routing/index.js';
import { compileIstioStringMatch, type CompiledStringMatch, type IstioStringMatchView } from './istio-string-match.js';

export interface HttpMatchView {
  readonly name?: string;
  readonly uri?: IstioStringMatchView;
  readonly scheme?: IstioStringMatchView;
  readonly method?: IstioStringMatchView;
  readonly authority?: IstioStringMatchView;
  readonly headers?: Readonly<Record<string, IstioStringMatchView>>;
  readonly withoutHeaders?: Readonly<Record<string, IstioStringMatchView>>;
  readonly queryParams?: Readonly<Record<string, IstioStringMatchView>>;
  readonly port?: number;
  readonly ignoreUriCase?: boolean;
  readonly sourceLabels?: Readonly<Record<string, string>>;
  readonly sourceNamespace?: string;
  readonly gateways?: readonly string[];
  readonly statPrefix?: string;
}

export type VsMatch =
  | { readonly kind: 'match'; readonly match: RouteMatch; readonly port?: number }
  /** Cannot apply at a waypoint; `warning` says why when the user should hear it. */
  | { readonly kind: 'skip'; readonly field?: string; readonly warning?: string }
  /** Invalid: the whole http rule is dropped (istiod would refuse the object). */
  | { readonly kind: 'invalid'; readonly field: string; readonly reason: string };

const MESH = 'mesh';

/** One match of `spec.http[i].match[j]` at field path `at` (the caller reports problems). */
export function compileVsMatch(m: HttpMatchView, at: string): VsMatch {
  if (m.gateways !== undefined && m.gateways.length > 0 && !m.gateways.includes(MESH)) return { kind: 'skip' };
  if (m.sourceLabels !== undefined && Object.keys(m.sourceLabels).length > 0) {
    return { kind: 'skip', field: `${at}.sourceLabels`, warning: 'sourceLabels select client sidecars and cannot be evaluated at a waypoint; this match is left out' };
  }
  if (m.sourceNamespace !== undefined && m.sourceNamespace !== '') {
    return { kind: 'skip', field: `${at}.sourceNamespace`, warning: 'sourceNamespace selects client sidecars and cannot be evaluated at a waypoint; this match is left out' };
  }
  const out: { path?: PathMatch; headers?: HeaderMatch[]; queryParams?: QueryParamMatch[]; method?: string } = {};
  const ignoreCase = m.ignoreUriCase === true;
  if (m.uri !== undefined) {
    const u = compileIstioStringMatch(m.uri, { ignoreCase });
    if (!u.ok) return { kind: 'invalid', field: `${at}.uri${u.field}`, reason: u.reason };
    const type = u.match.type === 'Exact' ? 'Exact' : u.match.type === 'Prefix' ? 'Prefix' : 'RegularExpression';
    out.path = { type, value: u.match.value, ...(ignoreCase ? { ignoreCase: true } : {}) };
  }
  if (m.scheme !== undefined) {
    const s = compileIstioStringMatch(m.scheme);
    if (!s.ok) return { kind: 'invalid', field: `${at}.scheme${s.field}`, reason: s.reason };
    // Requests inside the mesh reach the waypoint as plain http: decided here, once.
    if (!plainHttpMatches(s.match)) return { kind: 'skip', field: `${at}.scheme`, warning: 'requests reach a waypoint with scheme "http"; this match never applies and is left out' };
  }
  if (m.method !== undefined) {
    const me = compileIstioStringMatch(m.method);
    if (!me.ok) return { kind: 'invalid', field: `${at}.method${me.field}`, reason: me.reason };
    if (me.match.type !== 'Exact') return { kind: 'invalid', field: `${at}.method`, reason: 'only an exact method match is supported by Ambit\'s waypoint' };
    out.method = me.match.value;
  }
  const headers: HeaderMatch[] = [];
  if (m.authority !== undefined) {
    const a = compileIstioStringMatch(m.authority);
    if (!a.ok) return { kind: 'invalid', field: `${at}.authority${a.field}`, reason: a.reason };
    headers.push({ name: 'host', type: a.match.type, value: a.match.value });
  }
  for (const [field, invert] of [['headers', false], ['withoutHeaders', true]] as const) {
    for (const [name, sm] of Object.entries(m[field] ?? {})) {
      if (name.startsWith('@request.auth.claims')) {
        return { kind: 'invalid', field: `${at}.${field}[${name}]`, reason: 'JWT claim based routing is only supported for gateways (istiod validation)' };
      }
      const h = compileIstioStringMatch(sm, { empty: 'present' });
      if (!h.ok) return { kind: 'invalid', field: `${at}.${field}[${name}]${h.field}`, reason: h.reason };
      headers.push({ name: name.toLowerCase(), type: h.match.type, value: h.match.value, ...(invert ? { invert: true } : {}) });
    }
  }
  if (headers.length > 0) out.headers = headers;
  const query: QueryParamMatch[] = [];
  for (const [name, sm] of Object.entries(m.queryParams ?? {})) {
    const q = compileIstioStringMatch(sm, { empty: 'present' });
    if (!q.ok) return { kind: 'invalid', field: `${at}.queryParams[${name}]${q.field}`, reason: q.reason };
    if (q.match.type === 'Prefix') return { kind: 'invalid', field: `${at}.queryParams[${name}].prefix`, reason: 'prefix matching of query parameters is not supported (Istio API)' };
    query.push({ name, type: q.match.type, value: q.match.value });
  }
  if (query.length > 0) out.queryParams = query;
  return { kind: 'match', match: out, ...(m.port !== undefined && m.port !== 0 ? { port: m.port } : {}) };
}

function plainHttpMatches(m: CompiledStringMatch): boolean {
  switch (m.type) {
    case 'Exact':
      return m.value === 'http';
    case 'Prefix':
      return 'http'.startsWith(m.value);
    case 'RegularExpression':
      return compileRegex(m.value).test('http');
    default:
      return true;
  }
}

/**
 * istiod IsCatchAllRoute: a match on every request (no condition but a `/` prefix or `.*`
 * regex path). Routes after one can never be selected; istiod stops there, and so do we.
 */
export function isCatchAll(m: RouteMatch): boolean {
  if (m.headers?.length || m.queryParams?.length || m.method !== undefined || m.grpc !== undefined) return false;
  const p = m.path;
  return p === undefined || ((p.type === 'Prefix' || p.type === 'PathPrefix') && p.value === '/') || (p.type === 'RegularExpression' && p.value === '.*');
}
