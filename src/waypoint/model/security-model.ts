// The waypoint's L7 security model: what the control plane compiles Istio AuthorizationPolicy and
// RequestAuthentication objects with `targetRefs` into, and what src/waypoint/security enforces.
// Plain JSON (part of WaypointConfig); string values keep Istio's match forms, parsed once per config.

import type { PolicyOperationFields, PolicySourceFields } from '../../state/index.js';

/**
 * AuthorizationPolicy actions (security.istio.io/v1 `Action`). CUSTOM (ext-authz) is not supported:
 * the waypoint denies every request and connection of its targets (fail closed, response flag UAEX).
 */
export type AuthzAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

/**
 * Everything about authentication and authorization one waypoint enforces. Absent on a
 * WaypointConfig ⇒ no policy: every request is allowed and no token is validated.
 */
export interface WaypointSecurityConfig {
  /** Policies that reach this waypoint (its Gateway, its GatewayClass, or a Service it serves), sorted `namespace/name`. */
  readonly authorization: readonly AuthzPolicy[];
  /**
   * jwtRules of the RequestAuthentications that reach this waypoint, in order (oldest policy
   * first, then `namespace/name`, then rule order). For a token's issuer the first applicable
   * rule whose token locations held the token is used.
   */
  readonly jwtRules: readonly JwtRule[];
  /**
   * How many trusted proxies append to X-Forwarded-For before the waypoint (Istio
   * `gatewayTopology.numTrustedProxies`, Envoy `xff_num_trusted_hops`); absent/0 ⇒ `remote.ip`
   * is the source address itself and X-Forwarded-For is never trusted.
   */
  readonly xffTrustedHops?: number;
}

/**
 * One AuthorizationPolicy. `services` narrows it to some of the waypoint's services (targetRefs
 * of kind Service): keys `namespace/hostname`; absent ⇒ every service of the waypoint (targetRefs
 * to the waypoint Gateway or to GatewayClass istio-waypoint).
 */
export interface AuthzPolicy {
  readonly namespace: string;
  readonly name: string;
  readonly action: AuthzAction;
  readonly services?: readonly string[];
  /** `istio.io/dry-run: "true"`: evaluated and logged (`dry_run_*` access log fields), never enforced. */
  readonly dryRun?: boolean;
  /** No rules ⇒ the policy never matches (so an ALLOW policy without rules denies everything). */
  readonly rules: readonly AuthzRule[];
}

/**
 * A rule matches when (no `from` or any `from` matches) and (no `to` or any `to` matches) and every
 * `when` holds. `rules: [{}]` matches everything.
 *
 * String values ("match forms") are Istio's: `abc` exact, `abc*` prefix, `*abc` suffix, `*` any
 * non-empty value. Within one field the values are ORed; a `not*` field matches when none of its
 * values does; all fields set in one source/operation are ANDed.
 */
export interface AuthzRule {
  readonly from?: readonly AuthzSource[];
  readonly to?: readonly AuthzOperation[];
  readonly when?: readonly AuthzCondition[];
}

/** A rule's `from[].source`, as the control plane compiled it (service accounts resolved to `namespace/name`). */
export type AuthzSource = PolicySourceFields;

/** A rule's `to[].operation`, ports parsed. */
export type AuthzOperation = PolicyOperationFields<number>;

/**
 * A `when` condition. Keys: `request.headers[<name>]`, `source.ip`, `source.namespace`,
 * `source.principal`, `remote.ip`, `request.auth.principal`, `request.auth.audiences`,
 * `request.auth.presenter`, `request.auth.claims[<c>]` (nested `[a][b]`), `destination.ip`,
 * `destination.port`, `connection.sni`. Any other key cannot be evaluated: in an ALLOW or AUDIT
 * policy the rule never matches, in a DENY policy the condition counts as matching (as ztunnel
 * treats attributes it cannot see). IP keys take IPs/CIDRs, `destination.port` decimal ports.
 */
export interface AuthzCondition {
  readonly key: string;
  readonly values?: readonly string[];
  readonly notValues?: readonly string[];
}

/** One RequestAuthentication jwtRule (security.istio.io/v1 JWTRule). */
export interface JwtRule {
  /** The RequestAuthentication it came from (`namespace/name`) and the rule's index, for logs. */
  readonly source: string;
  /** `namespace/hostname` of the services it applies to; absent ⇒ all the waypoint's services. */
  readonly services?: readonly string[];
  /** Required; a token's `iss` must equal it. */
  readonly issuer: string;
  /** Accepted `aud` values (Envoy compares without `http(s)://` and a trailing `/`); empty ⇒ not checked. */
  readonly audiences: readonly string[];
  /**
   * Where the keys come from, exactly one: inline JWKS JSON, a JWKS URL fetched by the waypoint,
   * or neither ⇒ OpenID discovery (`<issuer>/.well-known/openid-configuration`, then its `jwks_uri`).
   */
  readonly jwks?: string;
  readonly jwksUri?: string;
  /** JWKS fetch timeout, ms (Istio `timeout`, default 5 s). */
  readonly fetchTimeoutMs: number;
  /** Token locations; all three empty ⇒ `Authorization: Bearer <token>` and the `access_token` query parameter. */
  readonly fromHeaders: readonly { readonly name: string; readonly prefix: string }[];
  readonly fromParams: readonly string[];
  readonly fromCookies: readonly string[];
  /** Keep the token in the request forwarded upstream (default false: the header holding it is removed). */
  readonly forwardOriginalToken: boolean;
  /** Header receiving the verified payload, base64url (Envoy forward_payload_header). */
  readonly outputPayloadToHeader?: string;
  /** Claims copied to headers (Envoy claim_to_headers); nested claims as `a.b`. */
  readonly outputClaimToHeaders: readonly { readonly header: string; readonly claim: string }[];
  /** Claims whose string value is split on spaces for `request.auth.claims[...]` (always `scope`, `permission`). */
  readonly spaceDelimitedClaims: readonly string[];
}

/** Istio's JWKS fetch timeout default (RequestAuthentication `timeout`). */
export const DEFAULT_JWKS_FETCH_TIMEOUT_MS = 5_000;
