// RequestAuthentication at the waypoint, per request: find the tokens at the rules' locations,
// verify each against the rule of its issuer, then expose `request.auth.*` and rewrite headers
// (token removal, payload and claim headers). No token ⇒ no principal; a bad token ⇒ refusal.

import type { JwtRule } from '../model/security-model.js';
import type { HeaderMap } from '../routing/index.js';
import type { RequestAuth } from './authz-request.js';
import type { JwksCache, JwksSource } from './jwks-cache.js';
import { JWT_FAILURE_REPLY, jwtDetails, type JwtFailure } from './jwt-failure.js';
import { extractTokens, locationKey, locationsOf, removeToken, type FoundToken, type TokenLocation } from './jwt-locations.js';
import { loadedJose, loadJose } from './jose-loader.js';
import { peek, verifyJwt } from './jwt-verify.js';

/** Claims Envoy always treats as space-delimited lists (Istio `spaceDelimitedClaims` doc). */
const ALWAYS_SPACE_DELIMITED = ['scope', 'permission'];

interface PreparedRule {
  readonly rule: JwtRule;
  readonly locationKeys: ReadonlySet<string>;
  readonly source: JwksSource;
}

/** The jwtRules that apply to one service, prepared once per config. */
export interface ServiceJwt {
  readonly rules: readonly PreparedRule[];
  readonly locations: readonly TokenLocation[];
  /** Output header names (lower case) a client must never set itself. */
  readonly outputHeaders: readonly string[];
}

export type JwtOutcome =
  | { readonly kind: 'ok'; readonly auth: RequestAuth | undefined; readonly issuer?: string }
  | {
      readonly kind: 'fail';
      readonly failure: JwtFailure;
      readonly status: 401 | 403;
      readonly body: string;
      readonly details: string;
      readonly issuer?: string;
    };

export function jwksSourceOf(rule: JwtRule): JwksSource {
  if (rule.jwks !== undefined) return { kind: 'inline', jwks: rule.jwks };
  if (rule.jwksUri !== undefined) return { kind: 'uri', uri: rule.jwksUri, timeoutMs: rule.fetchTimeoutMs };
  return { kind: 'discovery', issuer: rule.issuer, timeoutMs: rule.fetchTimeoutMs };
}

function claimAt(payload: Readonly<Record<string, unknown>>, path: string): unknown {
  let v: unknown = payload;
  for (const p of path.split('.')) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

/** A claim as a header value (Envoy claim_to_headers: strings, numbers, booleans, lists of them joined with ','). */
function claimHeaderValue(v: unknown): string | undefined {
  const scalar = (x: unknown): string | undefined =>
    typeof x === 'string' ? x : typeof x === 'number' || typeof x === 'boolean' ? String(x) : undefined;
  let s: string | undefined;
  if (Array.isArray(v)) {
    const parts = v.map(scalar);
    s = parts.every((p) => p !== undefined) ? parts.join(',') : undefined;
  } else s = scalar(v);
  // A value Node would refuse to write (control characters) is left out rather than failing the request.
  return s !== undefined && /^[\t\x20-\x7e\x80-\xff]*$/.test(s) ? s : undefined;
}

function failure(f: JwtFailure, issuer?: string): JwtOutcome {
  const r = JWT_FAILURE_REPLY[f];
  return { kind: 'fail', failure: f, status: r.status, body: r.message, details: jwtDetails(f), ...(issuer !== undefined ? { issuer } : {}) };
}

export class JwtAuthenticator {
  private readonly byService = new Map<string, ServiceJwt | undefined>();

  constructor(
    private readonly rules: readonly JwtRule[],
    private readonly cache: JwksCache,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Every key source the rules name (for the cache's sync). */
  sources(): JwksSource[] {
    return this.rules.map(jwksSourceOf);
  }

  /** The rules for `namespace/hostname`; undefined when none applies. */
  forService(key: string): ServiceJwt | undefined {
    if (this.byService.has(key)) return this.byService.get(key);
    const rules = this.rules.filter((r) => r.services === undefined || r.services.includes(key));
    let sj: ServiceJwt | undefined;
    if (rules.length > 0) {
      const locations = new Map<string, TokenLocation>();
      const prepared = rules.map((rule): PreparedRule => {
        const locs = locationsOf(rule);
        for (const l of locs) locations.set(locationKey(l), l);
        return { rule, locationKeys: new Set(locs.map(locationKey)), source: jwksSourceOf(rule) };
      });
      const outputHeaders = new Set<string>();
      for (const r of rules) {
        if (r.outputPayloadToHeader !== undefined) outputHeaders.add(r.outputPayloadToHeader.toLowerCase());
        for (const h of r.outputClaimToHeaders) outputHeaders.add(h.header.toLowerCase());
      }
      sj = { rules: prepared, locations: [...locations.values()], outputHeaders: [...outputHeaders] };
    }
    this.byService.set(key, sj);
    return sj;
  }

  /**
   * Authenticates one request; mutates `headers` only when it succeeds (output headers a client
   * sent are always removed first, so a header the waypoint writes can never be forged). Every
   * token present must verify; the first one gives the request principal.
   */
  async authenticate(sj: ServiceJwt, headers: HeaderMap, query: string): Promise<JwtOutcome> {
    for (const h of sj.outputHeaders) headers.delete(h);
    const tokens = extractTokens(sj.locations, headers, query);
    if (tokens.length === 0) return { kind: 'ok', auth: undefined };
    // Loaded before the config was swapped in (prepareSecurity); awaited here only when a caller
    // applied a config without preparing it. A jose that cannot load verifies nothing.
    if (loadedJose() === undefined && (await loadJose().catch(() => undefined)) === undefined) return failure('jwks_unavailable');
    const verified: { found: FoundToken; rule: JwtRule; payload: Record<string, unknown> }[] = [];
    for (const found of tokens) {
      const u = peek(found.token);
      if (!u.ok) return failure('malformed');
      const candidate = sj.rules.find((r) => r.rule.issuer === u.issuer && r.locationKeys.has(found.key));
      if (candidate === undefined) return failure('issuer_not_configured', u.issuer);
      const keys = await this.cache.keys(candidate.source);
      if (keys === undefined) return failure('jwks_unavailable', u.issuer);
      const v = await verifyJwt(found.token, candidate.rule, keys, this.now());
      if (!v.ok) {
        if (v.failure === 'no_matching_key') this.cache.keyMissing(candidate.source);
        return failure(v.failure, u.issuer);
      }
      verified.push({ found, rule: candidate.rule, payload: v.payload as Record<string, unknown> });
    }
    for (const { found, rule, payload } of verified) {
      if (!rule.forwardOriginalToken) removeToken(headers, found.location);
      if (rule.outputPayloadToHeader !== undefined) headers.set(rule.outputPayloadToHeader.toLowerCase(), [found.token.split('.')[1] ?? '']);
      for (const { header, claim } of rule.outputClaimToHeaders) {
        const value = claimHeaderValue(claimAt(payload, claim));
        if (value !== undefined) headers.set(header.toLowerCase(), [value]);
      }
    }
    const first = verified[0]!;
    return { kind: 'ok', auth: requestAuth(first.payload, first.rule.spaceDelimitedClaims), issuer: first.rule.issuer };
  }
}

/** Istio's request.auth attributes of a verified payload (`scope` and `permission` are always space-delimited). */
export function requestAuth(payload: Readonly<Record<string, unknown>>, spaceDelimited: readonly string[]): RequestAuth {
  const { iss, sub, aud, azp } = payload;
  const claims: Record<string, unknown> = { ...payload };
  for (const c of [...ALWAYS_SPACE_DELIMITED, ...spaceDelimited]) {
    const v = claims[c];
    if (typeof v === 'string') claims[c] = v.split(' ').filter((s) => s !== '');
  }
  return {
    principal: typeof iss === 'string' && typeof sub === 'string' ? `${iss}/${sub}` : undefined,
    audiences: typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [],
    presenter: typeof azp === 'string' ? azp : undefined,
    claims,
  };
}
