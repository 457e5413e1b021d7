// The waypoint's internal route model: what the control plane compiles HTTPRoute/GRPCRoute and
// VirtualService/DestinationRule into, and the only routing input the waypoint executes.
// Plain JSON (it travels over xDS as the JSON of ambit.waypoint.v1.WaypointConfig); no functions.

import type { WaypointSecurityConfig } from './security-model.js';

/** Bumped on any incompatible change; a waypoint refuses (NACKs) a config of another version. */
export const WAYPOINT_CONFIG_VERSION = 1;

/**
 * Everything one waypoint (a Gateway of class istio-waypoint) needs beyond the mesh state
 * (workloads, services, L4 authorization) it already receives as a node agent does.
 *
 * Invariants: every `cluster` named by a route, a backend or a mirror is in `clusters`;
 * `services[].routes` are in final precedence order (first match wins, see route-order docs in
 * docs/WAYPOINT.md); names are unique within their list.
 */
export interface WaypointConfig {
  readonly version: typeof WAYPOINT_CONFIG_VERSION;
  readonly waypoint: { readonly namespace: string; readonly name: string };
  /** Every service this waypoint serves (its `waypoint` is this one), routes or not. */
  readonly services: readonly ServiceConfig[];
  readonly clusters: readonly Cluster[];
  /** L7 authorization and request authentication (security-model.ts); absent ⇒ none. */
  readonly security?: WaypointSecurityConfig;
}

/** Application protocol of a service port, by Istio's port-name/appProtocol rules; unknown ⇒ tcp. */
export type PortProtocol = 'http' | 'http2' | 'grpc' | 'tcp';

/** One Service the waypoint serves, looked up by the CONNECT authority (VIP:port) via the state. */
export interface ServiceConfig {
  /** FQDN, e.g. reviews.default.svc.cluster.local (the state's Service.hostname). */
  readonly hostname: string;
  readonly namespace: string;
  readonly ports: readonly ServicePortConfig[];
}

export interface ServicePortConfig {
  /** The Service port (not the target port). */
  readonly port: number;
  /** Port name (for logs/status), '' when unnamed. */
  readonly name: string;
  readonly protocol: PortProtocol;
  /**
   * HTTP routes for this port in precedence order. Empty ⇒ no route attached: forward to
   * `defaultCluster` (GAMMA "normal behaviour"). Non-empty and nothing matches ⇒ 404.
   */
  readonly routes: readonly Route[];
  /** The service's own cluster for this port (`outbound|<port>||<hostname>`). */
  readonly defaultCluster: string;
  /** For tcp ports: weighted TCP backends (TCPRoute, VS tcp); empty ⇒ defaultCluster. */
  readonly tcpBackends?: readonly WeightedCluster[];
}

/** Where a route came from, for logs, metrics (route name) and /config_dump. */
export interface RouteSource {
  readonly kind: 'HTTPRoute' | 'GRPCRoute' | 'VirtualService';
  readonly namespace: string;
  readonly name: string;
  /** Index of the rule in spec.rules (VirtualService: spec.http). */
  readonly rule: number;
  /** Index of the match within the rule (one Route per match, as Istio splits them). */
  readonly match: number;
}

export type StringMatchType = 'Exact' | 'Prefix' | 'Suffix' | 'RegularExpression' | 'Present';

export interface PathMatch {
  /** PathPrefix is element-wise (Gateway API); Prefix is plain string prefix (VirtualService). */
  readonly type: 'Exact' | 'PathPrefix' | 'Prefix' | 'RegularExpression';
  /** For RegularExpression: an RE2-compatible pattern matched against the whole path. */
  readonly value: string;
  readonly ignoreCase?: boolean;
}

export interface HeaderMatch {
  /** Lower case. Repeated request headers are joined with ',' before matching. */
  readonly name: string;
  readonly type: StringMatchType;
  /** Unused for Present. */
  readonly value: string;
  /** Matches when the header does NOT match (VirtualService withoutHeaders). */
  readonly invert?: boolean;
}

export interface QueryParamMatch {
  /** Exact, case-sensitive; the first occurrence in the query string counts. */
  readonly name: string;
  readonly type: StringMatchType;
  readonly value: string;
}

/** All set fields must match (AND). */
export interface RouteMatch {
  readonly path?: PathMatch;
  readonly headers?: readonly HeaderMatch[];
  readonly queryParams?: readonly QueryParamMatch[];
  /** Upper case. */
  readonly method?: string;
  /** GRPCRoute: `/<service>/<method>`, either part may be absent (= any), Exact or RegularExpression. */
  readonly grpc?: { readonly type: 'Exact' | 'RegularExpression'; readonly service?: string; readonly method?: string };
}

/** set replaces all values, add appends (written comma-joined), remove deletes; names lower case. */
export interface HeaderMutation {
  readonly set?: readonly { readonly name: string; readonly value: string }[];
  readonly add?: readonly { readonly name: string; readonly value: string }[];
  readonly remove?: readonly string[];
}

export type PathModifier =
  | { readonly type: 'ReplaceFullPath'; readonly value: string }
  /** `prefix` is the matched PathPrefix value (trailing '/' significance per the spec table). */
  | { readonly type: 'ReplacePrefixMatch'; readonly prefix: string; readonly value: string }
  /**
   * VirtualService `rewrite.uri` (Envoy `prefix_rewrite`): the first `prefix.length` characters of
   * the path (the matched plain prefix, compared case-insensitively with `ignoreCase`) are replaced
   * by `value` as a plain string: `/foo` → `/bar/` turns `/foo/x` into `/bar//x`, as Envoy does.
   * A path that does not start with the prefix is left alone.
   */
  | { readonly type: 'PrefixRewrite'; readonly prefix: string; readonly value: string; readonly ignoreCase?: boolean }
  /**
   * VirtualService `rewrite.uriRegexRewrite` (Envoy `regex_rewrite`): every non-overlapping match of
   * the RE2 `pattern` in the path is replaced by `substitution`, where `\0`..`\9` are capture groups
   * (RE2 GlobalReplace syntax, `\\` a backslash).
   */
  | { readonly type: 'RegexRewrite'; readonly pattern: string; readonly substitution: string };

export interface UrlRewrite {
  readonly hostname?: string;
  readonly path?: PathModifier;
}

export interface Redirect {
  /** Absent ⇒ the request's scheme (http inside the mesh). */
  readonly scheme?: 'http' | 'https';
  /** Absent ⇒ the request's Host without port. */
  readonly hostname?: string;
  /** Absent ⇒ scheme's well-known port if scheme set, else the Service port dialled. */
  readonly port?: number;
  readonly path?: PathModifier;
  readonly statusCode: 301 | 302 | 303 | 307 | 308;
}

export interface Mirror {
  readonly cluster: string;
  /** 0..100, fractions allowed (100·numerator/denominator). */
  readonly percent: number;
}

export interface Timeouts {
  /** Whole transaction incl. retries; absent/0 ⇒ none. Expiry ⇒ 504, flag UT. */
  readonly requestMs?: number;
  /** One backend attempt; absent/0 ⇒ none. */
  readonly backendRequestMs?: number;
}

export interface RetryPolicy {
  /** Retries after the first attempt (max calls = 1 + attempts). 0 ⇒ no retry. */
  readonly attempts: number;
  /** Retriable response status codes. */
  readonly codes: readonly number[];
  /**
   * Envoy retry_on conditions honoured: connect-failure, refused-stream, reset, unavailable,
   * cancelled, 5xx, gateway-error, retriable-status-codes (= `codes`).
   */
  readonly retryOn: readonly string[];
  /** Minimum wait before a retry; exponential with jitter above it (Envoy: base 25 ms). */
  readonly backoffMs: number;
  /** Per-attempt deadline; absent ⇒ Timeouts.backendRequestMs. */
  readonly perTryTimeoutMs?: number;
}

export interface Fault {
  readonly delay?: { readonly ms: number; readonly percent: number };
  readonly abort?: { readonly httpStatus?: number; readonly grpcStatus?: number; readonly percent: number };
}

export interface WeightedCluster {
  /** Absent when the backendRef could not be resolved: its share is answered `invalidStatus`. */
  readonly cluster?: string;
  /** ≥ 0; share = weight / sum. */
  readonly weight: number;
  /** Why it is invalid (BackendNotFound, InvalidKind, ...), for logs. */
  readonly invalidReason?: string;
  /** Status for an invalid backend's share (500). */
  readonly invalidStatus?: number;
  /** Per-backend filters: run only when this backend is picked. */
  readonly requestHeaders?: HeaderMutation;
  readonly responseHeaders?: HeaderMutation;
  readonly rewrite?: UrlRewrite;
}

export type RouteAction =
  | { readonly kind: 'forward'; readonly backends: readonly WeightedCluster[] }
  | { readonly kind: 'redirect'; readonly redirect: Redirect }
  /** A fixed answer: 500 for a rule without backends, 404 filler, ... */
  | { readonly kind: 'direct'; readonly status: number; readonly body?: string };

/**
 * One match of one rule. Filters apply in this order: fault, request headers, rewrite, (pick
 * backend, its own filters), mirrors, forward with timeouts/retries, response headers.
 */
export interface Route {
  /** Unique within the port, e.g. `default/reviews-canary.r0.m0`. */
  readonly name: string;
  readonly source: RouteSource;
  readonly match: RouteMatch;
  readonly action: RouteAction;
  readonly requestHeaders?: HeaderMutation;
  readonly responseHeaders?: HeaderMutation;
  readonly rewrite?: UrlRewrite;
  readonly mirrors?: readonly Mirror[];
  readonly timeouts?: Timeouts;
  /** Absent ⇒ Istio's default (2 retries on connect-failure,refused-stream,unavailable,cancelled). */
  readonly retry?: RetryPolicy;
  readonly fault?: Fault;
  /** CORS (Gateway API CORS filter, VirtualService corsPolicy), run as Envoy's CORS filter. */
  readonly cors?: CorsPolicy;
}

/** How a request's Origin is compared (Envoy StringMatcher; values are case-sensitive). */
export interface CorsOriginMatch {
  readonly type: 'Exact' | 'Prefix' | 'RegularExpression';
  /** For RegularExpression: RE2, matched against the whole Origin value. */
  readonly value: string;
}

/**
 * Envoy's CORS filter (envoy/extensions/filters/http/cors): a request with an Origin the policy
 * allows gets `Access-Control-Allow-Origin: <that origin>` (never `*`); a preflight (OPTIONS with
 * Origin and Access-Control-Request-Method) is answered 200 by the waypoint. An Origin not allowed
 * gets no CORS headers, and its preflight is forwarded (`unmatchedPreflights` `forward`, the
 * default) or answered 200 without Access-Control-Allow-Origin (`ignore`).
 */
export interface CorsPolicy {
  /** An origin matcher that matches the literal `*` allows every origin (Envoy isOriginAllowed). */
  readonly allowOrigins: readonly CorsOriginMatch[];
  /** `*` alone ⇒ echo Access-Control-Request-Method. Joined with ','. */
  readonly allowMethods: readonly string[];
  /** `*` alone ⇒ echo Access-Control-Request-Headers. Joined with ','. */
  readonly allowHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  /** Access-Control-Max-Age, seconds; absent ⇒ no header. */
  readonly maxAgeSeconds?: number;
  readonly allowCredentials?: boolean;
  /** Absent ⇒ forward (Envoy forward_not_matching_preflights default true). */
  readonly unmatchedPreflights?: 'forward' | 'ignore';
}

export type LoadBalancerPolicy =
  | { readonly kind: 'LEAST_REQUEST' }
  | { readonly kind: 'ROUND_ROBIN' }
  | { readonly kind: 'RANDOM' }
  | {
      readonly kind: 'CONSISTENT_HASH';
      readonly key:
        | { readonly header: string }
        /**
         * DestinationRule httpCookie: with `ttlMs` set (0 = a session cookie) Envoy generates the
         * cookie (Set-Cookie `name`, `path`) when the request has none; without it, no cookie ⇒ random.
         */
        | { readonly cookie: string; readonly path?: string; readonly ttlMs?: number }
        | { readonly sourceIp: true }
        | { readonly queryParam: string };
    };

/**
 * DestinationRule localityLbSetting (Istio LocalityLoadBalancerSetting), localities written
 * `region/zone/subzone` with `*` wildcards as in the API. Only one of distribute / failover /
 * failoverPriority is meaningful at a time (Istio validation).
 */
export interface LocalityLbSetting {
  /** false ⇒ locality-aware LB off for this cluster. */
  readonly enabled?: boolean;
  /** Traffic from locality `from` spread over localities by weight (percent, summing to 100). */
  readonly distribute?: readonly { readonly from: string; readonly to: Readonly<Record<string, number>> }[];
  /** When every endpoint of region `from` is unhealthy, go to region `to` (instead of any). */
  readonly failover?: readonly { readonly from: string; readonly to: string }[];
  /** Ordered label keys (optionally `key=value`): endpoints sharing more of them with the client come first. */
  readonly failoverPriority?: readonly string[];
}

export interface CircuitBreaker {
  readonly maxConnections?: number;
  readonly maxPendingRequests?: number;
  readonly maxRequests?: number;
  readonly maxRequestsPerConnection?: number;
  readonly maxRetries?: number;
}

export interface OutlierDetection {
  /** Absent or 0 ⇒ this kind of ejection is off (DestinationRule: unset means 5, 0 disables). */
  readonly consecutive5xxErrors?: number;
  readonly consecutiveGatewayErrors?: number;
  readonly intervalMs: number;
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionPercent: number;
}

/**
 * An upstream: a Service port's endpoints (from the mesh state: workloads whose `services` hold
 * `hostname`), optionally narrowed to `workloadUids` (a subset), with the policies to reach them.
 * Name after Envoy: `outbound|<port>|<subset>|<hostname>`.
 */
export interface Cluster {
  readonly name: string;
  readonly hostname: string;
  readonly namespace: string;
  /** Service port; the endpoint's target port comes from the state (Endpoint/PortMap). */
  readonly port: number;
  /** How to speak to the endpoints: http1, or http2 (h2c/grpc appProtocol or port name). */
  readonly protocol: 'http1' | 'http2';
  /** Subset: only these workload uids (absent ⇒ all of the service's endpoints). */
  readonly workloadUids?: readonly string[];
  readonly subset?: string;
  readonly lb: LoadBalancerPolicy;
  readonly connectTimeoutMs: number;
  readonly circuitBreaker?: CircuitBreaker;
  readonly outlierDetection?: OutlierDetection;
  /** Locality-aware load balancing (DestinationRule localityLbSetting); absent ⇒ none. */
  readonly localityLb?: LocalityLbSetting;
}

/** The cluster name Envoy/Istio would give a service port (and subset). */
export function clusterName(hostname: string, port: number, subset = ''): string {
  return `outbound|${port}|${subset}|${hostname}`;
}

/** Istio's default retry policy when no route sets one (mesh defaultHttpRetryPolicy). */
export const DEFAULT_RETRY: RetryPolicy = Object.freeze({
  attempts: 2,
  codes: Object.freeze([]) as readonly number[],
  retryOn: Object.freeze(['connect-failure', 'refused-stream', 'unavailable', 'cancelled']) as readonly string[],
  backoffMs: 25,
});

/** Envoy's default connect timeout for Istio clusters (DestinationRule connectTimeout default 10 s). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
