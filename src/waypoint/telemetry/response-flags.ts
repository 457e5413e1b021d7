// Envoy's response flags as the waypoint reports them (access log RESPONSE_FLAGS, the Istio
// `response_flags` metric label): a closed set of short names and Envoy's join rule.

/**
 * The short names, in Envoy's canonical order (the bit order of StreamInfo::CoreResponseFlag,
 * envoy source/common/stream_info/utility.h). `toShortString` emits set flags in this order,
 * comma-separated, and '-' when none is set; joinResponseFlags reproduces that.
 *
 * Not here on purpose: Envoy has no RBAC flag. A request denied by the RBAC filter (an
 * AuthorizationPolicy) is a 403 with response flags '-' and details `rbac_access_denied...`;
 * only an ext-authz denial carries a flag (UAEX).
 */
export const RESPONSE_FLAGS = Object.freeze({
  /** No healthy upstream host in the cluster (503). */
  NO_HEALTHY_UPSTREAM: 'UH',
  /** Upstream request timeout: route timeout or per-try timeout with no retry left (504). */
  UPSTREAM_REQUEST_TIMEOUT: 'UT',
  /** The connection to the upstream was reset locally. */
  LOCAL_RESET: 'LR',
  /** The upstream reset the stream / connection. */
  UPSTREAM_REMOTE_RESET: 'UR',
  /** Connecting to the upstream failed (503). */
  UPSTREAM_CONNECTION_FAILURE: 'UF',
  /** The upstream connection ended mid-request. */
  UPSTREAM_CONNECTION_TERMINATION: 'UC',
  /** Circuit breaking: a DestinationRule connection-pool limit was hit (503). */
  UPSTREAM_OVERFLOW: 'UO',
  /** No route matched (404), or the route has no usable cluster. */
  NO_ROUTE_FOUND: 'NR',
  /** A fault-injection delay was applied. */
  DELAY_INJECTED: 'DI',
  /** A fault-injection abort answered the request. */
  FAULT_INJECTED: 'FI',
  /** Rate limited locally (429). */
  RATE_LIMITED: 'RL',
  /** Denied by the external authorization service. */
  UNAUTHORIZED_EXTERNAL_SERVICE: 'UAEX',
  /** The downstream (client) went away before the response completed. */
  DOWNSTREAM_CONNECTION_TERMINATION: 'DC',
  /** Retries were exhausted; the last attempt's failure is what the client saw. */
  UPSTREAM_RETRY_LIMIT_EXCEEDED: 'URX',
  /** The stream was idle past its idle timeout. */
  STREAM_IDLE_TIMEOUT: 'SI',
  /** The request carried headers the proxy refuses (e.g. invalid x-envoy-* values). */
  INVALID_ENVOY_REQUEST_HEADERS: 'IH',
  /** The client violated HTTP (malformed request, HTTP/2 protocol error). */
  DOWNSTREAM_PROTOCOL_ERROR: 'DPE',
  /** The route's max stream duration was reached. */
  UPSTREAM_MAX_STREAM_DURATION_REACHED: 'UMSDR',
  /** The connection's max duration was reached. */
  DURATION_TIMEOUT: 'DT',
  /** The upstream violated HTTP. */
  UPSTREAM_PROTOCOL_ERROR: 'UPE',
  /** The route named a cluster that does not exist. */
  NO_CLUSTER_FOUND: 'NC',
  /** Shed by the overload manager (503). */
  OVERLOAD_MANAGER: 'OM',
} as const);

export type ResponseFlagName = (typeof RESPONSE_FLAGS)[keyof typeof RESPONSE_FLAGS];

/** Envoy's emission order (bit order); the index is the sort key. */
const ORDER: readonly ResponseFlagName[] = [
  'UH', 'UT', 'LR', 'UR', 'UF', 'UC', 'UO', 'NR', 'DI', 'FI', 'RL', 'UAEX', 'DC', 'URX', 'SI', 'IH', 'DPE', 'UMSDR', 'DT', 'UPE', 'NC', 'OM',
];
const RANK = new Map<string, number>(ORDER.map((f, i) => [f, i]));

/** The value when no flag is set (Envoy's NONE). */
export const NO_RESPONSE_FLAGS = '-';

/**
 * Envoy's join rule: each set flag once, in canonical order, comma-separated; '-' when none.
 * `joinResponseFlags(['URX', 'UF'])` is `'UF,URX'`.
 */
export function joinResponseFlags(flags: Iterable<ResponseFlagName>): string {
  const set = [...new Set(flags)];
  if (set.length === 0) return NO_RESPONSE_FLAGS;
  if (set.length === 1) return set[0]!;
  set.sort((a, b) => (RANK.get(a) ?? 0) - (RANK.get(b) ?? 0));
  return set.join(',');
}

/**
 * A joined flag value with `flag` added, still in canonical order: `withResponseFlag('FI', 'DI')`
 * is `'DI,FI'`, `withResponseFlag('-', 'DI')` is `'DI'`. Unknown parts are kept as they are.
 */
export function withResponseFlag(flags: string, flag: ResponseFlagName): string {
  const parts = flags === NO_RESPONSE_FLAGS || flags === '' ? [] : (flags.split(',') as ResponseFlagName[]);
  return joinResponseFlags([...parts, flag]);
}

/** True when `s` is '-' or a join of known flags in canonical order (what joinResponseFlags makes). */
export function isResponseFlags(s: string): boolean {
  if (s === NO_RESPONSE_FLAGS) return true;
  let last = -1;
  for (const part of s.split(',')) {
    const rank = RANK.get(part);
    if (rank === undefined || rank <= last) return false;
    last = rank;
  }
  return true;
}

/**
 * A joined value (`'-'`, `'UF,URX'`) with `more` flags set too, re-joined by Envoy's rule: a flag set
 * early in the request (the fault filter's `DI`) joins whatever the end of the request adds.
 */
export function addResponseFlags(flags: string, more: Iterable<ResponseFlagName>): string {
  const have = flags === NO_RESPONSE_FLAGS || flags === '' ? [] : (flags.split(',') as ResponseFlagName[]);
  return joinResponseFlags([...have, ...more]);
}
