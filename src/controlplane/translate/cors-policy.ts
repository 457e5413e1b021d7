// CORS policies → the route model's CorsPolicy: the Gateway API HTTPRoute `CORS` filter
// (HTTPCORSFilter, Extended) and the VirtualService `corsPolicy` (Istio CorsPolicy), both run by
// the waypoint as Envoy's CORS filter runs the policy istiod writes (route.TranslateCORSPolicy).

import type { CorsOriginMatch, CorsPolicy } from '../../waypoint/model/route-model.js';
import { compileIstioStringMatch, type IstioStringMatchView } from './istio-string-match.js';
import { parseIstioDuration } from './istio-duration.js';

/** Gateway API HTTPCORSFilter. */
export interface GatewayCorsView {
  readonly allowOrigins?: readonly string[];
  readonly allowCredentials?: boolean;
  readonly allowMethods?: readonly string[];
  readonly allowHeaders?: readonly string[];
  readonly exposeHeaders?: readonly string[];
  readonly maxAge?: number;
}

/** Istio CorsPolicy (VirtualService http[].corsPolicy). */
export interface IstioCorsView {
  readonly allowOrigins?: readonly IstioStringMatchView[];
  /** Deprecated exact origins; used only when allowOrigins is absent (istiod). */
  readonly allowOrigin?: readonly string[];
  readonly allowMethods?: readonly string[];
  readonly allowHeaders?: readonly string[];
  readonly exposeHeaders?: readonly string[];
  readonly maxAge?: string;
  readonly allowCredentials?: boolean;
  readonly unmatchedPreflights?: string;
}

/** A problem found while compiling: the field below the policy and why. */
export interface CorsProblem {
  readonly field: string;
  readonly reason: string;
}

/** Gateway API CORS maxAge default (the CRD's default: 5 seconds). */
const GATEWAY_MAX_AGE_S = 5;

/**
 * A Gateway API origin: `scheme://host[:port]` where `*` is a wildcard that is greedy to the left
 * (`https://*.example.com` matches any depth of subdomain), or a lone `*` (any origin). Origins
 * without `*` compare exactly. (Istio converts only exact origins; the spec's wildcards are kept.)
 */
export function gatewayOrigin(origin: string): CorsOriginMatch {
  if (!origin.includes('*')) return { type: 'Exact', value: origin };
  const pattern = origin
    .split('*')
    .map((s) => s.replace(/[\\^$.|?+()[\]{}]/g, '\\$&'))
    .join('.*');
  return { type: 'RegularExpression', value: pattern };
}

export function compileGatewayCors(f: GatewayCorsView): CorsPolicy {
  return {
    allowOrigins: (f.allowOrigins ?? []).filter((o) => o !== '').map(gatewayOrigin),
    allowMethods: [...(f.allowMethods ?? [])],
    allowHeaders: [...(f.allowHeaders ?? [])],
    exposeHeaders: [...(f.exposeHeaders ?? [])],
    // The CRD defaults maxAge to 5; Istio writes it only when > 0 (0 ⇒ no header).
    ...((f.maxAge ?? GATEWAY_MAX_AGE_S) > 0 ? { maxAgeSeconds: f.maxAge ?? GATEWAY_MAX_AGE_S } : {}),
    ...(f.allowCredentials === true ? { allowCredentials: true } : {}),
  };
}

/**
 * A VirtualService corsPolicy; problems are returned with their field below the policy. An invalid
 * origin is left out (the rest of the policy applies); an invalid maxAge sends no max-age.
 */
export function compileIstioCors(c: IstioCorsView): { readonly policy: CorsPolicy; readonly problems: readonly CorsProblem[] } {
  const problems: CorsProblem[] = [];
  const origins: CorsOriginMatch[] = [];
  if (c.allowOrigins !== undefined) {
    for (const [i, o] of c.allowOrigins.entries()) {
      const m = compileIstioStringMatch(o);
      if (!m.ok) problems.push({ field: `allowOrigins[${i}]${m.field}`, reason: `${m.reason}; origin left out` });
      else if (m.match.type === 'Exact' || m.match.type === 'Prefix' || m.match.type === 'RegularExpression') origins.push({ type: m.match.type, value: m.match.value });
    }
  } else {
    for (const o of c.allowOrigin ?? []) origins.push({ type: 'Exact', value: o });
  }
  let maxAgeSeconds: number | undefined;
  if (c.maxAge !== undefined) {
    const ms = parseIstioDuration(c.maxAge);
    if (ms === undefined) problems.push({ field: 'maxAge', reason: `"${c.maxAge}" is not a duration; no Access-Control-Max-Age is sent` });
    // istiod writes the whole seconds of the duration (MaxAge.GetSeconds()).
    else maxAgeSeconds = Math.floor(ms / 1000);
  }
  let unmatched: CorsPolicy['unmatchedPreflights'];
  if (c.unmatchedPreflights === 'IGNORE') unmatched = 'ignore';
  else if (c.unmatchedPreflights === 'FORWARD') unmatched = 'forward';
  else if (c.unmatchedPreflights !== undefined && c.unmatchedPreflights !== 'UNSPECIFIED') {
    problems.push({ field: 'unmatchedPreflights', reason: `unknown value "${c.unmatchedPreflights}"; FORWARD is used` });
  }
  return {
    policy: {
      allowOrigins: origins,
      allowMethods: [...(c.allowMethods ?? [])],
      allowHeaders: [...(c.allowHeaders ?? [])],
      exposeHeaders: [...(c.exposeHeaders ?? [])],
      ...(maxAgeSeconds !== undefined ? { maxAgeSeconds } : {}),
      ...(c.allowCredentials !== undefined ? { allowCredentials: c.allowCredentials } : {}),
      ...(unmatched !== undefined ? { unmatchedPreflights: unmatched } : {}),
    },
    problems,
  };
}
