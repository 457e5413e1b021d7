// CORS at the waypoint, as Envoy's CORS filter runs a route's policy (source/extensions/filters/http/
// cors/cors_filter.cc): preflights answered here, allowed origins echoed on every other response.
//
// Invariants: Access-Control-Allow-Origin is always the request's own Origin, never `*` (so it is
// valid with credentials); an Origin the policy does not allow gets no CORS headers at all.

import { MeshError } from '../common/errors.js';
import type { CorsOriginMatch, CorsPolicy } from './model/route-model.js';
import { compileRegex, headerValue, type HeaderMap } from './routing/index.js';

interface CompiledCors {
  readonly origin: (origin: string) => boolean;
  readonly allowMethods: string;
  readonly allowHeaders: string;
  readonly exposeHeaders: string;
  readonly maxAge: string;
  readonly credentials: boolean;
  readonly forwardUnmatched: boolean;
}

/** Compiled once per policy object: config objects are immutable while a config serves. */
const compiled = new WeakMap<CorsPolicy, CompiledCors>();

function originTest(m: CorsOriginMatch): (origin: string) => boolean {
  switch (m.type) {
    case 'Exact':
      return (o) => o === m.value;
    case 'Prefix':
      return (o) => o.startsWith(m.value);
    case 'RegularExpression': {
      const re = compileRegex(m.value);
      return (o) => re.test(o);
    }
    default: {
      const unknown: never = m.type;
      throw new MeshError('CONFIG_INVALID', `unknown CORS origin match type ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * Compiles a policy (throws MeshError CONFIG_INVALID for a bad origin regex, so a config holding
 * one is NACKed when compiled). Envoy allows every origin when a matcher matches the string `*`.
 */
export function compileCors(policy: CorsPolicy): CompiledCors {
  let c = compiled.get(policy);
  if (c !== undefined) return c;
  const tests = policy.allowOrigins.map(originTest);
  const any = tests.some((t) => t('*'));
  c = {
    origin: any ? () => true : (o) => tests.some((t) => t(o)),
    allowMethods: policy.allowMethods.join(','),
    allowHeaders: policy.allowHeaders.join(','),
    exposeHeaders: policy.exposeHeaders.join(','),
    maxAge: policy.maxAgeSeconds !== undefined ? String(policy.maxAgeSeconds) : '',
    credentials: policy.allowCredentials === true,
    forwardUnmatched: policy.unmatchedPreflights !== 'ignore',
  };
  compiled.set(policy, c);
  return c;
}

/**
 * The waypoint's answer to a CORS preflight (OPTIONS with a non-empty Origin and
 * Access-Control-Request-Method) on a route with `policy`: the 200's headers, or undefined when
 * the request goes on (not a preflight, no policy, or an origin not allowed with forwarding on).
 */
export function corsPreflight(policy: CorsPolicy | undefined, method: string, headers: HeaderMap): Record<string, string> | undefined {
  if (policy === undefined || method !== 'OPTIONS') return undefined;
  const origin = headerValue(headers, 'origin');
  const requestMethod = headerValue(headers, 'access-control-request-method');
  if (!origin || !requestMethod) return undefined;
  const c = compileCors(policy);
  const allowed = c.origin(origin);
  if (!allowed && c.forwardUnmatched) return undefined;
  const out: Record<string, string> = {};
  if (allowed) out['access-control-allow-origin'] = origin;
  if (c.credentials) out['access-control-allow-credentials'] = 'true';
  if (c.allowMethods !== '') out['access-control-allow-methods'] = c.allowMethods === '*' ? requestMethod : c.allowMethods;
  if (c.allowHeaders !== '') {
    out['access-control-allow-headers'] = c.allowHeaders === '*' ? (headerValue(headers, 'access-control-request-headers') ?? '') : c.allowHeaders;
  }
  if (c.maxAge !== '') out['access-control-max-age'] = c.maxAge;
  return out;
}

/**
 * Adds the CORS response headers for a request that carried `origin` (read before any request
 * header filter ran) to `response`, replacing what the upstream sent for them, when the origin is
 * allowed. No policy, no Origin, or an origin not allowed ⇒ the response is left alone.
 */
export function applyCorsResponse(policy: CorsPolicy | undefined, origin: string | undefined, response: HeaderMap): void {
  if (policy === undefined || !origin) return;
  const c = compileCors(policy);
  if (!c.origin(origin)) return;
  response.set('access-control-allow-origin', [origin]);
  if (c.credentials) response.set('access-control-allow-credentials', ['true']);
  if (c.exposeHeaders !== '') response.set('access-control-expose-headers', [c.exposeHeaders]);
}
